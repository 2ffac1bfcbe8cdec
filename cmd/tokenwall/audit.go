package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tokenwall/tokenwall/audit"
)

const auditUsage = `usage:
  tokenwall audit verify [--from SEQ] [--to SEQ] --config FILE
  tokenwall audit export [--from SEQ] [--to SEQ] [-o FILE] --config FILE
  tokenwall audit prune --config FILE
`

// runAudit verifies, exports or prunes the audit trail. verify exits 1 and names the first
// bad sequence number when the trail was tampered with.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	sub := args[0]
	fs, path := configFlags("audit "+sub, stderr)
	from := fs.Int64("from", 0, "first sequence number (default: the first kept)")
	to := fs.Int64("to", 0, "last sequence number (default: the last)")
	out := fs.String("o", "", "export: output file (default stdout)")
	cfg, code := parseAndLoad(fs, path, args[1:], stderr, 2)
	if code != 0 {
		return code
	}
	ac, st, err := openAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	defer st.Close()
	switch sub {
	case "verify":
		key, err := ac.auditKey(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: audit key: %v\n", err)
			return 2
		}
		start := time.Now()
		res, err := audit.Verify(ctx, st, key, ac.transit(), *from, *to)
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
	case "export":
		w := stdout
		if *out != "" {
			f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				fmt.Fprintf(stderr, "tokenwall: %v\n", err)
				return 2
			}
			defer f.Close()
			w = f
		}
		n, err := audit.Export(ctx, st, w, *from, *to)
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "exported %d records\n", n)
		return 0
	case "prune":
		retention := time.Duration(cfg.Audit.RetentionDays) * 24 * time.Hour
		n, err := audit.Prune(ctx, st, retention, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "pruned %d records older than %d days (up to a signed checkpoint)\n", n, cfg.Audit.RetentionDays)
		return 0
	}
	fmt.Fprint(stderr, auditUsage)
	return 2
}
