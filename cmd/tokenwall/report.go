package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/evidence"
	"github.com/tokenwall/tokenwall/store"
)

// reportCmd writes the signed compliance report (`tokenwall report …`, generate being the
// default subcommand), or verifies one.
type reportCmd struct {
	Generate reportGenerateCmd `cmd:"" default:"withargs" help:"Write the signed PCI DSS evidence report (audited); \"generate\" may be left out."`
	Verify   reportVerifyCmd   `cmd:"" help:"Check a report's signature (exit 1 when it was edited)."`
}

// reportGenerateCmd is report (generate).
type reportGenerateCmd struct {
	configFlag
	From   string `placeholder:"DATE" help:"First day of the period: YYYY-MM-DD (UTC) or RFC 3339 (default: 30 days before --to)."`
	To     string `placeholder:"DATE" help:"Last day of the period, inclusive (default: today)."`
	Format string `default:"html" placeholder:"FORMAT" help:"html, json or pdf."`
	Output string `short:"o" name:"output" required:"" placeholder:"FILE" help:"Output file; a PDF also gets FILE.sig."`
	Probe  string `placeholder:"HOST:PORT" help:"TLS listener to probe (default: listen.addr)."`
	JSON   bool   `name:"json" help:"Print the summary as one JSON object."`

	from, to time.Time // the period From and To name
}

// Validate checks the period and the format before anything is opened.
func (c *reportGenerateCmd) Validate() error {
	var err error
	if c.from, c.to, err = report.Period(c.From, c.To, time.Now()); err != nil {
		return err
	}
	if c.Format != "html" && c.Format != "json" && c.Format != "pdf" {
		return fmt.Errorf("--format %q is not html, json or pdf", c.Format)
	}
	return nil
}

// reportSummary is what report prints when it is done; --json prints it as is.
type reportSummary struct {
	ID              string          `json:"id"`
	From            string          `json:"from"`
	To              string          `json:"to"`
	Records         int64           `json:"records"`
	Failed          []failedSummary `json:"failed"`
	Output          string          `json:"output"`
	SignatureFile   string          `json:"signature_file,omitempty"`
	SignedWith      string          `json:"signed_with"`
	DurationSeconds float64         `json:"duration_seconds"`
}

// failedSummary is one failed requirement of a report.
type failedSummary struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

func (c *reportGenerateCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		start := time.Now()
		r, err := c.build(e, ac, st)
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		sum, err := c.write(e.ctx, ac, r)
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		if err := recordReport(e.ctx, ac, st, r, c.Format, operator("cli")); err != nil {
			fmt.Fprintf(e.stderr, "tokenwall: the report was written but its audit record failed: %v\n", err)
			return 2
		}
		sum.DurationSeconds = time.Since(start).Seconds()
		if c.JSON {
			if err := json.NewEncoder(e.stdout).Encode(sum); err != nil {
				return fail(e.stderr, 2, err)
			}
			return 0
		}
		fmt.Fprintf(e.stdout, "report %s: %s to %s, %d audit records read in %s, %d requirements failed; written to %s (signed with %s)\n",
			sum.ID, sum.From, sum.To, sum.Records, time.Since(start).Round(time.Millisecond), len(sum.Failed), sum.Output, sum.SignedWith)
		for _, f := range sum.Failed {
			fmt.Fprintf(e.stdout, "  FAIL %s %s\n", f.ID, f.Title)
		}
		return 0
	})
}

// build runs the report's checks with a progress bar on a terminal stderr.
func (c *reportGenerateCmd) build(e cmdEnv, ac *adminConn, st store.Store) (report.Report, error) {
	bar := newProgress(e.stderr, isTerminal(e.stderr), 0, time.Now)
	bar.records = true
	if first, last, err := st.AuditBounds(e.ctx); err == nil {
		bar.total = last - first + 1
	}
	r, err := evidence.Build(e.ctx, evidence.Sources{Config: ac.cfg, Store: st, ReadSecret: ac.client.ReadKV, AuditKeys: ac.auditKeys(0),
		Transit: ac.transit(), Anchor: ac.anchor(), ProbeAddr: c.Probe, Progress: func(n int64) { bar.Add(n - bar.done) },
		APIKeys: ac.apiKeys}, c.from, c.to)
	bar.Clear()
	return r, err
}

// write renders, signs and writes the report (and a PDF's detached signature).
func (c *reportGenerateCmd) write(ctx context.Context, ac *adminConn, r report.Report) (reportSummary, error) {
	file, sig, err := report.RenderSigned(ctx, ac.transit(), r, c.Format)
	if err != nil {
		return reportSummary{}, err
	}
	if err := os.WriteFile(c.Output, file, 0o640); err != nil {
		return reportSummary{}, err
	}
	sum := reportSummary{ID: r.ID, From: r.From.Format(time.DateOnly), To: r.To.Add(-time.Nanosecond).Format(time.DateOnly),
		Records: r.Summary.Records, Failed: []failedSummary{}, Output: c.Output, SignedWith: ac.cfg.Vault.TransitKey}
	if sig != nil {
		sum.SignatureFile = c.Output + ".sig"
		if err := os.WriteFile(sum.SignatureFile, sig, 0o640); err != nil {
			return reportSummary{}, err
		}
	}
	for _, f := range r.Failed() {
		sum.Failed = append(sum.Failed, failedSummary{ID: f.ID, Title: f.Title})
	}
	return sum, nil
}

// recordReport writes report_generated.
func recordReport(ctx context.Context, ac *adminConn, st store.Audit, r report.Report, format, actor string) error {
	trail, err := ac.trailOn(st)
	if err != nil {
		return err
	}
	return errors.Join(trail.Record(ctx, r.Event(format, actor)), trail.Close(ctx))
}

// reportVerifyCmd checks a report's signature with the transit key.
type reportVerifyCmd struct {
	configFlag
	Sig    string `placeholder:"FILE.sig" help:"Detached signature (a PDF report's FILE.sig; the default when REPORT is a PDF)."`
	JSON   bool   `name:"json" help:"Print the result as one JSON object."`
	Report string `arg:"" name:"report" help:"The report file."`
}

// verifyResult is report verify --json's output.
type verifyResult struct {
	File    string `json:"file"`
	OK      bool   `json:"ok"`
	Key     string `json:"key,omitempty"`
	SHA256  string `json:"sha256,omitempty"`
	Problem string `json:"problem,omitempty"`
}

func (c *reportVerifyCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	file, err := os.ReadFile(c.Report)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	var detached []byte
	sigFile := c.Sig
	if sigFile == "" && bytes.HasPrefix(file, []byte("%PDF")) {
		sigFile = c.Report + ".sig"
	}
	if sigFile != "" {
		if detached, err = os.ReadFile(sigFile); err != nil {
			return fail(e.stderr, 2, err)
		}
	}
	ac, err := dialAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	sig, err := report.Verify(e.ctx, ac.transit(), file, detached)
	res := verifyResult{File: c.Report, OK: err == nil, Key: sig.Key, SHA256: strings.ToLower(sig.SHA256)}
	switch {
	case errors.Is(err, report.ErrBadSignature), errors.Is(err, report.ErrUnsigned):
		res.Problem, code = err.Error(), 1
	case err != nil:
		return fail(e.stderr, 2, err)
	}
	switch {
	case c.JSON:
		if err := json.NewEncoder(e.stdout).Encode(res); err != nil {
			return fail(e.stderr, 2, err)
		}
	case !res.OK:
		fmt.Fprintf(e.stdout, "report %s FAILED verification: %s\n", c.Report, res.Problem)
	default:
		fmt.Fprintf(e.stdout, "report %s OK: signed by Vault transit key %s (sha256 %s)\n", c.Report, res.Key, res.SHA256)
	}
	return code
}
