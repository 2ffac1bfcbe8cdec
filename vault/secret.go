package vault

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/zerolog"
)

// Secret is a secret value read from Vault. Its String, GoString, JSON and log forms print a
// mask, so a Secret passed to a logger or a format verb by mistake never shows its value.
type Secret struct {
	name    string
	value   []byte
	version int
	created time.Time
}

// NewSecret returns a Secret named name holding value; version is the KV version.
func NewSecret(name string, value []byte, version int) Secret {
	return Secret{name: name, value: value, version: version}
}

// Reveal returns the secret value. Call it only where the value is used (an HMAC key, an
// Authorization header), never to log or store it.
func (s Secret) Reveal() []byte { return s.value }

// Name is the secret's logical name (e.g. "stripe_key").
func (s Secret) Name() string { return s.name }

// Version is the KV v2 version the value came from.
func (s Secret) Version() int { return s.version }

// Created is when that KV version was written, when Vault said so.
func (s Secret) Created() time.Time { return s.created }

// IsZero reports whether the secret holds no value.
func (s Secret) IsZero() bool { return len(s.value) == 0 }

// String prints the secret's name and version and a mask instead of its value.
func (s Secret) String() string { return fmt.Sprintf("secret(%s v%d ********)", s.name, s.version) }

// GoString masks %#v too.
func (s Secret) GoString() string { return s.String() }

// Format masks every fmt verb (%d, %x, %+v, …), not only those that call String.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// MarshalJSON writes the mask, never the value.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalZerologObject logs name and version only.
func (s Secret) MarshalZerologObject(e *zerolog.Event) {
	e.Str("name", s.name).Int("version", s.version).Str("value", "********")
}

// Logical names of the secrets tokenwall reads.
const (
	// SecretStripeKey is the Stripe secret API key.
	SecretStripeKey = "stripe_key"
	// SecretSigningKey is the HMAC key that signs bodies tokenwall sends to the billing app.
	SecretSigningKey = "signing_key"
)

// SecretAuditKey is the HMAC key of the audit trail, and SecretPostgresPassword the
// database password when the postgres store is used.
const (
	SecretAuditKey         = "audit_key"
	SecretPostgresPassword = "postgres_password"
)

// SecretAPIKeys is the API key set: ids, scopes and hashes of the keys' secrets (JSON).
const SecretAPIKeys = "api_keys"

// SecretWebhook is the logical name of the i-th gateway webhook endpoint secret
// (webhooks.secret_paths[i]); during a roll there are several.
func SecretWebhook(i int) string { return "webhook_secret_" + strconv.Itoa(i) }
