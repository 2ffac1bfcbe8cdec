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
  tokenwall audit restore --reason TEXT --config FILE
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
	case "verify", "export", "prune", "rotate-key", "restore":
	default:
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	fs, path := configFlags("audit "+sub, stderr)
	from := fs.Int64("from", 0, "first sequence number (default: the first kept)")
	to := fs.Int64("to", 0, "last sequence number (default: the last)")
	out := fs.String("o", "", "export: output file (default stdout)")
	reason := fs.String("reason", "", "restore: why the database was restored (required; recorded in the trail)")
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
	case "restore":
		return auditRestore(ctx, ac, st, *reason, stdout, stderr)
	default:
		return rotateAuditKey(ctx, ac, st, stdout, stderr)
	}
}

// maxRestoreReason bounds the reason an operator gives for a restore.
const maxRestoreReason = 500

// auditRestore records that the database was restored from a backup and moves the anchor
// back to it (audit.Restore): the only way to make a trail behind its anchor writable again.
func auditRestore(ctx context.Context, ac *adminConn, st store.Store, reason string, stdout, stderr io.Writer) int {
	if reason == "" || len(reason) > maxRestoreReason {
		fmt.Fprintf(stderr, "tokenwall: audit restore needs --reason (1 to %d characters): it is recorded in the trail\n", maxRestoreReason)
		return 2
	}
	o, err := ac.trailOptions(st)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	r, err := audit.Restore(ctx, audit.RestoreInput{Trail: o, Keys: ac.auditKeys(0), Operator: operator("cli"), Reason: reason})
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "restore recorded: the trail was restored to %d; records %d..%d are gone; record %d (%s) is anchored as version %d\n",
		r.RestoredTo, r.RestoredTo+1, r.PreviousSeq, r.Seq, audit.EventAuditRestored, r.AnchorVersion)
	return 0
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
	res, err := audit.VerifyWith(ctx, st, ac.auditKeys(legacy), ac.transit(), from, to,
		audit.VerifyOptions{CheckpointEvery: int64(ac.cfg.Audit.CheckpointEvery), Anchor: ac.anchor()})
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
	if a := res.Anchor; a.Version > 0 {
		fmt.Fprintf(stdout, "anchor: Vault %s/%s version %d signs checkpoint %d (%d versions compared, %d restores recorded)\n",
			ac.cfg.Vault.KVMount, ac.cfg.Vault.AuditAnchorPath, a.Version, a.Seq, res.AnchorVersions, res.Restores)
	} else {
		fmt.Fprintln(stdout, "anchor: none yet (the trail has never been checkpointed)")
	}
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
