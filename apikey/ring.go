package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/vault"
)

// Why an authentication failed. Each is one kind; the error table of the HTTP layer gives
// its status, its problem type and its audit reason.
var (
	// ErrNoKey means the request carries no bearer key.
	ErrNoKey = errors.New("apikey: no api key")
	// ErrBadKey means the key is malformed, unknown, or its secret does not match.
	ErrBadKey = errors.New("apikey: bad api key")
	// ErrRevoked means the key was revoked.
	ErrRevoked = errors.New("apikey: revoked api key")
	// ErrBadCert means a verified client certificate is mapped to no key, or to another key
	// than the Authorization header names.
	ErrBadCert = errors.New("apikey: bad client certificate")
	// ErrScope means the key lacks the scope the call needs.
	ErrScope = errors.New("apikey: scope missing")
	// ErrRateLimited means the key's token bucket is empty; see RateLimitError.
	ErrRateLimited = errors.New("apikey: rate limited")
	// ErrUnavailable means the key set cannot be read (stale past vault.max_age, or
	// malformed): authentication fails closed.
	ErrUnavailable = errors.New("apikey: key set unavailable")
)

// RateLimitError is ErrRateLimited with how long until the bucket holds a token.
type RateLimitError struct{ Wait time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%v: retry in %s", ErrRateLimited, e.Wait)
}

// Unwrap makes errors.Is(err, ErrRateLimited) hold.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// RetryAfter is how long the client should wait.
func (e *RateLimitError) RetryAfter() time.Duration { return e.Wait }

// Secrets is what a Ring needs of the Vault cache: the key set by its logical name.
type Secrets interface {
	Get(name string) (vault.Secret, error)
}

// Ring is the parsed key set, re-parsed when the Vault cache holds a new version.
type Ring struct {
	secrets Secrets

	mu        sync.Mutex
	version   int
	loaded    bool
	byID      map[string]Key
	bySubject map[string]Key
}

// NewRing returns a Ring over the key set secret (vault.SecretAPIKeys) of secrets.
func NewRing(secrets Secrets) *Ring { return &Ring{secrets: secrets} }

// dummyHash is compared against when the key id is unknown, so an unknown id costs the same
// as a wrong secret.
var dummyHash = sha256.Sum256([]byte("tokenwall-unknown-key"))

// load returns the key set's maps, re-reading the set when Vault's version moved. It fails
// closed (ErrUnavailable) when the set is stale or malformed.
func (k *Ring) load() (byID, bySubject map[string]Key, err error) {
	s, err := k.secrets.Get(vault.SecretAPIKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.loaded || s.Version() != k.version {
		ks, err := ParseKeySet(s.Reveal())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		k.byID = make(map[string]Key, len(ks.Keys))
		k.bySubject = map[string]Key{}
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

// Authenticate authenticates by client certificate (subject, when the TLS handshake verified
// it against api.client_ca_file and it is mapped to a key) or else by the Authorization
// header. When both are given they must name the same key. The returned key is set, for the
// audit trail, also when a known key is refused (revoked).
func (k *Ring) Authenticate(header, subject string) (Key, error) {
	if subject == "" {
		return k.authenticate(header)
	}
	_, bySubject, err := k.load()
	if err != nil {
		return Key{}, err
	}
	key, ok := bySubject[subject]
	if !ok {
		if header != "" {
			return k.authenticate(header)
		}
		return Key{}, ErrBadCert
	}
	if header != "" {
		other, err := k.authenticate(header)
		if err != nil {
			return other, err
		}
		if other.ID != key.ID {
			return other, ErrBadCert
		}
	}
	if key.Revoked() {
		return key, ErrRevoked
	}
	return key, nil
}

// authenticate checks an Authorization header: the key's secret is hashed and compared with
// the stored hash in constant time, then the key must not be revoked.
func (k *Ring) authenticate(header string) (Key, error) {
	token, found := strings.CutPrefix(header, "Bearer ")
	if header == "" || !found {
		return Key{}, ErrNoKey
	}
	id, secret, ok := split(strings.TrimSpace(token))
	if !ok {
		return Key{}, ErrBadKey
	}
	byID, _, err := k.load()
	if err != nil {
		return Key{}, err
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
		return Key{}, ErrBadKey
	}
	if key.Revoked() {
		return key, ErrRevoked
	}
	return key, nil
}

// Authorize checks that key holds scope (ErrScope names the missing scope) and takes a token
// from its bucket (a *RateLimitError when empty), at now.
func Authorize(l *Limiter, key Key, scope string, now time.Time) error {
	if ok, wait := l.Allow(key.ID, now); !ok {
		return &RateLimitError{Wait: wait}
	}
	if !key.Has(scope) {
		return fmt.Errorf("%w: this key lacks the %s scope", ErrScope, scope)
	}
	return nil
}

// Actor names a key in the audit trail: "key:ID".
func Actor(k Key) string { return ActorPrefix + k.ID }

// ActorPrefix starts the audit actor of an API key: "key:ID". (Not "api_key:": the scrubber
// treats a value after "api_key" as a secret and the trail would refuse it.)
const ActorPrefix = "key:"

// Refresher re-reads one secret from Vault into the cache (*vault.Cache).
type Refresher interface {
	RefreshSecret(ctx context.Context, name string) error
}

// Refresh re-reads the key set every interval until ctx ends, so a created or revoked key
// takes effect within it. A failure keeps the cached set until vault.max_age; the cache
// reports it (logged, counted, audited).
func Refresh(ctx context.Context, r Refresher, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = r.RefreshSecret(ctx, vault.SecretAPIKeys)
		}
	}
}
