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
)

// The /v1 access failures.
var (
	problemNoKey = problemf(http.StatusUnauthorized, "unauthenticated", "Authentication required",
		"send Authorization: Bearer twk_…")
	problemBadKey = problemf(http.StatusUnauthorized, "invalid-api-key", "Invalid API key",
		"the key is unknown or its secret does not match")
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

	mu      sync.Mutex
	version int
	loaded  bool
	byID    map[string]APIKey
}

// dummyHash is compared against when the key id is unknown, so an unknown id costs the same
// as a wrong secret.
var dummyHash = sha256.Sum256([]byte("tokenwall-unknown-key"))

// lookup returns the key set's record of id, re-reading the set when Vault's version moved.
// It fails closed (ErrUnavailable) when the set is stale or malformed.
func (k *keyring) lookup(id string) (APIKey, bool, error) {
	s, err := k.secrets.Get(vault.SecretAPIKeys)
	if err != nil {
		return APIKey{}, false, fmt.Errorf("%w: api keys: %w", ErrUnavailable, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.loaded || s.Version() != k.version {
		ks, err := ParseKeySet(s.Reveal())
		if err != nil {
			return APIKey{}, false, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		k.byID = make(map[string]APIKey, len(ks.Keys))
		for _, key := range ks.Keys {
			k.byID[key.ID] = key
		}
		k.version, k.loaded = s.Version(), true
	}
	key, ok := k.byID[id]
	return key, ok, nil
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
	key, known, err := k.lookup(id)
	if err != nil {
		return APIKey{}, "", problemKeysStale.withCause(err)
	}
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
			key, reason, err := s.keys.authenticate(c.Request().Header.Get(echo.HeaderAuthorization))
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
