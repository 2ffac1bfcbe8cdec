package evidence

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// TransitKey is the transit key that signs checkpoints and reports, with its metadata.
type TransitKey interface {
	audit.Signer
	KeyInfo(ctx context.Context) (latest int, rotatedAt time.Time, err error)
}

// Sources are what a report is built from: the configuration, the store with the audit
// trail, Vault (secrets' metadata, the audit key, the transit key) and the listener to probe.
type Sources struct {
	// Config is the effective configuration: what to scan, which secrets, the data flow.
	Config config.Config
	// Store holds the audit trail (and, on PostgreSQL, the data scanned at rest).
	Store store.Store
	// ReadSecret reads a secret with its version and creation time (vault.Client.ReadKV, or
	// the cache).
	ReadSecret func(ctx context.Context, name, path string) (vault.Secret, error)
	// AuditKeys gives the audit HMAC key of each KV version, so that records MACed before a
	// rotation verify (audit.VaultKeys); when nil, every record is checked with the current
	// key (ReadSecret), which fits a key never rotated.
	AuditKeys audit.Keys
	// Transit is the key that signs checkpoints; the chain is verified with it.
	Transit TransitKey
	// Anchor is the trail's anchor in Vault; the chain is compared with its history and its
	// newest point goes into the report. Nil only in tests of other parts.
	Anchor audit.Anchor
	// ProbeAddr is the TLS listener to probe (listen.addr when empty; an unspecified host is
	// probed on loopback).
	ProbeAddr string
	// CryptoperiodDays is how old a secret or the transit key may get (default
	// audit.cryptoperiod_days).
	CryptoperiodDays int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Progress, when set, is told how many audit records were read so far.
	Progress func(read int64)
	// APIKeys lists the /v1 API keys the report shows; nil when the API is off. The caller
	// reads and parses the key set (package apikey), which evidence may not import. Its
	// error fails the report.
	APIKeys func(ctx context.Context) ([]report.KeyInfo, error)
}

// Build gathers the evidence (probe the TLS listener, scan the database and the log
// files, read the secrets' and the transit key's metadata and the API key set) and builds
// the report for [from, to) from the audit trail.
func Build(ctx context.Context, src Sources, from, to time.Time) (report.Report, error) {
	cfg := src.Config
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	period := src.CryptoperiodDays
	if period <= 0 {
		period = cfg.Audit.CryptoperiodDays
	}
	if period <= 0 {
		period = 365
	}
	host, _ := os.Hostname()
	ev := report.Evidence{
		TLS:        ProbeTLS(ctx, probeAddr(src.ProbeAddr, cfg.Listen.Addr)),
		DataAtRest: scanAtRest(ctx, cfg, src.Store),
		Logging:    report.LoggingEvidence{CardMask: cardMask(cfg.Scrub.CardMask), LogFile: cfg.Log.File},
	}
	ev.Secrets = secretsEvidence(ctx, cfg, src.ReadSecret, now(), period)
	ev.TransitKey = report.TransitEvidence{Name: src.Transit.KeyName()}
	if v, at, err := src.Transit.KeyInfo(ctx); err != nil {
		ev.TransitKey.Error = err.Error()
	} else {
		ev.TransitKey.LatestVersion, ev.TransitKey.RotatedAt, ev.TransitKey.AgeDays = v, at, int(now().Sub(at)/(24*time.Hour))
	}
	var keys []report.KeyInfo
	if src.APIKeys != nil {
		var err error
		if keys, err = src.APIKeys(ctx); err != nil {
			return report.Report{}, fmt.Errorf("report: api keys: %w", err)
		}
	}
	auditKey, err := src.ReadSecret(ctx, vault.SecretAuditKey, cfg.Vault.AuditKeyPath)
	if err != nil {
		return report.Report{}, fmt.Errorf("report: audit key: %w", err)
	}
	auditKeys := src.AuditKeys
	if auditKeys == nil {
		auditKeys = audit.StaticKey(auditKey.Reveal())
	}
	return report.Build(ctx, report.Inputs{
		From: from, To: to, Now: now(), ID: "rep_" + scrub.NewLetterID(8), Host: host,
		Store: src.Store, Evidence: ev, Keys: keys, RetentionDays: cfg.Audit.RetentionDays, CryptoperiodDays: period,
		Flow: flowOf(cfg), Progress: src.Progress, Pages: pageInventories(cfg.Pages),
		Verify: func(ctx context.Context, fromSeq, toSeq int64) (report.ChainEvidence, error) {
			res, err := audit.VerifyWith(ctx, src.Store, auditKeys, src.Transit, fromSeq, toSeq,
				audit.VerifyOptions{CheckpointEvery: int64(cfg.Audit.CheckpointEvery), Anchor: src.Anchor})
			return chainEvidence(res), err
		},
	})
}

// chainEvidence is the report's view of a verification.
func chainEvidence(res audit.Result) report.ChainEvidence {
	ce := report.ChainEvidence{OK: res.OK, From: res.From, To: res.To, Records: res.Records,
		Checkpoints: int64(res.Checkpoints), FirstBad: res.FirstBad, Problem: res.Problem}
	if a := res.Anchor; a.Version > 0 {
		ce.Anchor = &report.AnchorEvidence{Version: a.Version, Versions: res.AnchorVersions, Seq: a.Seq,
			Hash: fmt.Sprintf("%x", a.Hash), KeyName: a.KeyName, Signature: a.Signature, Restores: res.Restores}
	}
	return ce
}

// pageInventories are the configured payment pages as the report states them.
func pageInventories(pages []config.Page) []report.PageInventory {
	var out []report.PageInventory
	for _, pg := range pages {
		inv := report.PageInventory{Path: pg.Path, Mode: pg.Mode, OnChange: pg.OnChange}
		for _, s := range pg.Scripts {
			inv.Scripts = append(inv.Scripts, report.InventoryScript{Src: s.Src, SHA384: s.SHA384,
				Justification: s.Justification, AuthorisedBy: s.AuthorisedBy})
		}
		out = append(out, inv)
	}
	return out
}
