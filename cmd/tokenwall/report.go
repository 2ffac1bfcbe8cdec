package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/evidence"
	"github.com/tokenwall/tokenwall/store"
)

const reportUsage = `usage:
  tokenwall report [--from DATE] [--to DATE] [--format html|json|pdf] -o FILE [--probe HOST:PORT] --config FILE
      DATE is YYYY-MM-DD (UTC; --to is inclusive) or RFC 3339; default: the last 30 days
  tokenwall report verify [--sig FILE.sig] --config FILE REPORT
`

// runReport writes the signed compliance report, or verifies one.
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return runReportVerify(ctx, args[1:], stdout, stderr)
	}
	fs, path := configFlags("report", stderr)
	fromText := fs.String("from", "", "first day of the period (YYYY-MM-DD, UTC)")
	toText := fs.String("to", "", "last day of the period, inclusive (YYYY-MM-DD, UTC)")
	format := fs.String("format", "html", "html, json or pdf")
	out := fs.String("o", "", "output file (required); a PDF also gets FILE.sig")
	probe := fs.String("probe", "", "TLS listener to probe (default: listen.addr)")
	cfg, code := parseAndLoad(fs, path, args, stderr, 2)
	if code != 0 {
		return code
	}
	from, to, err := report.Period(*fromText, *toText, time.Now())
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	case *out == "" || fs.NArg() != 0:
		fmt.Fprint(stderr, reportUsage)
		return 2
	case *format != "html" && *format != "json" && *format != "pdf":
		fmt.Fprintf(stderr, "tokenwall: --format %q is not html, json or pdf\n", *format)
		return 2
	}
	ac, st, err := openAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	defer st.Close()
	bar := newProgress(stderr, isTerminal(stderr), 0, time.Now)
	bar.records = true
	if first, last, err := st.AuditBounds(ctx); err == nil {
		bar.total = last - first + 1
	}
	start := time.Now()
	r, err := evidence.Build(ctx, evidence.Sources{Config: cfg, Store: st, ReadSecret: ac.client.ReadKV, AuditKeys: ac.auditKeys(0), Transit: ac.transit(), Anchor: ac.anchor(),
		ProbeAddr: *probe, Progress: func(n int64) { bar.Add(n - bar.done) }, APIKeys: ac.apiKeys}, from, to)
	bar.Clear()
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	file, sig, err := report.RenderSigned(ctx, ac.transit(), r, *format)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	if err := os.WriteFile(*out, file, 0o640); err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	if sig != nil {
		if err := os.WriteFile(*out+".sig", sig, 0o640); err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
	}
	fails := r.Failed()
	if err := recordReport(ctx, ac, st, r, *format, operator("cli")); err != nil {
		fmt.Fprintf(stderr, "tokenwall: the report was written but its audit record failed: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "report %s: %s to %s, %d audit records read in %s, %d requirements failed; written to %s (signed with %s)\n",
		r.ID, r.From.Format(time.DateOnly), r.To.Add(-time.Nanosecond).Format(time.DateOnly), r.Summary.Records,
		time.Since(start).Round(time.Millisecond), len(fails), *out, ac.cfg.Vault.TransitKey)
	for _, f := range fails {
		fmt.Fprintf(stdout, "  FAIL %s %s\n", f.ID, f.Title)
	}
	return 0
}

// recordReport writes report_generated.
func recordReport(ctx context.Context, ac *adminConn, st store.Audit, r report.Report, format, actor string) error {
	trail, err := ac.trailOn(st)
	if err != nil {
		return err
	}
	return errors.Join(trail.Record(ctx, r.Event(format, actor)), trail.Close(ctx))
}

// runReportVerify checks a report's signature with the transit key.
func runReportVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("report verify", stderr)
	sigFile := fs.String("sig", "", "detached signature (a PDF report's FILE.sig; default FILE.sig when FILE is a PDF)")
	cfg, code := parseAndLoad(fs, path, args, stderr, 2)
	if code != 0 {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, reportUsage)
		return 2
	}
	file, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	var detached []byte
	if *sigFile == "" && bytes.HasPrefix(file, []byte("%PDF")) {
		*sigFile = fs.Arg(0) + ".sig"
	}
	if *sigFile != "" {
		if detached, err = os.ReadFile(*sigFile); err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
	}
	ac, err := dialAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	sig, err := report.Verify(ctx, ac.transit(), file, detached)
	switch {
	case errors.Is(err, report.ErrBadSignature), errors.Is(err, report.ErrUnsigned):
		fmt.Fprintf(stdout, "report %s FAILED verification: %v\n", fs.Arg(0), err)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "report %s OK: signed by Vault transit key %s (sha256 %s)\n", fs.Arg(0), sig.Key, strings.ToLower(sig.SHA256))
	return 0
}
