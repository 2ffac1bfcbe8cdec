package report_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// TestBuildCountsRepeatedRefusals: refusals written through the audit aggregator (a first
// record, then one record with the count of the repeats) are counted as many as they were,
// so the report's refusal totals add up.
func TestBuildCountsRepeatedRefusals(t *testing.T) {
	p := filepath.Join(testkit.ArtifactsDir(t), "repeats.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(p + sfx)
	}
	st, err := sqlite.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	day1 := time.Now().UTC().Truncate(24 * time.Hour)
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, auditKey, 1), nil },
		Signer: newSigner(t), CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	agg, err := audit.NewAggregator(audit.AggregatorOptions{Next: tr, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(n int, ev audit.Event) {
		for range n {
			if err := agg.Record(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for c := range 3 {
		rec(500, audit.Event{Type: audit.EventAPIAuthFailed, Actor: "anonymous", Outcome: audit.Failure, Reason: "bad_api_key", SourceIP: fmt.Sprintf("203.0.113.%d", c)})
	}
	rec(4, audit.Event{Type: audit.EventAPIAuthFailed, Actor: "key:abcdefghijklmnop", Outcome: audit.Failure, Reason: "scope_missing", SourceIP: "192.0.2.1"})
	rec(30, audit.Event{Type: audit.EventWebhookRejected, Actor: "anonymous", Outcome: audit.Failure, Reason: "bad_signature", SourceIP: "198.51.100.9"})
	rec(12, audit.Event{Type: audit.EventClientRateLimited, Actor: "anonymous", Outcome: audit.Failure, Reason: "client_rate_limited", SourceIP: "198.51.100.9"})
	rec(7, audit.Event{Type: audit.EventCardEscapeBlocked, Actor: "checkout", Outcome: audit.Failure, Reason: "card_outside_tokenization_route", SourceIP: "198.51.100.9"})
	if err := agg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(ctx, report.Inputs{From: day1, To: day1.Add(48 * time.Hour), Now: time.Now(), ID: "rep_repeats", Host: "test",
		Store: st, RetentionDays: 400, CryptoperiodDays: 365,
		Keys: []report.KeyInfo{{ID: "abcdefghijklmnop", Name: "billing", Scopes: []string{"payments"}, CreatedAt: day1.Add(-time.Hour)}}})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	checks := []struct {
		name      string
		got, want int64
	}{
		{"records: a first and a repeat record per key", s.Records, 2 * 7},
		{"bad_api_key", s.APIRefusalsByReason["bad_api_key"], 1500},
		{"scope_missing", s.APIRefusalsByReason["scope_missing"], 4},
		{"webhooks rejected", s.WebhooksRejected, 30},
		{"bad_signature", s.WebhookRejectionsByReason["bad_signature"], 30},
		{"client rate limited", s.ClientRateLimited, 12},
		{"card escapes refused", s.CardEscapesRefused, 7},
		{"the key's refusals", r.Evidence.Keys[0].Refusals, 4},
		{"the key's calls", r.Evidence.Keys[0].Calls, 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	var refusals int64
	for _, d := range r.Daily {
		refusals += d.Refusals
	}
	if refusals != 1500+4+30+12+7 {
		t.Errorf("daily refusals add up to %d, want %d", refusals, 1500+4+30+12+7)
	}
}
