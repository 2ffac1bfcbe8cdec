package pages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

// CheckLease is the name of the scheduled check's lease: with several replicas on one
// store, one of them checks per interval.
const CheckLease = "page-check"

// Triggers of a check (DetailTrigger).
const (
	TriggerScheduled = "scheduled"
	TriggerOperator  = "operator"
)

// Outcome is one page's check.
type Outcome struct {
	Page        string
	Fingerprint string
	// Result is "match", "changed" or "failed".
	Result  string
	Changes []string
	Err     error
}

// Results of a check.
const (
	ResultMatch   = "match"
	ResultChanged = "changed"
	ResultFailed  = "failed"
)

// current fetches pg through the upstream as a browser would get it and returns its
// fingerprint, the scripts' hashes fetched fresh.
func (w *Watcher) current(ctx context.Context, pg *Page) (Fingerprint, error) {
	resp, err := w.o.Fetch(ctx, pg.Config.Path)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("pages: fetch %s: %w", pg.Config.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Fingerprint{}, fmt.Errorf("pages: %s answered %d", pg.Config.Path, resp.StatusCode)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return Fingerprint{}, fmt.Errorf("pages: %s came encoded (%s) although identity was asked for", pg.Config.Path, ce)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" {
		return Fingerprint{}, fmt.Errorf("pages: %s is not text/html", pg.Config.Path)
	}
	w.Apply(resp.Header, pg, "check")
	res, err := Rewrite(io.Discard, resp.Body, pg.Inv, w.PageURL(pg.Config.Path), "check", w.o.MaxPageBytes)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("pages: read %s: %w", pg.Config.Path, err)
	}
	return w.fingerprint(ctx, pg, Headers(resp.Header), res, true), nil
}

// Check fetches every payment page through the upstream, compares it with its baseline and
// writes one page_checked record per page (actor: audit.ActorSystem for the scheduled
// check, the operator otherwise).
func (w *Watcher) Check(ctx context.Context, trigger, actor string) ([]Outcome, error) {
	var out []Outcome
	var errs error
	for _, path := range slices.Sorted(maps.Keys(w.pages)) {
		pg := w.pages[path]
		o := w.checkPage(ctx, pg)
		ev := audit.Event{Type: audit.EventPageChecked, Actor: actor, Outcome: audit.Success, Resource: "page:" + path,
			Details: map[string]string{audit.DetailPage: path, audit.DetailTrigger: trigger}}
		if o.Fingerprint != "" {
			ev.Details[audit.DetailFingerprint] = o.Fingerprint
		}
		switch o.Result {
		case ResultChanged:
			ev.Outcome, ev.Reason = audit.Failure, audit.ReasonPageChanged
			if st, err := w.state(ctx, pg, false); err == nil && st.noBaseline {
				ev.Reason = audit.ReasonNoBaseline
			}
		case ResultFailed:
			ev.Outcome, ev.Reason = audit.Failure, audit.ReasonFetchFailed
		}
		if err := w.o.Recorder.Record(ctx, ev); err != nil {
			errs = errors.Join(errs, err)
		}
		w.o.Signals.PageCheck(path, o.Result, true, w.o.Now())
		out = append(out, o)
	}
	return out, errs
}

// checkPage fetches and compares one page.
func (w *Watcher) checkPage(ctx context.Context, pg *Page) Outcome {
	o := Outcome{Page: pg.Config.Path}
	fp, err := w.current(ctx, pg)
	if err != nil {
		o.Result, o.Err = ResultFailed, err
		return o
	}
	o.Fingerprint = fp.Sum()
	changed, err := w.compare(ctx, pg, fp, w.o.Now().UTC())
	switch {
	case err != nil:
		o.Result, o.Err = ResultFailed, err
	case changed:
		o.Result = ResultChanged
		if st, err := w.state(ctx, pg, false); err == nil && !st.noBaseline {
			o.Changes = Diff(st.baseDoc, fp)
		}
	default:
		o.Result = ResultMatch
	}
	return o
}

// Run runs the scheduled check until ctx ends: every interval one replica (the holder of
// CheckLease) checks every page. The first check runs at start unless another replica's
// lease is still running.
func (w *Watcher) Run(ctx context.Context) {
	if len(w.pages) == 0 {
		return
	}
	for {
		var tick time.Duration
		now := w.o.Now()
		ok, err := w.o.Store.ClaimLease(ctx, CheckLease, w.o.Holder, now, now.Add(w.o.Interval))
		if err != nil && ctx.Err() == nil {
			w.o.Log.Error().Err(err).Msg("payment pages: claiming the check's lease failed")
		}
		if ok {
			if _, err := w.Check(ctx, TriggerScheduled, audit.ActorSystem); err != nil && ctx.Err() == nil {
				w.o.Log.Error().Err(err).Msg("payment pages: the scheduled check could not record its results")
			}
			// Sleep the whole interval: the lease ends then, and this replica claims it again.
			tick = w.o.Interval
		} else {
			tick = min(max(w.o.Interval/4, 15*time.Second), w.o.Interval)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(tick):
		}
	}
}

// Baseline fetches pg as served now and records it as its approved baseline: with approve
// false as an initial baseline (page_baseline), with approve true as the approval of a
// changed page (page_approved, refused with ErrNothingToApprove when it matches). The record
// names actor (the operator) and reason, and is written before the baseline. It returns the
// fingerprint recorded and what changed against the previous baseline.
func (w *Watcher) Baseline(ctx context.Context, path, actor, reason string, approve bool) (Fingerprint, []string, error) {
	pg, ok := w.pages[path]
	if !ok {
		return Fingerprint{}, nil, fmt.Errorf("%w: %q", ErrNotAPage, path)
	}
	fp, err := w.current(ctx, pg)
	if err != nil {
		return Fingerprint{}, nil, err
	}
	st, err := w.state(ctx, pg, true)
	if err != nil {
		return Fingerprint{}, nil, err
	}
	sum := fp.Sum()
	var changes []string
	if !st.noBaseline {
		changes = Diff(st.baseDoc, fp)
	}
	if approve && !st.noBaseline && sum == st.baseline {
		return fp, nil, ErrNothingToApprove
	}
	doc := fp.JSON()
	if len(doc) > store.MaxPageDoc {
		return Fingerprint{}, nil, fmt.Errorf("pages: the fingerprint of %s is %d bytes; at most %d", path, len(doc), store.MaxPageDoc)
	}
	ev := audit.Event{Type: audit.EventPageBaseline, Actor: actor, Outcome: audit.Success, Resource: "page:" + path,
		Details: map[string]string{audit.DetailPage: path, audit.DetailFingerprint: sum, audit.DetailReason: reason}}
	if approve {
		ev.Type = audit.EventPageApproved
		ev.Details[audit.DetailPrevious] = st.baseline
		ev.Details[audit.DetailChanges] = strings.Join(changes, "\n")
	}
	if err := w.o.Recorder.Record(ctx, ev); err != nil {
		return Fingerprint{}, nil, err
	}
	now := w.o.Now().UTC()
	if err := w.o.Store.SetPageBaseline(ctx, store.PageBaseline{Page: path, Fingerprint: sum, Doc: doc, ApprovedBy: actor,
		Reason: reason, At: now}); err != nil {
		return Fingerprint{}, nil, fmt.Errorf("pages: record the baseline of %s: %w", path, err)
	}
	_, _ = w.state(ctx, pg, true)
	return fp, changes, nil
}
