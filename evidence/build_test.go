package evidence

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/vault"
)

// fakeTransit is a transit key that signs nothing; Build only reads its name and metadata
// before it fails in these tests.
type fakeTransit struct{}

func (fakeTransit) KeyName() string { return "tokenwall-audit" }
func (fakeTransit) Sign(context.Context, []byte) (string, error) {
	return "", errors.New("not signing")
}
func (fakeTransit) Verify(context.Context, []byte, string) (bool, error) { return false, nil }
func (fakeTransit) KeyInfo(context.Context) (int, time.Time, error)      { return 1, time.Now(), nil }

// TestBuildFailsEarly: Build stops before reading the audit trail when the API key set or
// the audit key cannot be read, and says which; the API key set is asked for only when
// Sources.APIKeys is set.
func TestBuildFailsEarly(t *testing.T) {
	errKeySet := errors.New("api key set: not JSON")
	errMissing := errors.New("vault: secret missing")
	tests := []struct {
		name       string
		apiKeys    func(context.Context) ([]report.KeyInfo, error)
		auditErr   error
		wantErr    error
		wantPrefix string
		wantCalls  int
	}{
		{name: "api key set unreadable", apiKeys: func(context.Context) ([]report.KeyInfo, error) { return nil, errKeySet },
			wantErr: errKeySet, wantPrefix: "report: api keys: ", wantCalls: 1},
		{name: "api keys read, audit key missing", apiKeys: func(context.Context) ([]report.KeyInfo, error) { return []report.KeyInfo{{ID: "key_abcdefgh"}}, nil },
			auditErr: errMissing, wantErr: errMissing, wantPrefix: "report: audit key: ", wantCalls: 1},
		{name: "api off, audit key missing", auditErr: errMissing, wantErr: errMissing, wantPrefix: "report: audit key: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			src := Sources{
				Config: config.Config{Vault: vaultPaths, Store: config.Store{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "none.db")}},
				ReadSecret: func(_ context.Context, name, _ string) (vault.Secret, error) {
					if name == vault.SecretAuditKey && tc.auditErr != nil {
						return vault.Secret{}, tc.auditErr
					}
					return vault.NewSecret(name, []byte("not-a-real-secret"), 1), nil
				},
				Transit:   fakeTransit{},
				ProbeAddr: "127.0.0.1:1", // nothing listens: the probe fails fast
			}
			if tc.apiKeys != nil {
				src.APIKeys = func(ctx context.Context) ([]report.KeyInfo, error) {
					calls++
					return tc.apiKeys(ctx)
				}
			}
			now := time.Now()
			_, err := Build(t.Context(), src, now.Add(-24*time.Hour), now)
			if !errors.Is(err, tc.wantErr) || !strings.HasPrefix(err.Error(), tc.wantPrefix) {
				t.Errorf("err %v, want %q wrapping %v", err, tc.wantPrefix, tc.wantErr)
			}
			if calls != tc.wantCalls {
				t.Errorf("APIKeys called %d times, want %d", calls, tc.wantCalls)
			}
		})
	}
}
