package report

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

// Modes of a payment page, as the configuration states them.
const (
	pageEnforce    = "enforce"
	pageReportOnly = "report-only"
)

// dispositionEnforce is the disposition of a violation the browser enforced.
const dispositionEnforce = "enforce"

// Kinds of a PageResolution.
const (
	ResolvedApproved = "approved"
	ResolvedReverted = "reverted"
)

// Names of the pages the audit trail names but the report cannot list one by one.
const (
	// OtherPages gathers the records of the pages the configuration does not name beyond
	// the first 32 of them.
	OtherPages = "(other pages)"
	// UnnamedPage gathers the records that name no page.
	UnnamedPage = "(no page named)"
)

// Bounds of what the payment-page evidence keeps from the audit trail. The records are
// tokenwall's, but what they quote (a blocked URL, a change, a page name) comes from browsers
// and pages, so nobody can grow the report, or Build's memory, by sending reports.
const (
	// maxPageText is how many bytes of any string taken from a record are kept.
	maxPageText = 500
	// maxPageChanges is how many changes are listed per page; the rest are counted.
	maxPageChanges = 100
	// maxPageViolations is how many violation groups are listed per page, the largest; the
	// rest are counted.
	maxPageViolations = 50
	// maxViolationGroups is how many distinct violation groups are counted apart per page;
	// the violations of further groups are counted together.
	maxViolationGroups = 256
	// maxExtraPages is how many pages the configuration does not name are kept apart; the
	// records of further ones go to OtherPages.
	maxExtraPages = 32
)

// PageInventory is one payment page as tokenwall's configuration states it.
type PageInventory struct {
	// Path is the page's URL path ("/checkout").
	Path string `json:"path"`
	// Mode is "enforce" or "report-only".
	Mode string `json:"mode"`
	// OnChange is "alert" or "block".
	OnChange string            `json:"on_change"`
	Scripts  []InventoryScript `json:"scripts"`
}

// InventoryScript is one script of a page's inventory (PCI DSS 6.4.3).
type InventoryScript struct {
	// Src is the script's URL; empty for an inline script.
	Src string `json:"src,omitempty"`
	// SHA384 is its Subresource Integrity value ("sha384-…").
	SHA384        string `json:"sha384"`
	Justification string `json:"justification"`
	AuthorisedBy  string `json:"authorised_by"`
}

// PageEvidence is one payment page: its inventory, its approved baseline, the checks and
// changes of it and the policy violations browsers reported, from the audit trail.
type PageEvidence struct {
	PageInventory
	// Configured is false for a page the audit trail names but the configuration does not
	// (or OtherPages, UnnamedPage): it is listed, not evaluated.
	Configured bool `json:"configured"`
	// Baseline is the page's last recorded or approved baseline up to the end of the
	// period; nil when it has none.
	Baseline *PageBaseline `json:"baseline,omitempty"`
	Checks   PageChecks    `json:"checks"`
	// Changes are the changes of the period and those still open at its start, in the
	// trail's order, at most 100; ChangesNotListed counts the rest.
	Changes          []PageChange `json:"changes"`
	ChangesNotListed int64        `json:"changes_not_listed,omitempty"`
	// Unresolved counts the changes open at the end of the period, listed or not.
	Unresolved int64 `json:"unresolved_changes"`
	// Violations are the period's violation groups, the largest first, at most 50; the
	// …NotListed fields count the rest.
	Violations []PageViolation `json:"violations"`
	// ViolationTotal counts every violation of the period; ViolationsEnforced those the
	// browser enforced (the script did not run).
	ViolationTotal           int64 `json:"violations_total"`
	ViolationsEnforced       int64 `json:"violations_enforced"`
	ViolationGroupsNotListed int64 `json:"violation_groups_not_listed,omitempty"`
	ViolationsNotListed      int64 `json:"violations_not_listed,omitempty"`
	// ViolationGroupsCapped says more groups were reported than are told apart (256):
	// ViolationGroupsNotListed is then a lower bound.
	ViolationGroupsCapped bool `json:"violation_groups_capped,omitempty"`
}

// PageBaseline is a page's approved baseline: who recorded or approved it, when and why.
type PageBaseline struct {
	Fingerprint string    `json:"fingerprint"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
	Reason      string    `json:"reason,omitempty"`
	// Event is audit.EventPageBaseline or audit.EventPageApproved.
	Event string `json:"event"`
}

// PageChecks are the checks of a page against its baseline.
type PageChecks struct {
	// InPeriod counts the period's checks, Failed those that did not match the baseline.
	InPeriod int64 `json:"in_period"`
	Failed   int64 `json:"failed"`
	// Last is the latest check up to the end of the period; nil when there was none.
	Last *time.Time `json:"last,omitempty"`
}

// PageChange is a page found different from its baseline, and how that was resolved.
type PageChange struct {
	At          time.Time `json:"at"`
	Fingerprint string    `json:"fingerprint"`
	// Changes says what changed, one change a line.
	Changes  string `json:"changes"`
	OnChange string `json:"on_change"`
	// BeforePeriod marks a change from before the period still open at its start.
	BeforePeriod bool `json:"before_period,omitempty"`
	// Resolution is nil while the change is open.
	Resolution *PageResolution `json:"resolution,omitempty"`
}

// PageResolution is what resolved a change: an approval of the page as served as its new
// baseline (ResolvedApproved), or the page served as its baseline again (ResolvedReverted).
type PageResolution struct {
	Kind   string    `json:"kind"`
	By     string    `json:"by,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Text says what resolved the change: "approved by X: reason" or "reverted to the baseline".
func (r PageResolution) Text() string {
	if r.Kind == ResolvedReverted {
		return "reverted to the baseline"
	}
	s := "approved by " + orUnknown(r.By)
	if r.Reason != "" {
		s += ": " + r.Reason
	}
	return s
}

// PageViolation is one group of policy violations browsers reported: the blocked source, the
// directive it broke and whether the browser enforced it, with how many there were.
type PageViolation struct {
	Blocked     string `json:"blocked"`
	Directive   string `json:"directive"`
	Disposition string `json:"disposition"`
	Count       int64  `json:"count"`
}

// violationKey groups violations.
type violationKey struct{ blocked, directive, disposition string }

// pageState is one page while the trail is read.
type pageState struct {
	ev PageEvidence
	// changes[openFrom:] are open: a resolution resolves every open change at once.
	changes  []PageChange
	openFrom int
	// Changes not listed: still open, from before the period (open at its start), in it.
	omittedOpen, omittedBefore, omittedIn int64
	groups                                map[violationKey]int64
	untracked                             int64
}

// pageTally gathers the payment-page evidence in Build's one pass over the trail: each
// record costs a map look-up and a few assignments; a resolution at most marks its page's
// listed changes, of which there are never more than 100.
type pageTally struct {
	from, to time.Time
	pages    map[string]*pageState
	order    []*pageState // configured pages, in the configuration's order
	extras   int
}

// newPageTally starts the evidence of the configured pages for the period [from, to).
func newPageTally(pages []PageInventory, from, to time.Time) *pageTally {
	t := &pageTally{from: from, to: to, pages: map[string]*pageState{}}
	for _, p := range pages {
		if _, dup := t.pages[p.Path]; dup {
			continue
		}
		s := &pageState{ev: PageEvidence{PageInventory: p, Configured: true}}
		t.pages[p.Path] = s
		t.order = append(t.order, s)
	}
	return t
}

// isPageEvent reports whether an event type is one of the payment-page events.
func isPageEvent(event string) bool {
	switch event {
	case audit.EventPageBaseline, audit.EventPageApproved, audit.EventPageChecked, audit.EventPageChanged,
		audit.EventPageReverted, audit.EventPageScriptBlocked:
		return true
	}
	return false
}

// page returns the state of the named page, creating an unconfigured one while there is
// room and OtherPages after.
func (t *pageTally) page(name string) *pageState {
	if s := t.pages[name]; s != nil {
		return s
	}
	if name != UnnamedPage {
		if t.extras >= maxExtraPages {
			name = OtherPages
			if s := t.pages[name]; s != nil {
				return s
			}
		} else {
			t.extras++
		}
	}
	s := &pageState{ev: PageEvidence{PageInventory: PageInventory{Path: name}}}
	t.pages[name] = s
	return s
}

// add reads one payment-page record (of any time: it skips those from the end of the period
// on).
func (t *pageTally) add(rec store.AuditRecord, det map[string]string) {
	if !rec.Time.Before(t.to) {
		return
	}
	name := clip(det[audit.DetailPage])
	if name == "" {
		name = UnnamedPage
	}
	p := t.page(name)
	in := !rec.Time.Before(t.from)
	at := rec.Time.UTC()
	switch rec.Event {
	case audit.EventPageBaseline, audit.EventPageApproved:
		b := &PageBaseline{Fingerprint: clip(det[audit.DetailFingerprint]), By: clip(rec.Actor), At: at,
			Reason: clip(det[audit.DetailReason]), Event: rec.Event}
		p.ev.Baseline = b
		p.resolve(PageResolution{Kind: ResolvedApproved, By: b.By, Reason: b.Reason, At: at}, in, t.from)
	case audit.EventPageReverted:
		p.resolve(PageResolution{Kind: ResolvedReverted, At: at}, in, t.from)
	case audit.EventPageChecked:
		if c := &p.ev.Checks; c.Last == nil || at.After(*c.Last) {
			c.Last = &at
		}
		if in {
			p.ev.Checks.InPeriod++
			if rec.Outcome != audit.Success {
				p.ev.Checks.Failed++
			}
		}
	case audit.EventPageChanged:
		p.change(PageChange{At: at, Fingerprint: clip(det[audit.DetailFingerprint]), Changes: clip(det[audit.DetailChanges]),
			OnChange: clip(det[audit.DetailOnChange]), BeforePeriod: !in}, in)
	case audit.EventPageScriptBlocked:
		if in {
			p.violation(violationKey{clip(det[audit.DetailBlocked]), clip(det[audit.DetailDirective]), clip(det[audit.DetailDisposition])},
				audit.Repeats(det))
		}
	}
}

// change lists a new open change, or counts it when the list is full.
func (p *pageState) change(c PageChange, in bool) {
	if len(p.changes) < maxPageChanges {
		p.changes = append(p.changes, c)
		return
	}
	p.omittedOpen++
	if in {
		p.omittedIn++
	} else {
		p.omittedBefore++
	}
}

// resolve resolves every open change. A resolution before the period drops the changes it
// resolved: they were closed before the period began.
func (p *pageState) resolve(r PageResolution, in bool, from time.Time) {
	for i := p.openFrom; i < len(p.changes); i++ {
		res := r
		p.changes[i].Resolution = &res
	}
	p.omittedOpen = 0
	if !in {
		// Records are read in sequence order; a change timed in the period but written
		// before this resolution stays listed.
		p.changes = slices.DeleteFunc(p.changes, func(c PageChange) bool { return c.At.Before(from) })
		p.omittedBefore = 0
	}
	p.openFrom = len(p.changes)
}

// violation counts n violations of group k.
func (p *pageState) violation(k violationKey, n int64) {
	p.ev.ViolationTotal += n
	if k.disposition == dispositionEnforce {
		p.ev.ViolationsEnforced += n
	}
	if _, ok := p.groups[k]; ok {
		p.groups[k] += n
		return
	}
	if len(p.groups) >= maxViolationGroups {
		p.untracked += n
		p.ev.ViolationGroupsCapped = true
		return
	}
	if p.groups == nil {
		p.groups = map[violationKey]int64{}
	}
	p.groups[k] = n
}

// evidence returns the pages: the configured ones in the configuration's order, then those
// only the trail names, by name, OtherPages and UnnamedPage last.
func (t *pageTally) evidence() []PageEvidence {
	var extra []*pageState
	for _, s := range t.pages {
		if !s.ev.Configured {
			extra = append(extra, s)
		}
	}
	rank := func(name string) int {
		switch name {
		case OtherPages:
			return 1
		case UnnamedPage:
			return 2
		}
		return 0
	}
	slices.SortFunc(extra, func(a, b *pageState) int {
		return cmp.Or(cmp.Compare(rank(a.ev.Path), rank(b.ev.Path)), strings.Compare(a.ev.Path, b.ev.Path))
	})
	out := make([]PageEvidence, 0, len(t.order)+len(extra))
	for _, s := range append(slices.Clip(t.order), extra...) {
		out = append(out, s.finish())
	}
	return out
}

// finish completes a page's evidence: its changes, their counts and the largest violation
// groups.
func (p *pageState) finish() PageEvidence {
	ev := p.ev
	ev.Changes = p.changes
	ev.ChangesNotListed = p.omittedBefore + p.omittedIn
	ev.Unresolved = int64(len(p.changes)-p.openFrom) + p.omittedOpen
	groups := make([]PageViolation, 0, len(p.groups))
	for k, n := range p.groups {
		groups = append(groups, PageViolation{Blocked: k.blocked, Directive: k.directive, Disposition: k.disposition, Count: n})
	}
	slices.SortFunc(groups, func(a, b PageViolation) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Blocked, b.Blocked),
			strings.Compare(a.Directive, b.Directive), strings.Compare(a.Disposition, b.Disposition))
	})
	ev.ViolationsNotListed = p.untracked
	if len(groups) > maxPageViolations {
		for _, g := range groups[maxPageViolations:] {
			ev.ViolationsNotListed += g.Count
		}
		ev.ViolationGroupsNotListed = int64(len(groups) - maxPageViolations)
		groups = groups[:maxPageViolations]
	}
	if p.untracked > 0 {
		ev.ViolationGroupsNotListed++ // at least one group was not told apart
	}
	ev.Violations = groups
	return ev
}

// clip cuts s to at most maxPageText bytes, on a character boundary, marking the cut.
func clip(s string) string {
	if len(s) <= maxPageText {
		return s
	}
	const mark = "…"
	cut := maxPageText - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}
