package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/signature"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/vault"
)

// tokenizeHandler is the handler of one tokenization route: read the body, replace the card
// with a token (or an error code), sign, forward. The work is in tokenize, which returns the
// outcome the audit record and the summary line are built from.
func (s *Server) tokenizeHandler(rt config.Route) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.Response().Header().Set("Cache-Control", "no-store")
		t := tokenization{route: rt.Path}
		defer func() {
			if info := infoFrom(r.Context()); info != nil {
				info.tokenization = &t
			}
		}()

		signingKey, err := s.freshSecrets()
		if err != nil {
			return err
		}
		// The card belongs in the body's card fields: one in the path, the query or a header
		// is refused here as on every other route.
		if where := CardEscape(r, nil); where != "" {
			s.metrics.CardEscaped(where, "refused")
			err := errCardEscape(where)
			return errors.Join(err, s.recordTokenization(c, t, err))
		}
		body, err := ReadBody(r, rt.MaxBodyBytes.Int())
		if err != nil {
			return errors.Join(err, s.recordTokenization(c, t, err))
		}
		out, contentType, res, err := s.tok.tokenize(r.Context(), rt, r.Header.Get(echo.HeaderContentType), body)
		t = res
		if aerr := s.recordTokenization(c, t, err); err != nil || aerr != nil {
			return errors.Join(err, aerr)
		}
		now, nonce, key, withV1 := s.now(), signature.NewNonce(), signingKey.Reveal(), s.cfg.Upstream.SignatureV1
		sign := func(o *http.Request) string {
			return signature.SignV2(now, nonce, signature.Of(o, signature.PurposeCheckout), out, withV1, key)
		}
		fwd := r.Clone(withSignature(r.Context(), sign))
		fwd.Body = io.NopCloser(bytes.NewReader(out))
		fwd.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
		fwd.ContentLength = int64(len(out))
		fwd.Header.Set(echo.HeaderContentType, contentType)
		fwd.Header.Del(echo.HeaderContentLength)
		s.upstream.ServeHTTP(c.Response(), fwd)
		return nil
	}
}

// freshSecrets returns the signing key and checks the Stripe key, failing closed with
// ErrUnavailable (503) once the cached secrets are older than their maximum age.
func (s *Server) freshSecrets() (vault.Secret, error) {
	if _, err := s.secrets.Get(vault.SecretStripeKey); err != nil {
		return vault.Secret{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	k, err := s.secrets.Get(vault.SecretSigningKey)
	if err != nil {
		return vault.Secret{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return k, nil
}

// ReadBody reads at most limit bytes of r's body, refusing a larger one with ErrTooLarge
// (nothing is forwarded), and puts the bytes back so the request can be proxied.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, fmt.Errorf("%w: content-length %d, limit %d", ErrTooLarge, r.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
			return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
		}
		return nil, fmt.Errorf("%w: read body: %w", ErrBadRequest, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrTooLarge, limit)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// cardFieldNames are the configured card fields of a route, which never leave tokenwall.
func cardFieldNames(f config.CardFields) []string {
	var out []string
	for _, n := range []string{f.Number, f.ExpMonth, f.ExpYear, f.Exp, f.CVC, f.Name} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// tokenizer turns a card into a token at the gateway: what a tokenization route does to a
// body, apart from HTTP.
type tokenizer struct {
	gw      gateway.Gateway
	metrics *Metrics
	now     func() time.Time
	// setup saves the card of a route with setup_intent enabled (nil without the API).
	setup setupFunc
}

// tokenize turns a posted body into the body the billing app receives: the card fields
// removed, the token and card facts (or an error code) in the result fields. A malformed
// body, or a card number anywhere but the card field, is an error and nothing is forwarded.
func (k tokenizer) tokenize(ctx context.Context, rt config.Route, contentType string, body []byte) ([]byte, string, tokenization, error) {
	t := tokenization{route: rt.Path}
	doc, err := parseDocument(rt.Body, contentType, body, rt.MaxJSONDepth)
	if err != nil {
		return nil, "", t, err
	}
	in := gateway.CardInput{}
	for _, f := range []struct {
		dst  *string
		name string
	}{
		{&in.Number, rt.Card.Number}, {&in.ExpMonth, rt.Card.ExpMonth}, {&in.ExpYear, rt.Card.ExpYear},
		{&in.Exp, rt.Card.Exp}, {&in.CVC, rt.Card.CVC}, {&in.Name, rt.Card.Name},
	} {
		if f.name != "" {
			*f.dst, _ = doc.get(f.name)
		}
	}
	for _, n := range cardFieldNames(rt.Card) {
		doc.remove(n)
	}
	// Fail closed: the rest of the body must not carry a card (a number typed into a notes
	// field, a second card under another name).
	rest, _, err := doc.encode()
	if err != nil {
		return nil, "", t, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if containsPANEscaped(string(rest)) {
		k.metrics.cardEscapes.WithLabelValues("tokenization_body", "refused").Inc()
		return nil, "", t, errCardEscape("tokenization_body")
	}

	pm, t := k.tokenizeCard(ctx, in, t)
	code := t.errorCode
	res := rt.Result
	if code == "" && rt.Setup.Enabled {
		if code, err = k.setupResult(ctx, rt, doc, pm.ID); err != nil {
			return nil, "", t, err
		}
	}
	if code != "" {
		doc.set(res.Error, code)
	} else {
		for _, f := range []struct{ name, value string }{
			{res.Token, pm.ID}, {res.Brand, pm.Brand}, {res.Last4, pm.Last4},
			{res.ExpMonth, strconv.Itoa(pm.ExpMonth)}, {res.ExpYear, strconv.Itoa(pm.ExpYear)},
			{res.Fingerprint, pm.Fingerprint},
		} {
			if f.name != "" {
				doc.set(f.name, f.value)
			}
		}
	}
	out, ct, err := doc.encode()
	if err != nil {
		return nil, "", t, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return out, ct, t, nil
}

// tokenizeCard validates the card and asks the gateway for a token. It returns the payment
// method and t with the outcome: the token and card facts, or the error code the billing
// app receives.
func (k tokenizer) tokenizeCard(ctx context.Context, in gateway.CardInput, t tokenization) (gateway.PaymentMethod, tokenization) {
	log := requestLog(ctx)
	card, err := gateway.ParseCard(in, k.now())
	if err != nil {
		t.errorCode = gateway.Code(err)
		k.metrics.tokenizations.WithLabelValues(t.errorCode, string(card.Brand)).Inc()
		log.Info().Str(logging.FieldErrorCode, t.errorCode).Err(err).Msg("card refused before the gateway")
		return gateway.PaymentMethod{}, t
	}
	start := time.Now()
	pm, err := k.gw.Tokenize(ctx, card, "tw-"+newRequestID())
	took := time.Since(start)
	if info := infoFrom(ctx); info != nil {
		info.gatewayLatency = took
	}
	k.metrics.gatewayLatency.Observe(took.Seconds())
	t.brand = string(card.Brand)
	if err != nil {
		t.errorCode = gateway.Code(err)
		k.metrics.tokenizations.WithLabelValues(t.errorCode, t.brand).Inc()
		log.Warn().Str(logging.FieldErrorCode, t.errorCode).Err(err).Msg("gateway tokenization failed")
		return gateway.PaymentMethod{}, t
	}
	t.token, t.brand, t.last4 = pm.ID, pm.Brand, pm.Last4
	k.metrics.tokenizations.WithLabelValues("ok", pm.Brand).Inc()
	return pm, t
}
