package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit"
)

const (
	title643  = "Payment-page scripts are inventoried, authorised and integrity-checked"
	title1161 = "Changes to payment pages are detected and alerted"
	// pageCheckMaxAge is PCI DSS 11.6.1's "at least once weekly".
	pageCheckMaxAge = 7 * 24 * time.Hour
	// fingerprintShown is how many hex digits of a fingerprint the evidence quotes.
	fingerprintShown = 16
)

// configuredPages splits the pages into the configured ones, which are evaluated, and those
// only the audit trail names.
func configuredPages(pages []PageEvidence) (configured, extra []PageEvidence) {
	for _, p := range pages {
		if p.Configured {
			configured = append(configured, p)
		} else {
			extra = append(extra, p)
		}
	}
	return configured, extra
}

// extraPageLines says which pages the trail names that the configuration does not.
func extraPageLines(extra []PageEvidence) []string {
	var lines []string
	for _, p := range extra {
		lines = append(lines, fmt.Sprintf("page %s is named by the audit trail but not configured: its records are listed, not evaluated", p.Path))
	}
	return lines
}

// shortFingerprint is the start of a fingerprint, enough to tell baselines apart.
func shortFingerprint(fp string) string {
	if fp == "" {
		return "(none)"
	}
	if r := []rune(fp); len(r) > fingerprintShown {
		return string(r[:fingerprintShown]) + "…"
	}
	return fp
}

// isBlank reports whether s says nothing.
func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

// scriptName names an inventory script: its URL and integrity value, or "inline" and its
// integrity value.
func scriptName(s InventoryScript) string {
	sri := s.SHA384
	if sri == "" {
		sri = "no integrity value"
	}
	if s.Src == "" {
		return "inline " + sri
	}
	return s.Src + " (" + sri + ")"
}

func req643(pages []PageEvidence) Requirement {
	configured, extra := configuredPages(pages)
	if len(configured) == 0 {
		return Requirement{ID: "6.4.3", Title: title643, Status: NA,
			Evidence: append([]string{"no payment page is configured: tokenwall guards no page's scripts"}, extraPageLines(extra)...)}
	}
	ok := true
	var lines []string
	for _, p := range configured {
		if p.Mode == pageEnforce {
			lines = append(lines, fmt.Sprintf("page %s: mode enforce, the browser runs only the %d script(s) of its inventory", p.Path, len(p.Scripts)))
		} else {
			ok = false
			lines = append(lines, fmt.Sprintf("page %s: mode %s: scripts outside its inventory of %d script(s) run, they are only reported",
				p.Path, orUnknown(p.Mode), len(p.Scripts)))
		}
		for _, s := range p.Scripts {
			why, by := s.Justification, "authorised by "+s.AuthorisedBy
			if isBlank(why) {
				ok, why = false, "NO justification"
			}
			if isBlank(s.AuthorisedBy) {
				ok, by = false, "NOT authorised: nobody is named"
			}
			if s.SHA384 == "" {
				ok = false
			}
			lines = append(lines, fmt.Sprintf("page %s script %s: %s; %s", p.Path, scriptName(s), why, by))
		}
		if b := p.Baseline; b != nil {
			how := "recorded"
			if b.Event == audit.EventPageApproved {
				how = "approved"
			}
			line := fmt.Sprintf("page %s baseline %s %s by %s at %s", p.Path, shortFingerprint(b.Fingerprint), how, orUnknown(b.By), formatTime(b.At))
			if b.Reason != "" {
				line += ": " + b.Reason
			}
			lines = append(lines, line)
		} else {
			ok = false
			lines = append(lines, fmt.Sprintf("page %s has NO approved baseline: its integrity cannot be checked", p.Path))
		}
		lines = append(lines, violationLines(p)...)
	}
	return Requirement{ID: "6.4.3", Title: title643, Status: status(ok), Evidence: append(lines, extraPageLines(extra)...)}
}

// violationLines lists a page's violations of the period by blocked source and directive,
// with their total.
func violationLines(p PageEvidence) []string {
	if p.ViolationTotal == 0 {
		return []string{fmt.Sprintf("page %s: no policy violation reported by browsers in the period", p.Path)}
	}
	lines := []string{fmt.Sprintf("page %s: %d policy violation(s) reported by browsers in the period", p.Path, p.ViolationTotal)}
	for _, v := range p.Violations {
		lines = append(lines, fmt.Sprintf("page %s: %s blocked under %s (%s): %d", p.Path, orUnknown(v.Blocked), orUnknown(v.Directive), orUnknown(v.Disposition), v.Count))
	}
	if p.ViolationGroupsNotListed > 0 {
		atLeast := ""
		if p.ViolationGroupsCapped {
			atLeast = "at least "
		}
		lines = append(lines, fmt.Sprintf("page %s: %s%d more group(s) not listed (%d violation(s))", p.Path, atLeast, p.ViolationGroupsNotListed, p.ViolationsNotListed))
	}
	if p.Mode == pageEnforce {
		lines = append(lines, fmt.Sprintf("page %s: scripts refused by the browser: %d", p.Path, p.ViolationsEnforced))
	}
	return lines
}

func req1161(pages []PageEvidence, to time.Time) Requirement {
	configured, extra := configuredPages(pages)
	if len(configured) == 0 {
		return Requirement{ID: "11.6.1", Title: title1161, Status: NA,
			Evidence: append([]string{"no payment page is configured: there is no page to watch for changes"}, extraPageLines(extra)...)}
	}
	ok := true
	var lines []string
	for _, p := range configured {
		c := p.Checks
		last := "never checked"
		if c.Last != nil {
			last = "last check " + formatTime(*c.Last)
		}
		lines = append(lines, fmt.Sprintf("page %s: %d check(s) in the period, %d failed; %s", p.Path, c.InPeriod, c.Failed, last))
		switch {
		case c.Last == nil:
			ok = false
			lines = append(lines, fmt.Sprintf("page %s was never checked: changes to it are not detected", p.Path))
		case c.Last.Before(to.Add(-pageCheckMaxAge)):
			ok = false
			lines = append(lines, fmt.Sprintf("page %s: its last check is more than 7 days before the end of the period (at least weekly is required)", p.Path))
		}
		lines = append(lines, changeLines(p)...)
		if p.Unresolved > 0 {
			ok = false
			lines = append(lines, fmt.Sprintf("page %s: %d change(s) UNRESOLVED at the end of the period", p.Path, p.Unresolved))
		}
	}
	return Requirement{ID: "11.6.1", Title: title1161, Status: status(ok), Evidence: append(lines, extraPageLines(extra)...)}
}

// changeLines lists a page's changes with what resolved them.
func changeLines(p PageEvidence) []string {
	if len(p.Changes) == 0 && p.ChangesNotListed == 0 {
		return []string{fmt.Sprintf("page %s: no change detected in the period", p.Path)}
	}
	var lines []string
	for _, c := range p.Changes {
		when := "at " + formatTime(c.At)
		if c.BeforePeriod {
			when = "before the period, at " + formatTime(c.At) + ", still open at its start"
		}
		res := "UNRESOLVED at the end of the period"
		if r := c.Resolution; r != nil {
			res = r.Text() + " at " + formatTime(r.At)
		}
		what := strings.Join(changeList(c.Changes), "; ")
		if what == "" {
			what = "(no changes described)"
		}
		lines = append(lines, fmt.Sprintf("page %s changed %s (fingerprint %s, on change: %s): %s; %s",
			p.Path, when, shortFingerprint(c.Fingerprint), orUnknown(c.OnChange), what, res))
	}
	if p.ChangesNotListed > 0 {
		lines = append(lines, fmt.Sprintf("page %s: %d more change(s) not listed", p.Path, p.ChangesNotListed))
	}
	return lines
}

// changeList splits a change record's text into its lines, blank ones dropped.
func changeList(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
