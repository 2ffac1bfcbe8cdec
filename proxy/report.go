package proxy

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// ReportSources are what a report is built from: the configuration, the store with the audit
// trail, Vault (secrets' metadata, the audit key, the transit key) and the listener to probe.
type ReportSources struct {
	Config config.Config
	Store  store.Store
	// ReadSecret reads a secret with its version and creation time (vault.Client.ReadKV, or
	// the cache).
	ReadSecret func(ctx context.Context, name, path string) (vault.Secret, error)
	Transit    TransitKey
	// ProbeAddr is the TLS listener to probe (listen.addr when empty; an unspecified host is
	// probed on loopback).
	ProbeAddr string
	// CryptoperiodDays is how old a secret or the transit key may get (default
	// audit.cryptoperiod_days).
	CryptoperiodDays int
	Now              func() time.Time
	// Progress, when set, is told how many audit records were read so far.
	Progress func(read int64)
}

// BuildReport gathers the evidence (probe the TLS listener, scan the database and the log
// files, read the secrets' and the transit key's metadata and the API key set) and builds
// the report for [from, to) from the audit trail.
func BuildReport(ctx context.Context, src ReportSources, from, to time.Time) (report.Report, error) {
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
	var id [8]byte
	_, _ = rand.Read(id[:])
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
	keys, err := apiKeys(ctx, cfg, src.ReadSecret)
	if err != nil {
		return report.Report{}, err
	}
	auditKey, err := src.ReadSecret(ctx, vault.SecretAuditKey, cfg.Vault.AuditKeyPath)
	if err != nil {
		return report.Report{}, fmt.Errorf("report: audit key: %w", err)
	}
	return report.Build(ctx, report.Inputs{
		From: from, To: to, Now: now(), ID: "rep_" + scrub.LetterID(id[:]), Host: host,
		Store: src.Store, Evidence: ev, Keys: keys, RetentionDays: cfg.Audit.RetentionDays, CryptoperiodDays: period,
		Flow: flowOf(cfg), Progress: src.Progress,
		Verify: func(ctx context.Context, fromSeq, toSeq int64) (report.ChainEvidence, error) {
			res, err := audit.Verify(ctx, src.Store, auditKey.Reveal(), src.Transit, fromSeq, toSeq)
			return report.ChainEvidence{OK: res.OK, From: res.From, To: res.To, Records: res.Records,
				Checkpoints: int64(res.Checkpoints), FirstBad: res.FirstBad, Problem: res.Problem}, err
		},
	})
}

// probeAddr is where to probe: the given address, else listen.addr with an unspecified host
// replaced by loopback.
func probeAddr(given, listen string) string {
	if given != "" {
		return given
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

func cardMask(m string) string {
	if m == "" {
		return "brand_last4"
	}
	return m
}

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

// apiKeys reads the API key set (none when the API is off or no set exists yet).
func apiKeys(ctx context.Context, cfg config.Config, read func(context.Context, string, string) (vault.Secret, error)) ([]report.KeyInfo, error) {
	if !cfg.API.Enabled {
		return nil, nil
	}
	s, err := read(ctx, vault.SecretAPIKeys, cfg.API.KeysPath)
	if err != nil {
		return nil, fmt.Errorf("report: api keys: %w", err)
	}
	ks, err := ParseKeySet(s.Reveal())
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	out := make([]report.KeyInfo, len(ks.Keys))
	for i, k := range ks.Keys {
		out[i] = report.KeyInfo{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt}
	}
	return out, nil
}

// flowOf draws the card data flow from the configuration.
func flowOf(cfg config.Config) report.Flow {
	f := report.Flow{Listen: cfg.Listen.Addr, Upstream: redactURL(cfg.Upstream.URL), Gateway: redactURL(cfg.Gateway.Stripe.APIURL), API: cfg.API.Enabled}
	for _, r := range cfg.Routes {
		fr := report.FlowRoute{Path: r.Path, Methods: r.Methods, Body: r.Body}
		for _, n := range []string{r.Card.Number, r.Card.Exp, r.Card.ExpMonth, r.Card.ExpYear, r.Card.CVC, r.Card.Name} {
			if n != "" {
				fr.CardFields = append(fr.CardFields, n)
			}
		}
		fr.ResultFields = []string{r.Result.Token, r.Result.Brand, r.Result.Last4, r.Result.ExpMonth, r.Result.ExpYear, r.Result.Fingerprint, r.Result.Error}
		f.Routes = append(f.Routes, fr)
	}
	if cfg.Webhooks.Enabled {
		f.Webhooks = cfg.Webhooks.Path
		f.DeliverURL = redactURL(strings.TrimSuffix(cfg.Upstream.URL, "/") + cfg.Webhooks.DeliverPath)
	}
	return f
}

// redactURL drops credentials from a URL for the report.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		s = u.String()
	}
	return scrub.Default().URL(s)
}

// scanAtRest scans where tokenwall writes: the SQLite database (and its WAL) or, on
// PostgreSQL, the stored records and payloads read back through the store; and the log files.
func scanAtRest(ctx context.Context, cfg config.Config, st store.Store) []report.ScanEvidence {
	sc, err := cfg.Scrub.Scrubber()
	if err != nil {
		return []report.ScanEvidence{{What: "configuration", Error: err.Error()}}
	}
	var out []report.ScanEvidence
	if cfg.Store.Driver == "postgres" {
		out = append(out, scanStore(ctx, sc, st))
	} else {
		out = append(out, scanFiles(sc, "database", cfg.Store.SQLitePath, []string{cfg.Store.SQLitePath, cfg.Store.SQLitePath + "-wal"}))
	}
	if cfg.Log.File != "" {
		// The log file and any rotated siblings (tokenwall.log.1, tokenwall.log.2.gz is not read).
		matches, _ := filepath.Glob(cfg.Log.File + "*")
		out = append(out, scanFiles(sc, "logs", cfg.Log.File, matches))
	}
	return out
}

// scanFiles scans the files that exist among paths.
func scanFiles(sc *scrub.Scrubber, what, name string, paths []string) report.ScanEvidence {
	ev := report.ScanEvidence{What: what, Path: name, ByKind: map[string]int{}}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			if !os.IsNotExist(err) {
				ev.Error = err.Error()
			}
			continue
		}
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			ev.Files++
			ev.Bytes += info.Size()
			err = sc.ScanReader(f, func(_ int64, fd scrub.Finding) error {
				ev.Findings++
				ev.ByKind[string(fd.Kind)]++
				return nil
			})
			if err != nil && ev.Error == "" {
				ev.Error = err.Error()
			}
		}
		_ = f.Close()
	}
	if ev.Files == 0 && ev.Error == "" {
		ev.Error = "nothing to scan at " + name + ": " + fs.ErrNotExist.Error()
	}
	return ev
}

// scanStore scans what a PostgreSQL store holds by reading it back: every audit record and
// every outbox payload.
func scanStore(ctx context.Context, sc *scrub.Scrubber, st store.Store) report.ScanEvidence {
	ev := report.ScanEvidence{What: "database", Path: "postgresql (audit records and outbox payloads, read back)", Files: 1, ByKind: map[string]int{}}
	add := func(b []byte) {
		ev.Bytes += int64(len(b))
		for _, f := range sc.Find(b) {
			ev.Findings++
			ev.ByKind[string(f.Kind)]++
		}
	}
	err := st.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		add([]byte(r.Actor + " " + r.Event + " " + r.Reason + " " + r.SourceIP + " " + r.RequestID + " " + r.Resource + " " + r.Details))
		return nil
	})
	if err == nil {
		var items []store.OutboxItem
		if items, err = st.ListOutbox(ctx, "", 1_000_000); err == nil {
			for _, it := range items {
				add(it.Payload)
			}
		}
	}
	if err != nil {
		ev.Error = err.Error()
	}
	return ev
}
