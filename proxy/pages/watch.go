package pages

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/store"
)

// stateTTL is how long a replica trusts its copy of a page's baseline and state before it
// reads the store again: an approval made by the CLI (another process) is seen within it.
const stateTTL = 5 * time.Second

// Bounds of a page's transition records: a burst of transitionBurst, then one per
// transitionEvery. The state in the store, the metric and the alert follow every
// transition; the next record says how many were not written.
const (
	transitionBurst = 10
	transitionEvery = time.Minute
)

// observeQueue bounds the fingerprints waiting to be compared; past it a response's
// fingerprint is dropped and counted (the next response, or the scheduled check, sees the
// same page).
const observeQueue = 64

// ErrNotAPage is a path that is not a configured payment page.
var ErrNotAPage = errors.New("pages: not a payment page")

// ErrNothingToApprove is an approval of a page that matches its baseline.
var ErrNothingToApprove = errors.New("pages: the page matches its baseline: nothing to approve")

// Signals are what a Watcher reports besides the audit trail: metrics.
type Signals interface {
	// PageState says whether page is changed against its baseline (or has none).
	PageState(page string, changed bool)
	// PageCheck counts one comparison of page with its baseline: result is "match",
	// "changed" or "failed"; scheduled says it was a check, not a customer's response.
	PageCheck(page, result string, scheduled bool, at time.Time)
	// Dropped counts a response's fingerprint dropped because the queue was full.
	Dropped(page string)
}

// Options configure a Watcher; Pages, Store, Recorder, Hasher and Fetch are required.
type Options struct {
	Pages    []config.Page
	Store    store.Pages
	Recorder audit.Recorder
	Hasher   *Hasher
	// Fetch gets a payment page from the upstream as a browser's request would (GET,
	// uncompressed), for a check.
	Fetch func(ctx context.Context, path string) (*http.Response, error)
	// Origin is the pages' public origin ("https://pay.example.com"): the base of relative
	// script URLs, and the origin of the CSP report URL.
	Origin string
	// ReportPath is page_checks.report_path.
	ReportPath string
	// Fixed are the security headers tokenwall sets on every response (X-Frame-Options, …);
	// on a payment page they replace the upstream's.
	Fixed        http.Header
	MaxPageBytes int64
	// Interval is page_checks.interval; Holder names this replica in the check's lease.
	Interval time.Duration
	Holder   string
	Signals  Signals
	Log      zerolog.Logger
	Now      func() time.Time
}

// Watcher enforces and watches the payment pages: it rewrites their responses (Apply,
// Rewrite), compares each response's fingerprint with the approved baseline, runs the
// scheduled check, and records baselines and approvals.
type Watcher struct {
	o     Options
	base  *url.URL
	pages map[string]*Page
	queue chan observation
	done  chan struct{}
	wg    sync.WaitGroup
	stop  atomic.Bool
}

// Page is one payment page as the watcher serves it.
type Page struct {
	Config config.Page
	Inv    *Inventory

	mu    sync.Mutex
	state cached
	// records bounds the page's transition records (page_changed, page_reverted): a page
	// that flaps, or that a client can make differ on every response, costs a bounded number
	// of records; suppressed counts those not written since the last one.
	records    float64
	recordedAt time.Time
	suppressed int
}

// cached is a replica's copy of a page's baseline and state.
type cached struct {
	loaded     time.Time
	ok         bool // loaded without error
	baseline   string
	baseDoc    Fingerprint
	noBaseline bool
	current    string
	changed    bool
}

// observation is a served response's security headers and scripts, to fingerprint.
type observation struct {
	page    *Page
	headers http.Header
	result  Result
}

// NewWatcher checks o and returns a Watcher; Start starts its queue and Close stops it.
func NewWatcher(o Options) (*Watcher, error) {
	if o.Store == nil || o.Recorder == nil || o.Hasher == nil || o.Fetch == nil {
		return nil, errors.New("pages: watcher: Store, Recorder, Hasher and Fetch are required")
	}
	base, err := url.Parse(o.Origin)
	if err != nil || base.Host == "" {
		return nil, fmt.Errorf("pages: watcher: origin %q is not an absolute URL", o.Origin)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Signals == nil {
		o.Signals = noSignals{}
	}
	w := &Watcher{o: o, base: base, pages: map[string]*Page{}, queue: make(chan observation, observeQueue), done: make(chan struct{})}
	for _, pg := range o.Pages {
		w.pages[pg.Path] = &Page{Config: pg, Inv: NewInventory(pg)}
	}
	return w, nil
}

// Page returns the payment page at path.
func (w *Watcher) Page(path string) (*Page, bool) {
	p, ok := w.pages[path]
	return p, ok
}

// Start starts comparing served responses' fingerprints in the background.
func (w *Watcher) Start() {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case ob := <-w.queue:
				w.observe(ob)
			case <-w.done:
				return
			}
		}
	}()
}

// Close stops the background work: what is still queued is dropped (the next response or
// check sees the same page).
func (w *Watcher) Close() {
	if w.stop.CompareAndSwap(false, true) {
		close(w.done)
		w.wg.Wait()
	}
}

// PageURL is the public URL of a page (the base of its relative script URLs).
func (w *Watcher) PageURL(path string) *url.URL {
	u := *w.base
	u.Path = path
	return &u
}

// ReportURL is where browsers post CSP reports: a path, which the browser resolves against
// the page it reports on, so every public host name of the page reports to itself.
func (w *Watcher) ReportURL() string { return w.o.ReportPath }

// Apply turns the upstream's response headers h into those of a payment page served with
// nonce: the app's policy is replaced by the page's (never a second one), tokenwall's fixed
// security headers replace the app's, and a rewritten body has no length, validator or
// cache. The same function makes the headers of a check, so both fingerprint alike.
func (w *Watcher) Apply(h http.Header, pg *Page, nonce string) {
	for _, k := range []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only", "Content-Length",
		"Etag", "Last-Modified", "Cache-Control", "Expires", "Pragma", "Reporting-Endpoints", "Report-To"} {
		h.Del(k)
	}
	for k, v := range w.o.Fixed {
		h[http.CanonicalHeaderKey(k)] = append([]string(nil), v...)
	}
	policy := CSP(pg.Config, nonce, w.ReportURL())
	if pg.Config.Mode == config.PageReportOnly {
		// The enforced policy keeps what does not concern scripts; the page's is reported.
		h.Set("Content-Security-Policy", baselinePolicy)
		h.Set("Content-Security-Policy-Report-Only", policy)
	} else {
		h.Set("Content-Security-Policy", policy)
	}
	h.Set("Reporting-Endpoints", ReportingEndpoints(w.ReportURL()))
	h.Set("Cache-Control", "no-store")
}

// baselinePolicy is what a page in report-only mode enforces: nothing about scripts.
const baselinePolicy = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// SecuritySubset copies the security-impacting headers of h (SecurityHeaders), what a
// response's fingerprint is made of, so that it can be computed later (Observe).
func SecuritySubset(h http.Header) http.Header {
	out := make(http.Header, len(securityHeaderKeys))
	for _, k := range securityHeaderKeys {
		if vs := h[k]; len(vs) > 0 {
			out[k] = append([]string(nil), vs...)
		}
	}
	return out
}

// securityHeaderKeys are SecurityHeaders in canonical form.
var securityHeaderKeys = func() []string {
	var ks []string
	for _, n := range SecurityHeaders() {
		ks = append(ks, http.CanonicalHeaderKey(n))
	}
	return ks
}()

// Observe queues a served response's fingerprint for comparison with the baseline: its
// security headers (SecuritySubset) and what Rewrite saw. The fingerprint is computed off the
// response's path; Observe never blocks (a full queue drops it, counted).
func (w *Watcher) Observe(pg *Page, headers http.Header, res Result) {
	if w.stop.Load() {
		return
	}
	select {
	case w.queue <- observation{page: pg, headers: headers, result: res}:
	default:
		w.o.Signals.Dropped(pg.Config.Path)
	}
}

// observe compares one served response with the baseline.
func (w *Watcher) observe(ob observation) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fp := w.fingerprint(ctx, ob.page, Headers(ob.headers), ob.result, false)
	if _, err := w.compare(ctx, ob.page, fp, time.Time{}); err != nil {
		w.o.Log.Error().Err(err).Str(logging.FieldPage, ob.page.Config.Path).Msg("payment page: comparing a response with its baseline failed")
	}
}

// fingerprint completes a page's fingerprint: the inventory's external scripts are hashed
// as the browser gets them (fresh, or from the cache).
func (w *Watcher) fingerprint(ctx context.Context, pg *Page, headers map[string]string, res Result, fresh bool) Fingerprint {
	fp := Fingerprint{Headers: headers}
	for _, s := range res.Scripts {
		sp := ScriptPrint{Src: s.Src, SHA384: s.SHA384, Listed: s.Listed, Note: s.Note}
		switch {
		case s.Src == "" && s.Truncated:
			sp.Note = "truncated"
		case s.Src != "" && !s.Listed:
			sp.Note = NoteUnlisted
		case s.Src != "":
			sha, note := w.o.Hasher.Hash(ctx, s.Src, fresh)
			sp.SHA384 = sha
			if note != "" {
				sp.Note = note
			}
		}
		fp.Scripts = append(fp.Scripts, sp)
	}
	for _, m := range res.MetaCSP {
		fp.Scripts = append(fp.Scripts, ScriptPrint{Note: "meta csp: " + m})
	}
	if res.MoreScripts > 0 {
		fp.Scripts = append(fp.Scripts, ScriptPrint{SHA384: res.MoreSHA384, Note: fmt.Sprintf("%d more scripts", res.MoreScripts)})
	}
	if res.Unparsed {
		fp.Scripts = append(fp.Scripts, ScriptPrint{SHA384: res.UnparsedSHA384, Note: "unparsed rest of the page"})
	}
	return fp
}

// state returns pg's cached baseline and state, reading the store when the copy is older
// than stateTTL (or force).
func (w *Watcher) state(ctx context.Context, pg *Page, force bool) (cached, error) {
	now := w.o.Now()
	pg.mu.Lock()
	st := pg.state
	pg.mu.Unlock()
	if st.ok && !force && now.Sub(st.loaded) < stateTTL {
		return st, nil
	}
	st = cached{loaded: now}
	b, err := w.o.Store.GetPageBaseline(ctx, pg.Config.Path)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st.noBaseline = true
	case err != nil:
		return cached{}, fmt.Errorf("pages: read the baseline of %s: %w", pg.Config.Path, err)
	default:
		st.baseline = b.Fingerprint
		if st.baseDoc, err = ParseFingerprint(b.Doc); err != nil {
			return cached{}, fmt.Errorf("pages: the baseline of %s: %w", pg.Config.Path, err)
		}
	}
	s, err := w.o.Store.GetPageState(ctx, pg.Config.Path)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return cached{}, fmt.Errorf("pages: read the state of %s: %w", pg.Config.Path, err)
	default:
		st.current, st.changed = s.Fingerprint, s.Changed
	}
	st.ok = true
	pg.mu.Lock()
	pg.state = st
	pg.mu.Unlock()
	w.o.Signals.PageState(pg.Config.Path, st.changed || st.noBaseline)
	return st, nil
}

// Blocked reports whether pg must not be served: its on_change is block and it is changed
// against its baseline, has none, or its state cannot be read (fail closed).
func (w *Watcher) Blocked(ctx context.Context, pg *Page) bool {
	if pg.Config.OnChange != config.PageBlock {
		return false
	}
	st, err := w.state(ctx, pg, false)
	if err != nil {
		w.o.Log.Error().Err(err).Str(logging.FieldPage, pg.Config.Path).Msg("payment page: state unknown; blocked (on_change: block)")
		return true
	}
	return st.changed || st.noBaseline
}

// HeadersChanged reports whether a response's security headers differ from pg's baseline
// (or pg has none): with on_change block the response is refused before its body is read.
func (w *Watcher) HeadersChanged(ctx context.Context, pg *Page, headers map[string]string) bool {
	st, err := w.state(ctx, pg, false)
	if err != nil || st.noBaseline {
		return true
	}
	return !sameHeaders(st.baseDoc.Headers, headers)
}

func sameHeaders(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// compare records fp as pg's state and, when that is a transition, writes page_changed or
// page_reverted. checkedAt, when set, is a check's time. It reports whether fp differs from
// the baseline.
func (w *Watcher) compare(ctx context.Context, pg *Page, fp Fingerprint, checkedAt time.Time) (bool, error) {
	st, err := w.state(ctx, pg, false)
	if err != nil {
		return true, err
	}
	sum := fp.Sum()
	changed := st.noBaseline || sum != st.baseline
	if sum == st.current && changed == st.changed && checkedAt.IsZero() {
		return changed, nil // the common case: seen before, nothing to write
	}
	doc := fp.JSON()
	if len(doc) > store.MaxPageDoc {
		doc = nil
	}
	wrote, prev, err := w.o.Store.ObservePage(ctx, store.PageState{Page: pg.Config.Path, Fingerprint: sum, Doc: doc,
		Changed: changed, Since: w.o.Now().UTC(), CheckedAt: checkedAt})
	if err != nil {
		return changed, fmt.Errorf("pages: record the state of %s: %w", pg.Config.Path, err)
	}
	if wrote && (changed || prev.Changed) {
		if n, ok := pg.takeRecord(w.o.Now()); ok {
			if err := w.recordTransition(ctx, pg, st, fp, sum, changed, n); err != nil {
				return changed, err
			}
		}
	}
	_, err = w.state(ctx, pg, wrote)
	return changed, err
}

// recordTransition writes the audit record of a page that changed, or came back to its
// baseline.
// suppressed is how many transitions before it went unrecorded (bounded).
func (w *Watcher) recordTransition(ctx context.Context, pg *Page, st cached, fp Fingerprint, sum string, changed bool, suppressed int) error {
	path := pg.Config.Path
	details := map[string]string{audit.DetailPage: path, audit.DetailFingerprint: sum}
	if suppressed > 0 {
		details[DetailSuppressed] = strconv.Itoa(suppressed)
	}
	if !changed {
		return w.o.Recorder.Record(ctx, audit.Event{Type: audit.EventPageReverted, Actor: audit.ActorSystem, Outcome: audit.Success,
			Resource: "page:" + path, Details: details})
	}
	reason := audit.ReasonPageChanged
	changes := Diff(st.baseDoc, fp)
	if st.noBaseline {
		reason, changes = audit.ReasonNoBaseline, []string{"no approved baseline: run tokenwall pages baseline"}
	}
	details[audit.DetailPrevious], details[audit.DetailChanges], details[audit.DetailOnChange] = st.baseline, strings.Join(changes, "\n"), pg.Config.OnChange
	w.o.Log.Warn().Str(logging.FieldPage, path).Str(logging.FieldFingerprint, sum).Str(logging.FieldOnChange, pg.Config.OnChange).Str(logging.FieldReason, reason).
		Msg("payment page changed against its approved baseline")
	return w.o.Recorder.Record(ctx, audit.Event{Type: audit.EventPageChanged, Actor: audit.ActorSystem, Outcome: audit.Failure,
		Reason: reason, Resource: "page:" + path, Details: details})
}

// DetailSuppressed is how many transitions of the page before a record were not written
// (the bound on a page's transition records).
const DetailSuppressed = "suppressed"

// takeRecord takes one of the page's transition records at now; when there is none left it
// counts the transition as suppressed. It returns the count suppressed before this record.
func (pg *Page) takeRecord(now time.Time) (int, bool) {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.recordedAt.IsZero() {
		pg.records = transitionBurst
	} else {
		pg.records = min(transitionBurst, pg.records+float64(now.Sub(pg.recordedAt))/float64(transitionEvery))
	}
	pg.recordedAt = now
	if pg.records < 1 {
		pg.suppressed++
		return 0, false
	}
	pg.records--
	n := pg.suppressed
	pg.suppressed = 0
	return n, true
}

// noSignals reports nothing.
type noSignals struct{}

func (noSignals) PageState(string, bool)                    {}
func (noSignals) PageCheck(string, string, bool, time.Time) {}
func (noSignals) Dropped(string)                            {}
