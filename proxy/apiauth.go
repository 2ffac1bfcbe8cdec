package proxy

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/vault"
)

// apiPrefix is where tokenwall's own API lives; with api.enabled these paths are never
// passed through to the upstream.
const apiPrefix = "/v1/"

func isAPIPath(path string) bool { return strings.HasPrefix(path, apiPrefix) }

// Reasons of api_auth_failed audit records.
const (
	reasonNoKey       = "no_api_key"
	reasonBadKey      = "bad_api_key"
	reasonRevokedKey  = "revoked_api_key"
	reasonScope       = "scope_missing"
	reasonRateLimited = "rate_limited"
	reasonBadCert     = "bad_client_certificate"
)

// The /v1 access failures.
var (
	problemNoKey = problemf(http.StatusUnauthorized, "unauthenticated", "Authentication required",
		"send Authorization: Bearer twk_…")
	problemBadKey = problemf(http.StatusUnauthorized, "invalid-api-key", "Invalid API key",
		"the key is unknown or its secret does not match")
	problemBadCert = problemf(http.StatusUnauthorized, "invalid-client-certificate", "Invalid client certificate",
		"the client certificate is mapped to no key, or to another key than the Authorization header")
	problemRevokedKey = problemf(http.StatusUnauthorized, "revoked-api-key", "Revoked API key", "this key was revoked")
	problemScope      = problemf(http.StatusForbidden, "scope-missing", "Scope missing", "")
	problemRateLimit  = problemf(http.StatusTooManyRequests, "rate-limited", "Too many requests", "slow down; see Retry-After")
	problemKeysStale  = problemf(http.StatusServiceUnavailable, "unavailable", "Service temporarily unavailable",
		"the API key set cannot be read from Vault")
	problemUnavailable = problemf(http.StatusServiceUnavailable, "unavailable", "Service temporarily unavailable", "retry later")
)

// keyring is the parsed API key set, re-parsed when the Vault cache holds a new version.
type keyring struct {
	secrets Secrets

	mu        sync.Mutex
	version   int
	loaded    bool
	byID      map[string]APIKey
	bySubject map[string]APIKey
}

// dummyHash is compared against when the key id is unknown, so an unknown id costs the same
// as a wrong secret.
var dummyHash = sha256.Sum256([]byte("tokenwall-unknown-key"))

// load returns the key set's maps, re-reading the set when Vault's version moved. It fails
// closed (ErrUnavailable) when the set is stale or malformed.
func (k *keyring) load() (byID, bySubject map[string]APIKey, err error) {
	s, err := k.secrets.Get(vault.SecretAPIKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: api keys: %w", ErrUnavailable, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.loaded || s.Version() != k.version {
		ks, err := ParseKeySet(s.Reveal())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		k.byID = make(map[string]APIKey, len(ks.Keys))
		k.bySubject = map[string]APIKey{}
		for _, key := range ks.Keys {
			k.byID[key.ID] = key
			if key.ClientCertSubject != "" {
				k.bySubject[key.ClientCertSubject] = key
			}
		}
		k.version, k.loaded = s.Version(), true
	}
	return k.byID, k.bySubject, nil
}

// authenticateRequest authenticates by client certificate (mutual TLS, when the certificate
// was verified against api.client_ca_file and its subject is mapped to a key) or else by the
// Authorization header. When both are given they must name the same key.
func (k *keyring) authenticateRequest(r *http.Request) (APIKey, string, error) {
	header := r.Header.Get(echo.HeaderAuthorization)
	subject := verifiedSubject(r)
	if subject == "" {
		return k.authenticate(header)
	}
	_, bySubject, err := k.load()
	if err != nil {
		return APIKey{}, "", problemKeysStale.withCause(err)
	}
	key, ok := bySubject[subject]
	if !ok {
		if header != "" {
			return k.authenticate(header)
		}
		return APIKey{}, reasonBadCert, problemBadCert
	}
	if header != "" {
		other, reason, err := k.authenticate(header)
		if err != nil {
			return other, reason, err
		}
		if other.ID != key.ID {
			return other, reasonBadCert, problemBadCert
		}
	}
	if key.Revoked() {
		return key, reasonRevokedKey, problemRevokedKey
	}
	return key, "", nil
}

// verifiedSubject is the subject of the request's client certificate when the TLS
// handshake verified it against the configured CAs, else "".
func verifiedSubject(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	return r.TLS.VerifiedChains[0][0].Subject.String()
}

// authenticate checks an Authorization header: the key's secret is hashed and compared with
// the stored hash in constant time, then the key must not be revoked.
func (k *keyring) authenticate(header string) (APIKey, string, error) {
	token, found := strings.CutPrefix(header, "Bearer ")
	if header == "" || !found {
		return APIKey{}, reasonNoKey, problemNoKey
	}
	id, secret, ok := splitAPIKey(strings.TrimSpace(token))
	if !ok {
		return APIKey{}, reasonBadKey, problemBadKey
	}
	byID, _, err := k.load()
	if err != nil {
		return APIKey{}, "", problemKeysStale.withCause(err)
	}
	key, known := byID[id]
	want := dummyHash[:]
	if known {
		if h, err := hex.DecodeString(key.SHA256); err == nil {
			want = h
		}
	}
	got := sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(got[:], want) != 1 || !known {
		return APIKey{}, reasonBadKey, problemBadKey
	}
	if key.Revoked() {
		return key, reasonRevokedKey, problemRevokedKey
	}
	return key, "", nil
}

// apiKeyContextKey holds the authenticated APIKey in the Echo context.
const apiKeyContextKey = "tokenwall.api_key"

// apiKeyOf returns the request's authenticated key (set by requireScope).
func apiKeyOf(c echo.Context) APIKey {
	k, _ := c.Get(apiKeyContextKey).(APIKey)
	return k
}

// actorOf names a key in the audit trail.
func actorOf(k APIKey) string { return ActorKeyPrefix + k.ID }

// ActorKeyPrefix starts the audit actor of an API key: "key:ID". (Not "api_key:": the
// scrubber treats a value after "api_key" as a secret and the trail would refuse it.)
const ActorKeyPrefix = "key:"

// requireScope authenticates the caller, applies the key's rate limit and checks scope.
// Every refusal is answered with problem+json and written to the audit trail.
func (s *Server) requireScope(scope string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key, reason, err := s.keys.authenticateRequest(c.Request())
			if err == nil {
				if ok, wait := s.limiter.allow(key.ID, s.now()); !ok {
					pe := *problemRateLimit
					pe.retryAfter = wait
					reason, err = reasonRateLimited, &pe
				} else if !key.Has(scope) {
					pe := *problemScope
					pe.detail = "this key lacks the " + scope + " scope"
					reason, err = reasonScope, &pe
				}
			}
			if err != nil {
				if reason == "" { // the key set could not be read: fail closed, say why
					return err
				}
				actor := audit.ActorAnonymous
				if key.ID != "" {
					actor = actorOf(key)
				}
				aerr := s.record(c, audit.Event{Type: audit.EventAPIAuthFailed, Actor: actor, Outcome: audit.Failure,
					Reason: reason, Resource: c.Request().Method + " " + c.Path(), Details: map[string]string{"scope": scope}})
				return errors.Join(err, aerr)
			}
			c.Set(apiKeyContextKey, key)
			if info := infoFrom(c.Request().Context()); info != nil {
				info.apiKey = key.ID
			}
			return next(c)
		}
	}
}
