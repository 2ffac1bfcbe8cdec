// Package apikey holds tokenwall's /v1 API keys: their shape and scopes, the hashed key set
// kept in Vault, authentication in constant time, the per-key rate limit and the key set's
// refresh.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/scrub"
	"slices"
	"strings"
	"time"
)

// Scopes an API key may hold; each /v1 route needs one.
const (
	ScopePayments  = "payments"
	ScopeRefunds   = "refunds"
	ScopeCustomers = "customers"
	ScopeErase     = "erase"
	ScopeReports   = "reports"
	ScopeAdmin     = "admin"
)

// Scopes lists every scope, in the order `tokenwall keys` prints them.
var Scopes = []string{ScopePayments, ScopeRefunds, ScopeCustomers, ScopeErase, ScopeReports, ScopeAdmin}

// Prefix starts every tokenwall API key: twk_<16 letters a-p, the id>_<64 hex secret>. The scrubber
// knows the shape, so a key pasted into a log line is redacted.
const Prefix = "twk_"

// Key is one key of the set kept in Vault. Only the SHA-256 of the secret is kept: the
// secret is 32 random bytes, so a plain hash cannot be reversed by guessing.
type Key struct {
	// ID names the key in the audit trail ("key:ID") and in `tokenwall keys`.
	ID string `json:"id"`
	// Name says what the key is for ("billing-app").
	Name string `json:"name,omitempty"`
	// SHA256 is the hex SHA-256 of the secret part.
	SHA256 string `json:"sha256"`
	// Scopes are what the key may do.
	Scopes []string `json:"scopes"`
	// ClientCertSubject, when set, is the subject of a client certificate (as Go prints it,
	// e.g. "CN=billing-app,O=Merchant") that authenticates as this key over mutual TLS.
	ClientCertSubject string `json:"client_cert_subject,omitempty"`
	// CreatedAt and RevokedAt date the key; a revoked key is refused.
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Has reports whether the key holds scope.
func (k Key) Has(scope string) bool { return slices.Contains(k.Scopes, scope) }

// Revoked reports whether the key was revoked.
func (k Key) Revoked() bool { return k.RevokedAt != nil }

// KeySet is the API key set as stored in Vault (JSON).
type KeySet struct {
	Keys []Key `json:"keys"`
}

// ErrKeySet means the key set in Vault is not valid JSON of the expected shape.
var ErrKeySet = errors.New("api key set is malformed")

// ParseKeySet decodes a key set and checks every key.
func ParseKeySet(b []byte) (KeySet, error) {
	var ks KeySet
	if err := json.Unmarshal(b, &ks); err != nil {
		return KeySet{}, fmt.Errorf("%w: %w", ErrKeySet, err)
	}
	seen := map[string]bool{}
	subjects := map[string]bool{}
	for i, k := range ks.Keys {
		if !scrub.IsLetterID(k.ID, 16) || !isHexN(k.SHA256, 64) || seen[k.ID] {
			return KeySet{}, fmt.Errorf("%w: key %d has a bad or repeated id or hash", ErrKeySet, i)
		}
		if k.ClientCertSubject != "" {
			if subjects[k.ClientCertSubject] {
				return KeySet{}, fmt.Errorf("%w: key %s: client certificate subject mapped to two keys", ErrKeySet, k.ID)
			}
			subjects[k.ClientCertSubject] = true
		}
		if err := ValidScopes(k.Scopes); err != nil {
			return KeySet{}, fmt.Errorf("%w: key %s: %w", ErrKeySet, k.ID, err)
		}
		seen[k.ID] = true
	}
	return ks, nil
}

// Marshal encodes the key set for Vault.
func (ks KeySet) Marshal() ([]byte, error) { return json.Marshal(ks) }

// Find returns the key with id.
func (ks KeySet) Find(id string) (Key, bool) {
	for _, k := range ks.Keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Revoke marks the key with id revoked at now.
func (ks *KeySet) Revoke(id string, now time.Time) error {
	for i := range ks.Keys {
		if ks.Keys[i].ID == id {
			if ks.Keys[i].Revoked() {
				return fmt.Errorf("key %s was revoked already", id)
			}
			t := now.UTC()
			ks.Keys[i].RevokedAt = &t
			return nil
		}
	}
	return fmt.Errorf("no key %s", id)
}

// ValidScopes checks that scopes is a non-empty list of known scopes without repeats.
func ValidScopes(scopes []string) error {
	if len(scopes) == 0 {
		return fmt.Errorf("no scope: use some of %s", strings.Join(Scopes, ", "))
	}
	for i, s := range scopes {
		if !slices.Contains(Scopes, s) {
			return fmt.Errorf("unknown scope %q: use some of %s", s, strings.Join(Scopes, ", "))
		}
		if slices.Contains(scopes[:i], s) {
			return fmt.Errorf("scope %q listed twice", s)
		}
	}
	return nil
}

// New makes a key with fresh random id and secret. It returns the key's record and the
// whole key, twk_ID_SECRET, which is shown once and kept nowhere.
func New(name string, scopes []string, now time.Time) (Key, string, error) {
	if err := ValidScopes(scopes); err != nil {
		return Key{}, "", err
	}
	var id [8]byte
	var secret [32]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Key{}, "", err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return Key{}, "", err
	}
	secretHex := hex.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(secretHex))
	k := Key{ID: scrub.LetterID(id[:]), Name: name, SHA256: hex.EncodeToString(sum[:]),
		Scopes: slices.Clone(scopes), CreatedAt: now.UTC()}
	return k, Prefix + k.ID + "_" + secretHex, nil
}

// split splits twk_ID_SECRET; ok is false when the text does not have that shape.
func split(key string) (id, secret string, ok bool) {
	rest, found := strings.CutPrefix(key, Prefix)
	if !found {
		return "", "", false
	}
	id, secret, found = strings.Cut(rest, "_")
	if !found || !scrub.IsLetterID(id, 16) || !isHexN(secret, 64) {
		return "", "", false
	}
	return id, secret, true
}

// isHexN reports whether s is n lower-case hex digits.
func isHexN(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
