package api

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/proxy"
)

// guard refuses a /v1 request that carries a card number anywhere (path, query, headers,
// body), before authentication, and records card_escape_blocked: the API works with tokens.
func (a *API) guard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		body, err := proxy.ReadBody(r, a.d.Config.MaxBodyBytes.Int())
		if err != nil {
			return err
		}
		if err := proxy.CheckEncodings(r, body); err != nil {
			return err
		}
		if where := proxy.CardEscape(r, body); where != "" {
			a.d.Metrics.CardEscaped(where, "refused")
			aerr := proxy.Record(c, a.d.Audit, audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure,
				Reason: "card_on_api", Resource: proxy.MaskedPath(r), Details: map[string]string{"where": where, "method": r.Method}})
			return errors.Join(proxy.ErrCardEscape, aerr)
		}
		return next(c)
	}
}

// keyOf returns the request's authenticated key (set by requireScope).
func keyOf(c echo.Context) apikey.Key { return proxy.APIKeyOf(c) }

// requireScope authenticates the caller, applies the key's rate limit and checks scope.
// Every refusal is answered with problem+json and written to the audit trail; a key set that
// cannot be read fails closed (503) without a refusal record.
func (a *API) requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			key, err := a.d.Keys.Authenticate(r.Header.Get(echo.HeaderAuthorization), verifiedSubject(r))
			if err == nil {
				err = apikey.Authorize(a.d.Limiter, key, scope, a.d.Now())
			}
			if errors.Is(err, apikey.ErrUnavailable) {
				return err
			}
			if err != nil {
				actor := audit.ActorAnonymous
				if key.ID != "" {
					actor = apikey.Actor(key)
				}
				aerr := proxy.Record(c, a.d.Audit, audit.Event{Type: audit.EventAPIAuthFailed, Actor: actor, Outcome: audit.Failure,
					Reason: proxy.AuditReason(err), Resource: r.Method + " " + c.Path(), Details: map[string]string{"scope": scope}})
				return errors.Join(err, aerr)
			}
			proxy.SetAPIKey(c, key)
			return next(c)
		}
	}
}

// verifiedSubject is the subject of the request's client certificate when the TLS
// handshake verified it against the configured CAs, else "".
func verifiedSubject(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.String()
}

// IdempotencyHeader is the header every POST to /v1 must carry.
const IdempotencyHeader = "Idempotency-Key"

// gatewayKeyContextKey holds the idempotency key passed on to the gateway.
const gatewayKeyContextKey = "tokenwall.gateway_idempotency_key"

// gatewayKey returns the idempotency key to give the gateway for this request ("" for none).
func gatewayKey(c echo.Context) string {
	k, _ := c.Get(gatewayKeyContextKey).(string)
	return k
}

// idempotent makes a POST idempotent (payments.Idempotency): the same Idempotency-Key with
// the same method, path and body answers the stored response (Idempotent-Replayed: true)
// without acting again; with another request it is refused (409).
func (a *API) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost {
			return next(c)
		}
		body, err := proxy.ReadBody(r, a.d.Config.MaxBodyBytes.Int())
		if err != nil {
			return err
		}
		var req bytes.Buffer
		req.WriteString(r.Method + "\n" + c.Path() + "\n" + r.URL.Path + "\n")
		req.Write(body)
		claim, err := a.d.Idempotency.Begin(r.Context(), keyOf(c).ID, r.Header.Get(IdempotencyHeader), req.Bytes())
		if err != nil {
			return err
		}
		defer claim.Release()
		if rec := claim.Replay; rec != nil {
			c.Response().Header().Set("Idempotent-Replayed", "true")
			c.Response().Header().Set("Cache-Control", "no-store")
			return c.Blob(rec.Status, contentTypeOf(rec.Status), rec.Body)
		}
		c.Set(gatewayKeyContextKey, claim.GatewayKey)

		// The response is captured so it can be stored: an error is rendered here, inside
		// the capture, rather than by Echo afterwards.
		cw := &captureWriter{ResponseWriter: c.Response().Writer}
		c.Response().Writer = cw
		if err := next(c); err != nil {
			c.Error(err)
		}
		if err := a.d.Idempotency.Save(r.Context(), claim, c.Response().Status, cw.buf.Bytes()); err != nil {
			// The client has its answer; a retry would act again through the gateway's own
			// idempotency, so this is logged, not fatal.
			a.d.Log.Error().Err(err).Str(logging.FieldAPIKey, keyOf(c).ID).Msg("storing the idempotent response failed")
		}
		return nil
	}
}

// contentTypeOf is the media type of a stored response: problem+json for errors.
func contentTypeOf(status int) string {
	if status >= 400 {
		return "application/problem+json"
	}
	return "application/json"
}

// captureWriter copies what is written to the client.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}
