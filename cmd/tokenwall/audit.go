package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

// auditCmd verifies, exports or prunes the audit trail, records a restore, or rotates its
// HMAC key. verify exits 1 and names the first bad sequence number when the trail was
// tampered with.
type auditCmd struct {
	Verify    auditVerifyCmd  `cmd:"" help:"Check the audit trail: chain, MACs, signed checkpoints and the anchor in Vault (exit 1 naming the first bad record)."`
	Export    auditExportCmd  `cmd:"" help:"Write the audit trail as JSON lines."`
	Prune     auditPruneCmd   `cmd:"" help:"Delete records past audit.retention_days, up to a signed checkpoint."`
	RotateKey auditRotateCmd  `cmd:"" name:"rotate-key" help:"Write a new audit HMAC key version to Vault (audited); each record names the version that MACed it."`
	Restore   auditRestoreCmd `cmd:"" help:"Record that the database was restored from a backup and move the anchor back to it (audited)."`
}

// seqRange is the --from and --to of audit verify and export.
type seqRange struct {
	From int64 `placeholder:"SEQ" help:"First sequence number (default: the first kept)."`
	To   int64 `placeholder:"SEQ" help:"Last sequence number (default: the last)."`
}

// auditVerifyCmd is audit verify.
type auditVerifyCmd struct {
	configFlag
	seqRange
	LegacyKeyVersion int  `placeholder:"N" help:"The audit key version that MACed records naming none (written before tokenwall recorded versions; default: the lowest version Vault keeps)."`
	JSON             bool `name:"json" help:"Print the result as one JSON object."`
}

// Validate refuses a negative key version before anything is opened.
func (c *auditVerifyCmd) Validate() error {
	if c.LegacyKeyVersion < 0 {
		return fmt.Errorf("--legacy-key-version %d: must be a KV version (1 or more)", c.LegacyKeyVersion)
	}
	return nil
}

func (c *auditVerifyCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		return auditVerify(e.ctx, ac, st, verifyRequest{from: c.From, to: c.To, legacy: c.LegacyKeyVersion, json: c.JSON}, e.stdout, e.stderr)
	})
}

// auditExportCmd is audit export.
type auditExportCmd struct {
	configFlag
	seqRange
	Output string `short:"o" name:"output" placeholder:"FILE" help:"Output file (default: stdout)."`
}

func (c *auditExportCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(_ *adminConn, st store.Store) int {
		return auditExport(e.ctx, st, c.From, c.To, c.Output, e.stdout, e.stderr)
	})
}

// auditPruneCmd is audit prune.
type auditPruneCmd struct {
	configFlag
}

func (c *auditPruneCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		days := ac.cfg.Audit.RetentionDays
		n, err := audit.Prune(e.ctx, st, time.Duration(days)*24*time.Hour, time.Now())
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		fmt.Fprintf(e.stdout, "pruned %d records older than %d days (up to a signed checkpoint)\n", n, days)
		return 0
	})
}

// auditRotateCmd is audit rotate-key.
type auditRotateCmd struct {
	configFlag
}

func (c *auditRotateCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		return rotateAuditKey(e.ctx, ac, st, e.stdout, e.stderr)
	})
}

// auditRestoreCmd is audit restore.
type auditRestoreCmd struct {
	configFlag
	Reason string `placeholder:"TEXT" help:"Why the database was restored (required, 1 to 500 characters; recorded in the trail)."`
}

// Validate refuses a missing or overlong reason before anything is opened (auditRestore
// checks again).
func (c *auditRestoreCmd) Validate() error {
	if c.Reason == "" || len(c.Reason) > maxRestoreReason {
		return fmt.Errorf("audit restore needs --reason (1 to %d characters): it is recorded in the trail", maxRestoreReason)
	}
	return nil
}

func (c *auditRestoreCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		return auditRestore(e.ctx, ac, st, c.Reason, e.stdout, e.stderr)
	})
}

// withAdmin loads the config, dials Vault and opens the store for a maintenance command,
// runs f and closes the store. A config, Vault or store failure is exit 2.
func withAdmin(e cmdEnv, cf configFlag, f func(*adminConn, store.Store) int) int {
	cfg, code := cf.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	ac, st, err := openAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	defer st.Close()
	return f(ac, st)
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

// verifyRequest is what audit verify was asked.
type verifyRequest struct {
	from, to int64
	legacy   int
	json     bool
}

// verifyJSON is audit verify --json's result. It names records and versions, never a key,
// MAC or signature.
type verifyJSON struct {
	OK              bool    `json:"ok"`
	From            int64   `json:"from"`
	To              int64   `json:"to"`
	Records         int64   `json:"records"`
	Checkpoints     int     `json:"checkpoints"`
	FirstBad        int64   `json:"first_bad,omitempty"`
	Problem         string  `json:"problem,omitempty"`
	AnchorPath      string  `json:"anchor_path"`
	AnchorVersion   int     `json:"anchor_version"`
	AnchorSeq       int64   `json:"anchor_seq"`
	AnchorVersions  int     `json:"anchor_versions_compared"`
	Restores        int     `json:"restores"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// auditVerify checks the trail, each record with the version of the audit key it names.
func auditVerify(ctx context.Context, ac *adminConn, st store.Store, req verifyRequest, stdout, stderr io.Writer) int {
	// The current key first: a missing or unreadable key is a set-up problem (exit 2), not
	// a verdict on the trail.
	if _, err := ac.auditKey(ctx); err != nil {
		fmt.Fprintf(stderr, "tokenwall: audit key: %v\n", err)
		return 2
	}
	start := time.Now()
	res, err := audit.VerifyWith(ctx, st, ac.auditKeys(req.legacy), ac.transit(), req.from, req.to,
		audit.VerifyOptions{CheckpointEvery: int64(ac.cfg.Audit.CheckpointEvery), Anchor: ac.anchor()})
	if err != nil {
		return fail(stderr, 2, err)
	}
	took := time.Since(start)
	anchorPath := ac.cfg.Vault.KVMount + "/" + ac.cfg.Vault.AuditAnchorPath
	code := 0
	if !res.OK {
		code = 1
	}
	if req.json {
		out := verifyJSON{OK: res.OK, From: res.From, To: res.To, Records: res.Records, Checkpoints: res.Checkpoints,
			FirstBad: res.FirstBad, Problem: res.Problem, AnchorPath: anchorPath, AnchorVersion: res.Anchor.Version,
			AnchorSeq: res.Anchor.Seq, AnchorVersions: res.AnchorVersions, Restores: res.Restores, DurationSeconds: took.Seconds()}
		if err := json.NewEncoder(stdout).Encode(out); err != nil {
			return fail(stderr, 2, err)
		}
		return code
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit trail FAILED verification at sequence %d: %s\n", res.FirstBad, res.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "audit trail OK: records %d..%d (%d), %d signed checkpoints, verified in %s\n",
		res.From, res.To, res.Records, res.Checkpoints, took.Round(time.Millisecond))
	if a := res.Anchor; a.Version > 0 {
		fmt.Fprintf(stdout, "anchor: Vault %s version %d signs checkpoint %d (%d versions compared, %d restores recorded)\n",
			anchorPath, a.Version, a.Seq, res.AnchorVersions, res.Restores)
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
