package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// The period of the payment-page tests: November 2026, reported on at its end.
var (
	pgFrom = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	pgTo   = pgFrom.AddDate(0, 1, 0)
)

const (
	pgBase    = "aa11bb22cc33dd44ee55ff66aa77bb88cc99dd00ee11ff22aa33bb44cc55dd66"
	pgChanged = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
	pgAdmin   = "admin:cli:jane"
)

// pageRec writes one record of a test trail at a time.
type pageRec func(at time.Time, ev audit.Event)

// buildPages writes a trail with write and builds the period's report with pages.
func buildPages(t *testing.T, pages []report.PageInventory, write func(rec pageRec)) report.Report {
	t.Helper()
	p := filepath.Join(testkit.ArtifactsDir(t), "pages.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(p + sfx)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, auditKey, 1), nil },
		Signer: newSigner(t), CheckpointEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	write(func(at time.Time, ev audit.Event) {
		ev.Time = at
		if ev.Actor == "" {
			ev.Actor = audit.ActorSystem
		}
		if ev.Outcome == "" {
			ev.Outcome = audit.Success
		}
		if err := tr.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	})
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(ctx, report.Inputs{From: pgFrom, To: pgTo, Now: pgTo, ID: "rep_pages", Host: "test",
		Store: st, RetentionDays: 400, CryptoperiodDays: 365, Pages: pages})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkoutPage is a well-kept page: enforced, every script justified and authorised.
func checkoutPage() report.PageInventory {
	return report.PageInventory{Path: "/checkout", Mode: "enforce", OnChange: "alert", Scripts: []report.InventoryScript{
		{Src: "https://js.stripe.com/v3/", SHA384: "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC",
			Justification: "Stripe.js collects the card", AuthorisedBy: "Jane Roe"},
		{SHA384: "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO", Justification: "starts the form", AuthorisedBy: "Jane Roe"},
	}}
}

// Records of the test trail, all about /checkout unless page says otherwise.
func baselineEv(page, fp string) audit.Event {
	return audit.Event{Type: audit.EventPageBaseline, Actor: pgAdmin,
		Details: map[string]string{audit.DetailPage: page, audit.DetailFingerprint: fp, audit.DetailReason: "first baseline"}}
}

func approvedEv(fp, reason string) audit.Event {
	return audit.Event{Type: audit.EventPageApproved, Actor: pgAdmin,
		Details: map[string]string{audit.DetailPage: "/checkout", audit.DetailFingerprint: fp, audit.DetailPrevious: pgBase, audit.DetailReason: reason}}
}

func checkedEv(page string, ok bool) audit.Event {
	ev := audit.Event{Type: audit.EventPageChecked, Details: map[string]string{audit.DetailPage: page, audit.DetailTrigger: "schedule"}}
	if !ok {
		ev.Outcome, ev.Reason = audit.Failure, audit.ReasonPageChanged
	}
	return ev
}

func changedEv(page, fp string) audit.Event {
	return audit.Event{Type: audit.EventPageChanged, Outcome: audit.Failure, Reason: audit.ReasonPageChanged,
		Details: map[string]string{audit.DetailPage: page, audit.DetailFingerprint: fp, audit.DetailOnChange: "alert",
			audit.DetailChanges: "script added: https://cdn.example/x.js\nheader changed: content-security-policy"}}
}

func revertedEv() audit.Event {
	return audit.Event{Type: audit.EventPageReverted, Details: map[string]string{audit.DetailPage: "/checkout", audit.DetailFingerprint: pgBase}}
}

func blockedEv(page, blocked string, count int) audit.Event {
	det := map[string]string{audit.DetailPage: page, audit.DetailBlocked: blocked, audit.DetailDirective: "script-src-elem", audit.DetailDisposition: "enforce"}
	if count > 1 {
		det[audit.DetailCount] = fmt.Sprint(count)
	}
	return audit.Event{Type: audit.EventPageScriptBlocked, Actor: audit.ActorAnonymous, Outcome: audit.Failure, Reason: audit.ReasonCSPViolation, Details: det}
}

// cleanTrail gives /checkout a baseline before the period and a check each day of it.
func cleanTrail(rec pageRec) {
	rec(pgFrom.AddDate(0, 0, -10), baselineEv("/checkout", pgBase))
	for d := range 30 {
		rec(pgFrom.AddDate(0, 0, d).Add(6*time.Hour), checkedEv("/checkout", true))
	}
}

// requirement returns the requirement id of r.
func requirement(t *testing.T, r report.Report, id string) report.Requirement {
	t.Helper()
	for _, q := range r.Requirements {
		if q.ID == id {
			return q
		}
	}
	t.Fatalf("no requirement %s", id)
	return report.Requirement{}
}

func TestBuildPaymentPages(t *testing.T) {
	day := func(d, h int) time.Time { return pgFrom.AddDate(0, 0, d-1).Add(time.Duration(h) * time.Hour) }
	tests := []struct {
		name    string
		pages   func() []report.PageInventory
		trail   func(rec pageRec)
		want643 string
		want116 string
		// Evidence lines each requirement must hold (substrings).
		lines643, lines116 []string
		check              func(t *testing.T, p report.PageEvidence)
	}{
		{name: "no pages", pages: func() []report.PageInventory { return nil }, trail: func(pageRec) {},
			want643: report.NA, want116: report.NA,
			lines643: []string{"no payment page is configured"}, lines116: []string{"no payment page is configured"}},
		{name: "no pages but the trail names one", pages: func() []report.PageInventory { return nil },
			trail:   func(rec pageRec) { rec(day(3, 1), checkedEv("/gone", true)) },
			want643: report.NA, want116: report.NA,
			lines643: []string{"page /gone is named by the audit trail but not configured"}},
		{name: "clean page", trail: cleanTrail, want643: report.Pass, want116: report.Pass,
			lines643: []string{"page /checkout: mode enforce, the browser runs only the 2 script(s) of its inventory",
				"page /checkout script https://js.stripe.com/v3/ (sha384-oqVu", "Stripe.js collects the card; authorised by Jane Roe",
				"page /checkout script inline sha384-H8BR", "page /checkout baseline aa11bb22cc33dd44… recorded by admin:cli:jane at 2026-10-22 00:00:00 UTC: first baseline",
				"page /checkout: no policy violation reported by browsers in the period"},
			lines116: []string{"page /checkout: 30 check(s) in the period, 0 failed; last check 2026-11-30 06:00:00 UTC",
				"page /checkout: no change detected in the period"},
			check: func(t *testing.T, p report.PageEvidence) {
				if !p.Configured || p.Baseline == nil || p.Baseline.Fingerprint != pgBase || p.Checks.InPeriod != 30 || len(p.Changes) != 0 {
					t.Errorf("evidence %+v", p)
				}
			}},
		{name: "report-only", pages: func() []report.PageInventory {
			p := checkoutPage()
			p.Mode = "report-only"
			return []report.PageInventory{p}
		}, trail: cleanTrail, want643: report.Fail, want116: report.Pass,
			lines643: []string{"page /checkout: mode report-only: scripts outside its inventory of 2 script(s) run"}},
		{name: "missing justification", pages: func() []report.PageInventory {
			p := checkoutPage()
			p.Scripts[1].Justification = "  "
			return []report.PageInventory{p}
		}, trail: cleanTrail, want643: report.Fail, want116: report.Pass, lines643: []string{"NO justification; authorised by Jane Roe"}},
		{name: "missing authoriser", pages: func() []report.PageInventory {
			p := checkoutPage()
			p.Scripts[0].AuthorisedBy = ""
			return []report.PageInventory{p}
		}, trail: cleanTrail, want643: report.Fail, want116: report.Pass, lines643: []string{"Stripe.js collects the card; NOT authorised"}},
		{name: "no baseline", trail: func(rec pageRec) {
			rec(day(29, 1), checkedEv("/checkout", false))
		}, want643: report.Fail, want116: report.Pass, lines643: []string{"page /checkout has NO approved baseline"},
			lines116: []string{"1 check(s) in the period, 1 failed"}},
		{name: "baseline after the period", trail: func(rec pageRec) {
			rec(day(29, 1), checkedEv("/checkout", true))
			rec(pgTo.Add(time.Hour), baselineEv("/checkout", pgBase))
		}, want643: report.Fail, want116: report.Pass},
		{name: "last check 8 days old", trail: func(rec pageRec) {
			rec(pgFrom.AddDate(0, 0, -10), baselineEv("/checkout", pgBase))
			rec(pgTo.AddDate(0, 0, -8), checkedEv("/checkout", true))
		}, want643: report.Pass, want116: report.Fail, lines116: []string{"its last check is more than 7 days before the end of the period"}},
		{name: "never checked", trail: func(rec pageRec) {
			rec(pgFrom.AddDate(0, 0, -10), baselineEv("/checkout", pgBase))
		}, want643: report.Pass, want116: report.Fail, lines116: []string{"page /checkout was never checked"}},
		{name: "change then approval", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(day(12, 8), changedEv("/checkout", pgChanged))
			rec(day(12, 9), approvedEv(pgChanged, "new Stripe.js"))
		}, want643: report.Pass, want116: report.Pass,
			lines643: []string{"page /checkout baseline ffeeddccbbaa9988… approved by admin:cli:jane at 2026-11-12 09:00:00 UTC: new Stripe.js"},
			lines116: []string{"page /checkout changed at 2026-11-12 08:00:00 UTC (fingerprint ffeeddccbbaa9988…, on change: alert): " +
				"script added: https://cdn.example/x.js; header changed: content-security-policy; approved by admin:cli:jane: new Stripe.js at 2026-11-12 09:00:00 UTC"},
			check: func(t *testing.T, p report.PageEvidence) {
				if len(p.Changes) != 1 || p.Changes[0].Resolution == nil || p.Changes[0].Resolution.Kind != report.ResolvedApproved || p.Unresolved != 0 {
					t.Errorf("changes %+v", p.Changes)
				}
			}},
		{name: "change then revert", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(day(5, 8), changedEv("/checkout", pgChanged))
			rec(day(5, 10), revertedEv())
		}, want643: report.Pass, want116: report.Pass, lines116: []string{"reverted to the baseline at 2026-11-05 10:00:00 UTC"}},
		{name: "unresolved change", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(day(20, 8), changedEv("/checkout", pgChanged))
		}, want643: report.Pass, want116: report.Fail,
			lines116: []string{"UNRESOLVED at the end of the period", "page /checkout: 1 change(s) UNRESOLVED at the end of the period"}},
		{name: "resolved after the period", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(day(20, 8), changedEv("/checkout", pgChanged))
			rec(pgTo.Add(time.Hour), revertedEv())
		}, want643: report.Pass, want116: report.Fail},
		{name: "change before the period still open", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(pgFrom.AddDate(0, 0, -3), changedEv("/checkout", pgChanged))
		}, want643: report.Pass, want116: report.Fail,
			lines116: []string{"page /checkout changed before the period, at 2026-10-29 00:00:00 UTC, still open at its start"},
			check: func(t *testing.T, p report.PageEvidence) {
				if len(p.Changes) != 1 || !p.Changes[0].BeforePeriod || p.Unresolved != 1 {
					t.Errorf("changes %+v unresolved %d", p.Changes, p.Unresolved)
				}
			}},
		{name: "change before the period resolved in it", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(pgFrom.AddDate(0, 0, -3), changedEv("/checkout", pgChanged))
			rec(day(2, 0), revertedEv())
		}, want643: report.Pass, want116: report.Pass, lines116: []string{"still open at its start", "reverted to the baseline at 2026-11-02"}},
		{name: "change before the period resolved before it", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(pgFrom.AddDate(0, 0, -3), changedEv("/checkout", pgChanged))
			rec(pgFrom.AddDate(0, 0, -2), revertedEv())
		}, want643: report.Pass, want116: report.Pass, lines116: []string{"page /checkout: no change detected in the period"}},
		{name: "aggregated violations", trail: func(rec pageRec) {
			cleanTrail(rec)
			rec(day(7, 3), blockedEv("/checkout", "https://evil.example", 7))
			rec(day(8, 3), blockedEv("/checkout", "https://evil.example", 1))
			rec(pgFrom.Add(-time.Hour), blockedEv("/checkout", "https://evil.example", 100)) // before the period
		}, want643: report.Pass, want116: report.Pass,
			lines643: []string{"page /checkout: 8 policy violation(s) reported by browsers in the period",
				"page /checkout: https://evil.example blocked under script-src-elem (enforce): 8", "page /checkout: scripts refused by the browser: 8"},
			check: func(t *testing.T, p report.PageEvidence) {
				if p.ViolationTotal != 8 || p.ViolationsEnforced != 8 || len(p.Violations) != 1 || p.Violations[0].Count != 8 {
					t.Errorf("violations %+v total %d", p.Violations, p.ViolationTotal)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pages := []report.PageInventory{checkoutPage()}
			if tc.pages != nil {
				pages = tc.pages()
			}
			r := buildPages(t, pages, tc.trail)
			for _, c := range []struct {
				id, want string
				lines    []string
			}{{"6.4.3", tc.want643, tc.lines643}, {"11.6.1", tc.want116, tc.lines116}} {
				q := requirement(t, r, c.id)
				if q.Status != c.want {
					t.Errorf("%s = %s, want %s: %q", c.id, q.Status, c.want, q.Evidence)
				}
				all := strings.Join(q.Evidence, "\n")
				for _, l := range c.lines {
					if !strings.Contains(all, l) {
						t.Errorf("%s evidence lacks %q:\n%s", c.id, l, all)
					}
				}
			}
			if tc.check != nil {
				if len(r.Evidence.Pages) == 0 {
					t.Fatal("no page evidence")
				}
				tc.check(t, r.Evidence.Pages[0])
			}
		})
	}
}

// TestBuildPaymentPagesBounds: what browsers and pages put into records cannot grow the
// report without bound: groups, changes, pages and strings are cut, and what was cut is
// counted.
func TestBuildPaymentPagesBounds(t *testing.T) {
	at := pgFrom.Add(24 * time.Hour)
	pay := report.PageInventory{Path: "/pay", Mode: "enforce", OnChange: "block"}
	r := buildPages(t, []report.PageInventory{checkoutPage(), pay}, func(rec pageRec) {
		cleanTrail(rec)
		for i := range 60 { // group i has i+1 violations
			rec(at, blockedEv("/checkout", fmt.Sprintf("https://src-%02d.example", i), i+1))
		}
		rec(at, blockedEv("/pay", strings.Repeat("a", 2000), 1)) // listed: sorts first
		rec(at, blockedEv("/pay", strings.Repeat("é", 1000), 1))
		for i := range 300 {
			rec(at, blockedEv("/pay", fmt.Sprintf("https://pay-%03d.example", i), 1))
		}
		for i := range 120 {
			rec(at.Add(time.Duration(i)*time.Minute), changedEv("/checkout", fmt.Sprintf("fp-%03d", i)))
		}
		for i := range 40 {
			rec(at, checkedEv(fmt.Sprintf("/extra-%02d", i), true))
		}
		rec(at, checkedEv("", true))
	})

	pages := r.Evidence.Pages
	if len(pages) != 2+32+2 {
		t.Fatalf("%d pages, want the 2 configured, 32 others, %q and %q", len(pages), report.OtherPages, report.UnnamedPage)
	}
	checkout, payEv := pages[0], pages[1]
	if checkout.Path != "/checkout" || payEv.Path != "/pay" || pages[2].Path != "/extra-00" || pages[2].Configured {
		t.Errorf("pages in the wrong order: %s, %s, %s", checkout.Path, payEv.Path, pages[2].Path)
	}
	if other := pages[34]; other.Path != report.OtherPages || other.Checks.InPeriod != 8 {
		t.Errorf("other pages %+v, want 8 checks", other)
	}
	if unnamed := pages[35]; unnamed.Path != report.UnnamedPage || unnamed.Checks.InPeriod != 1 {
		t.Errorf("unnamed page %+v, want 1 check", unnamed)
	}

	// 60 groups: the 50 largest listed, the 10 smallest (1+…+10 violations) counted.
	if len(checkout.Violations) != 50 || checkout.Violations[0].Count != 60 || checkout.Violations[49].Count != 11 ||
		checkout.ViolationGroupsNotListed != 10 || checkout.ViolationsNotListed != 55 || checkout.ViolationTotal != 60*61/2 || checkout.ViolationGroupsCapped {
		t.Errorf("checkout violations: %d listed (first %+v), %d groups and %d violations not listed, total %d",
			len(checkout.Violations), checkout.Violations[0], checkout.ViolationGroupsNotListed, checkout.ViolationsNotListed, checkout.ViolationTotal)
	}
	// 302 groups: 256 told apart, 50 of them listed.
	if len(payEv.Violations) != 50 || !payEv.ViolationGroupsCapped || payEv.ViolationGroupsNotListed != 256-50+1 ||
		payEv.ViolationsNotListed != 302-50 || payEv.ViolationTotal != 302 {
		t.Errorf("pay violations: %d listed, %d groups (capped %v) and %d violations not listed, total %d",
			len(payEv.Violations), payEv.ViolationGroupsNotListed, payEv.ViolationGroupsCapped, payEv.ViolationsNotListed, payEv.ViolationTotal)
	}
	// 120 open changes: 100 listed, all 120 unresolved.
	if len(checkout.Changes) != 100 || checkout.ChangesNotListed != 20 || checkout.Unresolved != 120 {
		t.Errorf("changes: %d listed, %d not listed, %d unresolved", len(checkout.Changes), checkout.ChangesNotListed, checkout.Unresolved)
	}
	if b := payEv.Violations[0].Blocked; !strings.HasPrefix(b, "aaa") || len(b) > 500 {
		t.Errorf("the long blocked source is not listed first, cut: %d bytes", len(b))
	}
	for _, p := range pages {
		for _, v := range p.Violations {
			if len(v.Blocked) > 500 || !utf8.ValidString(v.Blocked) {
				t.Errorf("blocked source of %d bytes kept (valid UTF-8: %v)", len(v.Blocked), utf8.ValidString(v.Blocked))
			}
		}
	}

	q643, q116 := requirement(t, r, "6.4.3"), requirement(t, r, "11.6.1")
	for _, c := range []struct {
		q    report.Requirement
		want string
	}{
		{q643, "page /checkout: 10 more group(s) not listed (55 violation(s))"},
		{q643, "page /pay: at least 207 more group(s) not listed (252 violation(s))"},
		{q643, "page /checkout: scripts refused by the browser: 1830"},
		{q643, "page /extra-00 is named by the audit trail but not configured"},
		{q116, "page /checkout: 20 more change(s) not listed"},
		{q116, "page /checkout: 120 change(s) UNRESOLVED at the end of the period"},
	} {
		if !strings.Contains(strings.Join(c.q.Evidence, "\n"), c.want) {
			t.Errorf("%s evidence lacks %q", c.q.ID, c.want)
		}
	}
	if q116.Status != report.Fail {
		t.Errorf("11.6.1 = %s with open changes, want FAIL", q116.Status)
	}
	if n := len(q643.Evidence); n > 300 {
		t.Errorf("6.4.3 has %d evidence lines", n)
	}
}

// TestPaymentPagesJSON: the JSON form carries the pages; it stays format version 1.
func TestPaymentPagesJSON(t *testing.T) {
	r := buildPages(t, []report.PageInventory{checkoutPage()}, func(rec pageRec) {
		cleanTrail(rec)
		rec(pgFrom.Add(time.Hour), changedEv("/checkout", pgChanged))
		rec(pgFrom.Add(2*time.Hour), approvedEv(pgChanged, "ok"))
	})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"format_version":1`, `"payment_pages":[{"path":"/checkout","mode":"enforce"`, `"justification":"Stripe.js collects the card"`,
		`"resolution":{"kind":"approved","by":"admin:cli:jane","reason":"ok"`, `"checks":{"in_period":30,"failed":0,"last":"2026-11-30T06:00:00Z"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	var back report.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Evidence.Pages) != 1 || back.Evidence.Pages[0].Changes[0].Resolution.By != pgAdmin {
		t.Errorf("pages after a round trip: %+v", back.Evidence.Pages)
	}
}
