package app

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/proxy/pages"
	"github.com/tokenwall/tokenwall/store"
)

// PageOutcome is one payment page's check (tokenwall pages check).
type PageOutcome = pages.Outcome

// ErrNothingToApprove is an approval of a page that matches its baseline.
var ErrNothingToApprove = pages.ErrNothingToApprove

// PagesOrigin is the payment pages' public origin: page_checks.origin, or https:// and the
// first of listen.public_hosts (else listen.addr's host) with listen.addr's port unless 443.
func PagesOrigin(cfg config.Config) string {
	if cfg.PageChecks.Origin != "" {
		return cfg.PageChecks.Origin
	}
	host, port, err := net.SplitHostPort(cfg.Listen.Addr)
	if err != nil {
		host, port = cfg.Listen.Addr, "443"
	}
	if len(cfg.Listen.PublicHosts) > 0 {
		host = cfg.Listen.PublicHosts[0]
	}
	if port != "443" {
		return "https://" + net.JoinHostPort(host, port)
	}
	return "https://" + host
}

// NewPageWatcher builds the payment pages' watcher on st: it writes its records to rec and
// fetches the pages through the upstream (nil when no page is configured).
func NewPageWatcher(cfg config.Config, st store.Pages, rec audit.Recorder, signals pages.Signals, lg zerolog.Logger) (*pages.Watcher, error) {
	if len(cfg.Pages) == 0 {
		return nil, nil
	}
	tr, err := proxy.UpstreamTransport(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	fetch, err := proxy.PageFetcher(cfg.Upstream, tr)
	if err != nil {
		return nil, err
	}
	pc := cfg.PageChecks
	origin := PagesOrigin(cfg)
	// The inventory's scripts are fetched as the browser fetches them: from their own
	// origin, over the default transport (proxy settings of the environment apply).
	hasher := pages.NewHasher(&http.Client{Timeout: pc.FetchTimeout.D()}, pc.ScriptCacheTTL.D(), origin)
	host, _ := os.Hostname()
	return pages.NewWatcher(pages.Options{
		Pages: cfg.Pages, Store: st, Recorder: rec, Hasher: hasher,
		Fetch: func(ctx context.Context, path string) (*http.Response, error) {
			ctx, cancel := context.WithTimeout(ctx, pc.FetchTimeout.D())
			resp, err := fetch(ctx, path)
			if err != nil {
				cancel()
				return nil, err
			}
			resp.Body = cancelOnClose{resp.Body, cancel}
			return resp, nil
		},
		Origin: origin, ReportPath: pc.ReportPath, Fixed: proxy.FixedHeaders(cfg.Listen),
		MaxPageBytes: int64(pc.MaxPageBytes), Interval: pc.Interval.D(),
		Holder:  host + ":" + strconv.Itoa(os.Getpid()),
		Signals: signals, Log: lg.With().Str(logging.FieldComponent, "pages").Logger(),
	})
}

// cancelOnClose cancels a fetch's context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and cancels the fetch.
func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// openPages builds the payment pages' watcher and the aggregator of the browsers' CSP
// reports: a report's first record (page, blocked source, directive, disposition) is
// written at once, its repeats from every browser as one record with their count per
// audit.aggregate_interval.
func (a *App) openPages(rec audit.Recorder) error {
	if len(a.cfg.Pages) == 0 {
		return nil
	}
	w, err := NewPageWatcher(a.cfg, a.store, rec, a.metrics.PageSignals(), a.log)
	if err != nil {
		return err
	}
	agg, err := audit.NewAggregator(audit.AggregatorOptions{
		Next: rec, Events: []string{audit.EventPageScriptBlocked}, Interval: a.cfg.Audit.AggregateInterval.D(),
		// Every customer's browser reports the same violation: one key for all of them.
		Client: func(string) string { return "" }, Log: a.log,
	})
	if err != nil {
		return err
	}
	w.Start()
	a.pages, a.pageReports = w, agg
	return nil
}

// closePages stops the watcher and writes the reports' repeats still counted.
func (a *App) closePages(ctx context.Context) {
	if a.pages != nil {
		a.pages.Close()
	}
	if a.pageReports != nil {
		if err := a.pageReports.Close(ctx); err != nil {
			a.log.Error().Err(err).Msg("audit: repeated CSP reports at shutdown")
		}
	}
}

// Pages is the payment pages' watcher (nil when none is configured).
func (a *App) Pages() *pages.Watcher { return a.pages }

// PageReports is the aggregator of the browsers' CSP reports (nil without pages): Flush
// writes the repeats counted so far.
func (a *App) PageReports() *audit.Aggregator { return a.pageReports }

// PageAdmin is what the operator's `tokenwall pages` commands do, on the store and trail
// they open.
type PageAdmin struct {
	w  *pages.Watcher
	st store.Pages
}

// NewPageAdmin returns the operator's view of the payment pages; rec is the trail the
// baselines and approvals are recorded on.
func NewPageAdmin(cfg config.Config, st store.Pages, rec audit.Recorder, lg zerolog.Logger) (*PageAdmin, error) {
	if len(cfg.Pages) == 0 {
		return nil, errors.New("no payment page is configured (pages:)")
	}
	w, err := NewPageWatcher(cfg, st, rec, nil, lg)
	if err != nil {
		return nil, err
	}
	return &PageAdmin{w: w, st: st}, nil
}

// Baseline records page as served now as its approved baseline, by actor for reason; with
// approve, as the approval of a change (ErrNothingToApprove when it matches). It returns
// the fingerprint and what changed against the previous baseline.
func (p *PageAdmin) Baseline(ctx context.Context, page, actor, reason string, approve bool) (string, []string, error) {
	fp, changes, err := p.w.Baseline(ctx, page, actor, reason, approve)
	if err != nil {
		return "", nil, err
	}
	return fp.Sum(), changes, nil
}

// Check checks every page now, recorded as the operator's check.
func (p *PageAdmin) Check(ctx context.Context, actor string) ([]PageOutcome, error) {
	return p.w.Check(ctx, pages.TriggerOperator, actor)
}

// PageListing is one page as `tokenwall pages list` shows it.
type PageListing struct {
	Config   config.Page
	Baseline *store.PageBaseline
	State    *store.PageState
}

// List returns each configured page with its baseline and state.
func (p *PageAdmin) List(ctx context.Context, cfg config.Config) ([]PageListing, error) {
	var out []PageListing
	for _, pc := range cfg.Pages {
		l := PageListing{Config: pc}
		b, err := p.st.GetPageBaseline(ctx, pc.Path)
		switch {
		case err == nil:
			l.Baseline = &b
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		s, err := p.st.GetPageState(ctx, pc.Path)
		switch {
		case err == nil:
			l.State = &s
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		out = append(out, l)
	}
	return out, nil
}
