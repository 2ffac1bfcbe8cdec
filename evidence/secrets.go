package evidence

import (
	"context"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/vault"
)

// secretsEvidence reads each secret's version and creation time.
func secretsEvidence(ctx context.Context, cfg config.Config, read func(context.Context, string, string) (vault.Secret, error), now time.Time, period int) []report.SecretEvidence {
	paths := [][2]string{{vault.SecretStripeKey, cfg.Vault.StripeKeyPath}, {vault.SecretSigningKey, cfg.Vault.SigningKeyPath},
		{vault.SecretAuditKey, cfg.Vault.AuditKeyPath}}
	if cfg.Webhooks.Enabled {
		for i, p := range cfg.Webhooks.SecretPaths {
			paths = append(paths, [2]string{vault.SecretWebhook(i), p})
		}
	}
	if cfg.Store.Driver == "postgres" && cfg.Store.PostgresPasswordPath != "" {
		paths = append(paths, [2]string{vault.SecretPostgresPassword, cfg.Store.PostgresPasswordPath})
	}
	var out []report.SecretEvidence
	for _, p := range paths {
		se := report.SecretEvidence{Name: p[0], Path: cfg.Vault.KVMount + "/" + p[1], CryptoperiodDays: period}
		s, err := read(ctx, p[0], p[1])
		if err != nil {
			se.Error = err.Error()
		} else {
			se.Version, se.CreatedAt = s.Version(), s.Created().UTC()
			se.AgeDays = int(now.Sub(s.Created()) / (24 * time.Hour))
			se.Expired = se.AgeDays > period
		}
		out = append(out, se)
	}
	return out
}
