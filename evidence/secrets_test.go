package evidence

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/vault"
)

// epoch is when every fake secret was created: a Secret made outside package vault carries
// the zero time as its creation time, so the tests set a secret's age with the clock.
var epoch time.Time

// fakeRead returns a read func that serves every secret (version 3, created at epoch) but
// those named in missing, and records which names and paths were asked for.
func fakeRead(missing map[string]error, asked *[]string) func(context.Context, string, string) (vault.Secret, error) {
	return func(_ context.Context, name, path string) (vault.Secret, error) {
		*asked = append(*asked, name+"="+path)
		if err := missing[name]; err != nil {
			return vault.Secret{}, err
		}
		return vault.NewSecret(name, []byte("not-a-real-secret"), 3), nil
	}
}

// vaultPaths is a configuration's Vault paths for the three secrets every set-up has.
var vaultPaths = config.Vault{KVMount: "secret", StripeKeyPath: "tokenwall/stripe", SigningKeyPath: "tokenwall/signing", AuditKeyPath: "tokenwall/audit"}

// TestSecretsEvidenceAges: a secret older than the cryptoperiod is marked expired, one of
// exactly the cryptoperiod is not yet, and a secret that cannot be read carries the error
// and no age.
func TestSecretsEvidenceAges(t *testing.T) {
	errSealed := errors.New("vault: sealed")
	tests := []struct {
		name        string
		age         time.Duration
		period      int
		missing     map[string]error
		wantAge     int
		wantExpired bool
	}{
		{name: "fresh", age: 10 * 24 * time.Hour, period: 365, wantAge: 10},
		{name: "at the cryptoperiod", age: 365*24*time.Hour + time.Hour, period: 365, wantAge: 365},
		{name: "past the cryptoperiod", age: 400 * 24 * time.Hour, period: 365, wantAge: 400, wantExpired: true},
		{name: "short cryptoperiod", age: 31 * 24 * time.Hour, period: 30, wantAge: 31, wantExpired: true},
		{name: "unreadable", age: 400 * 24 * time.Hour, period: 365, missing: map[string]error{vault.SecretSigningKey: errSealed}, wantAge: 400, wantExpired: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			cfg := config.Config{Vault: vaultPaths}
			out := secretsEvidence(t.Context(), cfg, fakeRead(tc.missing, &asked), epoch.Add(tc.age), tc.period)
			if len(out) != 3 {
				t.Fatalf("%d secrets, want 3: %+v", len(out), out)
			}
			for _, se := range out {
				if se.CryptoperiodDays != tc.period {
					t.Errorf("%s: cryptoperiod %d, want %d", se.Name, se.CryptoperiodDays, tc.period)
				}
				if err := tc.missing[se.Name]; err != nil {
					if se.Error != err.Error() || se.Expired || se.AgeDays != 0 || se.Version != 0 {
						t.Errorf("%s unreadable: %+v", se.Name, se)
					}
					continue
				}
				if se.Error != "" || se.Version != 3 || !se.CreatedAt.Equal(epoch) || se.CreatedAt.Location() != time.UTC {
					t.Errorf("%s: %+v", se.Name, se)
				}
				if se.AgeDays != tc.wantAge || se.Expired != tc.wantExpired {
					t.Errorf("%s: age %d expired %v, want %d %v", se.Name, se.AgeDays, se.Expired, tc.wantAge, tc.wantExpired)
				}
			}
		})
	}
}

// TestSecretsEvidenceLists: the evidence covers the secrets the configuration uses, each
// read by its logical name at its configured path and shown under the KV mount: the
// webhook secrets only with webhooks on (every one during a roll), the database password
// only on PostgreSQL with a password path.
func TestSecretsEvidenceLists(t *testing.T) {
	tests := []struct {
		name      string
		webhooks  config.Webhooks
		store     config.Store
		wantAsked []string
		wantPaths []string
	}{
		{name: "webhooks off, sqlite", webhooks: config.Webhooks{SecretPaths: []string{"tokenwall/whsec"}}, store: config.Store{Driver: "sqlite", PostgresPasswordPath: "tokenwall/pg"},
			wantAsked: []string{"stripe_key=tokenwall/stripe", "signing_key=tokenwall/signing", "audit_key=tokenwall/audit"},
			wantPaths: []string{"secret/tokenwall/stripe", "secret/tokenwall/signing", "secret/tokenwall/audit"}},
		{name: "webhook secrets in a roll", webhooks: config.Webhooks{Enabled: true, SecretPaths: []string{"tokenwall/whsec-old", "tokenwall/whsec-new"}},
			wantAsked: []string{"stripe_key=tokenwall/stripe", "signing_key=tokenwall/signing", "audit_key=tokenwall/audit",
				"webhook_secret_0=tokenwall/whsec-old", "webhook_secret_1=tokenwall/whsec-new"},
			wantPaths: []string{"secret/tokenwall/stripe", "secret/tokenwall/signing", "secret/tokenwall/audit",
				"secret/tokenwall/whsec-old", "secret/tokenwall/whsec-new"}},
		{name: "postgres password", store: config.Store{Driver: "postgres", PostgresPasswordPath: "tokenwall/pg"},
			wantAsked: []string{"stripe_key=tokenwall/stripe", "signing_key=tokenwall/signing", "audit_key=tokenwall/audit", "postgres_password=tokenwall/pg"},
			wantPaths: []string{"secret/tokenwall/stripe", "secret/tokenwall/signing", "secret/tokenwall/audit", "secret/tokenwall/pg"}},
		{name: "postgres without a password", store: config.Store{Driver: "postgres"},
			wantAsked: []string{"stripe_key=tokenwall/stripe", "signing_key=tokenwall/signing", "audit_key=tokenwall/audit"},
			wantPaths: []string{"secret/tokenwall/stripe", "secret/tokenwall/signing", "secret/tokenwall/audit"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			cfg := config.Config{Vault: vaultPaths, Webhooks: tc.webhooks, Store: tc.store}
			out := secretsEvidence(t.Context(), cfg, fakeRead(nil, &asked), epoch.Add(24*time.Hour), 365)
			var paths []string
			for _, se := range out {
				paths = append(paths, se.Path)
			}
			if !slices.Equal(asked, tc.wantAsked) || !slices.Equal(paths, tc.wantPaths) {
				t.Errorf("asked %v shown %v\nwant  %v shown %v", asked, paths, tc.wantAsked, tc.wantPaths)
			}
		})
	}
}
