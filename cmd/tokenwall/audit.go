package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

const auditUsage = `usage:
  tokenwall audit verify [--from SEQ] [--to SEQ] [--legacy-key-version N] --config FILE
  tokenwall audit export [--from SEQ] [--to SEQ] [-o FILE] --config FILE
  tokenwall audit prune --config FILE
  tokenwall audit rotate-key --config FILE
`

// runAudit verifies, exports or prunes the audit trail, or rotates its HMAC key. verify
// exits 1 and names the first bad sequence number when the trail was tampered with.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	sub := args[0]
	switch sub {
	case "verify", "export", "prune", "rotate-key":
	default:
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fs, path := configFlags("audit "+sub, stderr)
	from := fs.Int64("from", 0, "first sequence number (default: the first kept)")
	to := fs.Int64("to", 0, "last sequence number (default: the last)")
	out := fs.String("o", "", "export: output file (default stdout)")
	legacy := fs.Int("legacy-key-version", 0, "verify: the audit key version that MACed records naming none "+
		"(written before tokenwall recorded versions; default: the lowest version Vault keeps)")
	cfg, code := parseAndLoad(fs, path, args[1:], stderr, 2)
	if code != 0 {
		return code
	}
	if *legacy < 0 {
		fmt.Fprintf(stderr, "tokenwall: --legacy-key-version %d: must be a KV version (1 or more)\n", *legacy)
		return 2
	}
	ac, st, err := openAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	defer st.Close()
	switch sub {
	case "verify":
		return auditVerify(ctx, ac, st, *from, *to, *legacy, stdout, stderr)
	case "export":
		return auditExport(ctx, st, *from, *to, *out, stdout, stderr)
	case "prune":
		retention := time.Duration(cfg.Audit.RetentionDays) * 24 * time.Hour
		n, err := audit.Prune(ctx, st, retention, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "pruned %d records older than %d days (up to a signed checkpoint)\n", n, cfg.Audit.RetentionDays)
		return 0
	default:
		return rotateAuditKey(ctx, ac, st, stdout, stderr)
	}
}

// auditVerify checks the trail, each record with the version of the audit key it names.
func auditVerify(ctx context.Context, ac *adminConn, st store.Store, from, to int64, legacy int, stdout, stderr io.Writer) int {
	// The current key first: a missing or unreadable key is a set-up problem (exit 2), not
	// a verdict on the trail.
	if _, err := ac.auditKey(ctx); err != nil {
		fmt.Fprintf(stderr, "tokenwall: audit key: %v\n", err)
		return 2
	}
	start := time.Now()
	res, err := audit.Verify(ctx, st, ac.auditKeys(legacy), ac.transit(), from, to)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit trail FAILED verification at sequence %d: %s\n", res.FirstBad, res.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "audit trail OK: records %d..%d (%d), %d signed checkpoints, verified in %s\n",
		res.From, res.To, res.Records, res.Checkpoints, time.Since(start).Round(time.Millisecond))
	return 0
}

// auditExport writes the records as JSON lines to out (stdout when empty).
func auditExport(ctx context.Context, st store.Store, from, to int64, out string, stdout, stderr io.Writer) int {
	w := stdout
	if out != "" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		defer f.Close()
		w = f
	}
	n, err := audit.Export(ctx, st, w, from, to)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "exported %d records\n", n)
	return 0
}
