package report_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
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

// edSigner is an in-process ed25519 signer standing in for Vault's transit engine in these
// unit tests (the integration tests use the real one).
type edSigner struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t testing.TB) edSigner {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return edSigner{pub, priv}
}

func (s edSigner) KeyName() string { return "test-ed25519" }
func (s edSigner) Sign(_ context.Context, d []byte) (string, error) {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, d)), nil
}
func (s edSigner) Verify(_ context.Context, d []byte, sig string) (bool, error) {
	b, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(s.pub, d, b), nil
}

var auditKey = []byte("report-test-audit-key-0123456789")

// seed writes a trail with known counts: before, in and after the period [day1, day3).
func seed(t *testing.T) (*sqlite.Store, edSigner, time.Time) {
	t.Helper()
	p := filepath.Join(testkit.ArtifactsDir(t), "report.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(p + sfx)
	}
	st, err := sqlite.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	signer := newSigner(t)
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, auditKey, 1), nil }, Signer: signer, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	rec := func(at time.Time, n int, ev audit.Event) {
		for range n {
			ev.Time = at
			if ev.Actor == "" {
				ev.Actor = "checkout"
			}
			if err := tr.Record(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	before, d1, d2, after := day1.Add(-time.Hour), day1.Add(10*time.Hour), day1.Add(34*time.Hour), day1.Add(49*time.Hour)
	rec(before, 5, audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Details: map[string]string{"brand": "visa"}})
	rec(before, 1, audit.Event{Type: audit.EventCharge, Actor: "key:abcdefghijklmnop", Outcome: audit.Success})
	rec(d1, 1, audit.Event{Type: audit.EventStartup, Actor: audit.ActorSystem, Outcome: audit.Success})
	rec(d1, 7, audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Details: map[string]string{"brand": "visa"}})
	rec(d2, 4, audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Details: map[string]string{"brand": "mastercard"}})
	rec(d1, 3, audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: "invalid_number"})
	rec(d2, 2, audit.Event{Type: audit.EventTokenizeFailed, Outcome: audit.Failure, Reason: "card_declined"})
	rec(d1, 2, audit.Event{Type: audit.EventCardEscapeBlocked, Outcome: audit.Failure, Reason: "card_outside_tokenization_route"})
	rec(d2, 1, audit.Event{Type: audit.EventCardEscapeAlerted, Outcome: audit.Success})
	rec(d1, 6, audit.Event{Type: audit.EventCharge, Actor: "key:abcdefghijklmnop", Outcome: audit.Success})
	rec(d2, 1, audit.Event{Type: audit.EventCharge, Actor: "key:abcdefghijklmnop", Outcome: audit.Failure, Reason: "card_declined"})
	rec(d2, 2, audit.Event{Type: audit.EventCapture, Actor: "key:abcdefghijklmnop", Outcome: audit.Success})
	rec(d2, 3, audit.Event{Type: audit.EventRefund, Actor: "key:abcdefghijklmnop", Outcome: audit.Success})
	rec(d1, 9, audit.Event{Type: audit.EventWebhookReceived, Actor: "gateway:stripe", Outcome: audit.Success, Details: map[string]string{"duplicate": "false"}})
	rec(d1, 2, audit.Event{Type: audit.EventWebhookReceived, Actor: "gateway:stripe", Outcome: audit.Success, Details: map[string]string{"duplicate": "true"}})
	rec(d2, 4, audit.Event{Type: audit.EventWebhookRejected, Actor: "anonymous", Outcome: audit.Failure, Reason: "bad_signature"})
	rec(d2, 1, audit.Event{Type: audit.EventWebhookRejected, Actor: "anonymous", Outcome: audit.Failure, Reason: "timestamp_too_old"})
	rec(d1, 8, audit.Event{Type: audit.EventWebhookDelivered, Actor: audit.ActorSystem, Outcome: audit.Success})
	rec(d2, 1, audit.Event{Type: audit.EventWebhookDead, Actor: audit.ActorSystem, Outcome: audit.Failure, Reason: "max_age_exceeded"})
	rec(d2, 3, audit.Event{Type: audit.EventAPIAuthFailed, Actor: "anonymous", Outcome: audit.Failure, Reason: "bad_api_key"})
	rec(d2, 2, audit.Event{Type: audit.EventAPIAuthFailed, Actor: "key:abcdefghijklmnop", Outcome: audit.Failure, Reason: "scope_missing"})
	rec(d2, 1, audit.Event{Type: audit.EventAdminAccess, Actor: "key:ponmlkjihgfedcba", Outcome: audit.Success})
	rec(d1, 1, audit.Event{Type: audit.EventErasure, Actor: "key:abcdefghijklmnop", Outcome: audit.Success, Resource: "subject:aaaa",
		Details: map[string]string{"receipt": "er_1", "duration_ms": "1500", "requested_at": d1.Add(-1500 * time.Millisecond).Format(time.RFC3339Nano)}})
	rec(d2, 1, audit.Event{Type: audit.EventErasure, Actor: "key:abcdefghijklmnop", Outcome: audit.Success, Resource: "subject:bbbb",
		Details: map[string]string{"receipt": "er_2", "duration_ms": "180000000", "requested_at": d2.Add(-50 * time.Hour).Format(time.RFC3339Nano)}})
	rec(after, 4, audit.Event{Type: audit.EventTokenize, Outcome: audit.Success, Details: map[string]string{"brand": "amex"}})
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return st, signer, day1
}

func TestBuildCountsTheSeededTrail(t *testing.T) {
	st, signer, day1 := seed(t)
	created := day1.Add(-30 * 24 * time.Hour)
	r, err := report.Build(context.Background(), report.Inputs{
		From: day1, To: day1.Add(48 * time.Hour), Now: day1.Add(50 * time.Hour), ID: "rep_test", Host: "test",
		Store: st, RetentionDays: 400, CryptoperiodDays: 365,
		Keys: []report.KeyInfo{{ID: "abcdefghijklmnop", Name: "billing", Scopes: []string{"payments", "refunds", "erase"}, CreatedAt: created},
			{ID: "ponmlkjihgfedcba", Name: "ops", Scopes: []string{"admin"}, CreatedAt: created}},
		Verify: func(ctx context.Context, from, to int64) (report.ChainEvidence, error) {
			res, err := audit.Verify(ctx, st, audit.StaticKey(auditKey), signer, from, to)
			return report.ChainEvidence{OK: res.OK, From: res.From, To: res.To, Records: res.Records, Checkpoints: int64(res.Checkpoints),
				FirstBad: res.FirstBad, Problem: res.Problem}, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	checks := []struct {
		name      string
		got, want int64
	}{
		{"records", s.Records, 1 + 7 + 4 + 3 + 2 + 2 + 1 + 6 + 1 + 2 + 3 + 9 + 2 + 4 + 1 + 8 + 1 + 3 + 2 + 1 + 2},
		{"tokenizations succeeded", s.TokenizationsSucceeded, 11},
		{"tokenizations failed", s.TokenizationsFailed, 5},
		{"visa", s.TokenizationsByBrand["visa"], 7},
		{"mastercard", s.TokenizationsByBrand["mastercard"], 4},
		{"amex (after the period)", s.TokenizationsByBrand["amex"], 0},
		{"invalid_number", s.TokenizeFailuresByCode["invalid_number"], 3},
		{"card_declined", s.TokenizeFailuresByCode["card_declined"], 2},
		{"card escapes refused", s.CardEscapesRefused, 2},
		{"card escapes alerted", s.CardEscapesAlerted, 1},
		{"charges (every attempt)", s.Charges, 7},
		{"charges succeeded (records from before results: by outcome)", s.ChargesSucceeded, 6},
		{"charges failed", s.ChargesFailed, 1},
		{"captures", s.Captures, 2},
		{"refunds", s.Refunds, 3},
		{"webhooks received", s.WebhooksReceived, 11},
		{"webhooks duplicate", s.WebhooksDuplicate, 2},
		{"webhooks rejected", s.WebhooksRejected, 5},
		{"bad_signature", s.WebhookRejectionsByReason["bad_signature"], 4},
		{"webhooks delivered", s.WebhooksDelivered, 8},
		{"webhooks dead", s.WebhooksDead, 1},
		{"bad_api_key", s.APIRefusalsByReason["bad_api_key"], 3},
		{"scope_missing", s.APIRefusalsByReason["scope_missing"], 2},
		{"admin access", s.AdminAccess, 1},
		{"startups", s.Startups, 1},
		{"erasures", int64(len(s.Erasures)), 2},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if e := s.Erasures; len(e) == 2 && (!e[0].WithinSLA || e[0].DurationMS != 1500 || e[1].WithinSLA || e[1].Receipt != "er_2") {
		t.Errorf("erasures %+v", e)
	}
	if len(r.Daily) != 2 || r.Daily[0].Date != "2026-11-01" || r.Daily[0].Tokenizations != 10 || r.Daily[1].Tokenizations != 6 ||
		r.Daily[0].Charges != 6 || r.Daily[1].Refunds != 3 || r.Daily[1].Refusals != 5+5 || r.Daily[0].Refusals != 2 {
		t.Errorf("daily %+v", r.Daily)
	}
	keys := r.Evidence.Keys
	if len(keys) != 2 || keys[0].Calls != 6+1+2+3+2 || keys[0].Refusals != 2 || keys[1].Calls != 1 || keys[0].LastUsed == nil {
		t.Errorf("keys %+v", keys)
	}
	if c := r.Evidence.Chain; !c.OK || c.Records != s.Records {
		t.Errorf("chain %+v", c)
	}
	if r.Evidence.Retention.OldestRecord != day1.Add(-time.Hour) || r.Evidence.Retention.OldestAgeDays != 2 {
		t.Errorf("retention %+v", r.Evidence.Retention)
	}
}
