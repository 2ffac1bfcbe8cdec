package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
)

// pagesCmd is `tokenwall pages`: the payment pages' inventories, baselines and checks (PCI
// DSS 6.4.3, 11.6.1).
type pagesCmd struct {
	List     pagesListCmd     `cmd:"" help:"Show each payment page's script inventory, baseline and last check."`
	Baseline pagesBaselineCmd `cmd:"" help:"Record a payment page as served now as its approved baseline (audited with your name)."`
	Approve  pagesApproveCmd  `cmd:"" help:"Approve a changed payment page as its new baseline (audited with your name and reason)."`
	Check    pagesCheckCmd    `cmd:"" help:"Fetch every payment page through the upstream now and compare it with its baseline (exit 1 when one changed)."`
}

// maxPageReason bounds the reason an operator gives for a baseline or an approval.
const maxPageReason = 500

// pagesListCmd is `tokenwall pages list`.
type pagesListCmd struct {
	configFlag
	JSON bool `name:"json" help:"One JSON object a page."`
}

// pagesBaselineCmd is `tokenwall pages baseline`.
type pagesBaselineCmd struct {
	configFlag
	Page   string `arg:"" help:"The page's path, as in pages[].path."`
	Reason string `placeholder:"TEXT" help:"Why (required, 1 to 500 characters; recorded in the trail)."`
}

// pagesApproveCmd is `tokenwall pages approve`.
type pagesApproveCmd struct {
	configFlag
	Page   string `arg:"" help:"The page's path, as in pages[].path."`
	Reason string `placeholder:"TEXT" help:"Why the change is authorised (required, 1 to 500 characters; recorded in the trail)."`
}

// pagesCheckCmd is `tokenwall pages check`.
type pagesCheckCmd struct {
	configFlag
}

func validReason(reason string) error {
	if strings.TrimSpace(reason) == "" || len(reason) > maxPageReason {
		return fmt.Errorf("needs --reason (1 to %d characters): it is recorded in the trail", maxPageReason)
	}
	return nil
}

// Validate refuses a missing or overlong reason before anything is opened.
func (c *pagesBaselineCmd) Validate() error { return validReason(c.Reason) }

// Validate refuses a missing or overlong reason before anything is opened.
func (c *pagesApproveCmd) Validate() error { return validReason(c.Reason) }

func (c *pagesBaselineCmd) run(e cmdEnv) int {
	return withPages(e, c.configFlag, func(ctx context.Context, pa *app.PageAdmin, _ config.Config) int {
		return recordBaseline(ctx, pa, c.Page, c.Reason, false, e.stdout, e.stderr)
	})
}

func (c *pagesApproveCmd) run(e cmdEnv) int {
	return withPages(e, c.configFlag, func(ctx context.Context, pa *app.PageAdmin, _ config.Config) int {
		return recordBaseline(ctx, pa, c.Page, c.Reason, true, e.stdout, e.stderr)
	})
}

// recordBaseline records a baseline or an approval and prints what changed.
func recordBaseline(ctx context.Context, pa *app.PageAdmin, page, reason string, approve bool, stdout, stderr io.Writer) int {
	sum, changes, err := pa.Baseline(ctx, page, operator("cli"), reason, approve)
	switch {
	case errors.Is(err, app.ErrNothingToApprove):
		fmt.Fprintf(stderr, "tokenwall: %s matches its baseline: nothing to approve\n", page)
		return 1
	case err != nil:
		return fail(stderr, 1, err)
	}
	what, event := "baseline recorded", audit.EventPageBaseline
	if approve {
		what, event = "change approved", audit.EventPageApproved
	}
	fmt.Fprintf(stdout, "%s: %s is fingerprint %s (%s in the audit trail)\n", what, page, sum, event)
	for _, c := range changes {
		fmt.Fprintf(stdout, "  %s\n", c)
	}
	return 0
}

func (c *pagesCheckCmd) run(e cmdEnv) int {
	return withPages(e, c.configFlag, func(ctx context.Context, pa *app.PageAdmin, _ config.Config) int {
		outs, err := pa.Check(ctx, operator("cli"))
		code := 0
		for _, o := range outs {
			fmt.Fprintf(e.stdout, "%s: %s", o.Page, o.Result)
			if o.Fingerprint != "" {
				fmt.Fprintf(e.stdout, " (fingerprint %s)", o.Fingerprint)
			}
			if o.Err != nil {
				fmt.Fprintf(e.stdout, ": %v", o.Err)
			}
			fmt.Fprintln(e.stdout)
			for _, ch := range o.Changes {
				fmt.Fprintf(e.stdout, "  %s\n", ch)
			}
			if o.Result != "match" {
				code = 1
			}
		}
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		return code
	})
}

// pageJSON is one line of pages list --json.
type pageJSON struct {
	Path     string              `json:"path"`
	Mode     string              `json:"mode"`
	OnChange string              `json:"on_change"`
	Scripts  []config.PageScript `json:"scripts"`
	Baseline *baselineJSON       `json:"baseline,omitempty"`
	Changed  bool                `json:"changed"`
	Current  string              `json:"current_fingerprint,omitempty"`
	Since    *time.Time          `json:"since,omitempty"`
	Checked  *time.Time          `json:"last_check,omitempty"`
}

// baselineJSON is a page's baseline in pages list --json.
type baselineJSON struct {
	Fingerprint string    `json:"fingerprint"`
	ApprovedBy  string    `json:"approved_by"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
}

func (c *pagesListCmd) run(e cmdEnv) int {
	return withPages(e, c.configFlag, func(ctx context.Context, pa *app.PageAdmin, cfg config.Config) int {
		list, err := pa.List(ctx, cfg)
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		for _, l := range list {
			if c.JSON {
				if err := json.NewEncoder(e.stdout).Encode(listing(l)); err != nil {
					return fail(e.stderr, 2, err)
				}
				continue
			}
			printListing(e.stdout, l)
		}
		return 0
	})
}

// listing is l as pages list --json writes it.
func listing(l app.PageListing) pageJSON {
	j := pageJSON{Path: l.Config.Path, Mode: l.Config.Mode, OnChange: l.Config.OnChange, Scripts: l.Config.Scripts}
	if b := l.Baseline; b != nil {
		j.Baseline = &baselineJSON{Fingerprint: b.Fingerprint, ApprovedBy: b.ApprovedBy, Reason: b.Reason, At: b.At}
	}
	if s := l.State; s != nil {
		j.Changed, j.Current, j.Since = s.Changed, s.Fingerprint, &s.Since
		if !s.CheckedAt.IsZero() {
			j.Checked = &s.CheckedAt
		}
	}
	return j
}

// printListing writes one page for a reader.
func printListing(w io.Writer, l app.PageListing) {
	pc := l.Config
	fmt.Fprintf(w, "%s  mode %s, on change %s, %d scripts\n", pc.Path, pc.Mode, pc.OnChange, len(pc.Scripts))
	for _, s := range pc.Scripts {
		src := s.Src
		if s.Inline() {
			src = "inline"
		}
		fmt.Fprintf(w, "  script %s %s\n    why: %s\n    authorised by: %s\n", src, s.SHA384, s.Justification, s.AuthorisedBy)
	}
	if b := l.Baseline; b != nil {
		fmt.Fprintf(w, "  baseline %s by %s at %s: %s\n", b.Fingerprint, b.ApprovedBy, b.At.Format(time.RFC3339), b.Reason)
	} else {
		fmt.Fprintf(w, "  no baseline: run tokenwall pages baseline %s --reason …\n", pc.Path)
	}
	switch s := l.State; {
	case s == nil:
		fmt.Fprintln(w, "  never checked")
	case s.Changed:
		fmt.Fprintf(w, "  CHANGED since %s (fingerprint %s): approve with tokenwall pages approve %s --reason …\n", s.Since.Format(time.RFC3339), s.Fingerprint, pc.Path)
	default:
		fmt.Fprintf(w, "  matches its baseline\n")
	}
	if s := l.State; s != nil && !s.CheckedAt.IsZero() {
		fmt.Fprintf(w, "  last check %s\n", s.CheckedAt.Format(time.RFC3339))
	}
}

// withPages opens the store and a trail for a pages command, runs f and closes them (the
// trail's close writes a signed checkpoint). A config, Vault or store failure is exit 2.
func withPages(e cmdEnv, cf configFlag, f func(context.Context, *app.PageAdmin, config.Config) int) int {
	cfg, code := cf.load(e.stderr, 2)
	if code != 0 {
		return code
	}
	ac, st, err := openAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	defer st.Close()
	tr, err := ac.trail(st)
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	defer func() {
		if err := tr.Close(context.WithoutCancel(e.ctx)); err != nil {
			fmt.Fprintf(e.stderr, "tokenwall: audit checkpoint: %v\n", err)
		}
	}()
	pa, err := app.NewPageAdmin(cfg, store.Store(st), tr, zerolog.Nop())
	if err != nil {
		return fail(e.stderr, 2, err)
	}
	return f(e.ctx, pa, cfg)
}
