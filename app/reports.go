package app

import (
	"context"
	"time"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/evidence"
	"github.com/tokenwall/tokenwall/vault"
)

// reportMaker builds the compliance reports of GET /v1/reports from the running App.
type reportMaker struct {
	a       *App
	transit evidence.TransitKey
}

// reports returns the API's report maker; signer, when it can also describe its key,
// replaces the configured transit key.
func (a *App) reports(signer audit.Signer) *reportMaker {
	var tk evidence.TransitKey = a.Transit()
	if t, ok := signer.(evidence.TransitKey); ok {
		tk = t
	}
	return &reportMaker{a: a, transit: tk}
}

// Build gathers the evidence now and builds the report for [from, to).
func (m *reportMaker) Build(ctx context.Context, from, to time.Time) (report.Report, error) {
	a := m.a
	return evidence.Build(ctx, evidence.Sources{Config: a.cfg, Store: a.store, Transit: m.transit, Anchor: a.Anchor(),
		ReadSecret: func(_ context.Context, name, _ string) (vault.Secret, error) { return a.cache.Get(name) },
		AuditKeys:  audit.VaultKeys(a.client, a.cfg.Vault.AuditKeyPath, 0),
		APIKeys: func(context.Context) ([]report.KeyInfo, error) {
			s, err := a.cache.Get(vault.SecretAPIKeys)
			if err != nil {
				return nil, err
			}
			ks, err := apikey.ParseKeySet(s.Reveal())
			return KeyInfos(ks), err
		}}, from, to)
}

// Render signs the report in format (html or json).
func (m *reportMaker) Render(ctx context.Context, r report.Report, format string) ([]byte, error) {
	file, _, err := report.RenderSigned(ctx, m.transit, r, format)
	return file, err
}

// KeyInfos is what a report shows of the API keys: ids, names, scopes and dates.
func KeyInfos(ks apikey.KeySet) []report.KeyInfo {
	out := make([]report.KeyInfo, len(ks.Keys))
	for i, k := range ks.Keys {
		out[i] = report.KeyInfo{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
	}
	return out
}
