package app

import (
	"context"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/proxy"
)

// openRefusals starts the aggregator that the proxy, the API and the webhook receiver write
// their records through (audit.Aggregator): a refusal's first record is written at once and
// its repeats (same client, actor, event, reason) as one record with their count per
// audit.aggregate_interval; every other event goes straight to rec. Clients are grouped as
// the per-client limiter groups them (proxy.ClientKey: an IPv6 /64 is one client).
func (a *App) openRefusals(rec audit.Recorder) error {
	agg, err := audit.NewAggregator(audit.AggregatorOptions{
		Next: rec, Interval: a.cfg.Audit.AggregateInterval.D(), Client: proxy.ClientKey, Log: a.log,
	})
	if err != nil {
		return err
	}
	a.refusals = agg
	return nil
}

// closeRefusals writes the repeats still counted; it runs before the shutdown event and the
// trail's final checkpoint, so they are in the signed trail.
func (a *App) closeRefusals(ctx context.Context) {
	if a.refusals == nil {
		return
	}
	if err := a.refusals.Close(ctx); err != nil {
		a.log.Error().Err(err).Msg("audit: repeated refusals at shutdown")
	}
}

// Refusals is the aggregator of refusal records (nil until Build has built the server):
// Flush writes the repeats counted so far.
func (a *App) Refusals() *audit.Aggregator { return a.refusals }
