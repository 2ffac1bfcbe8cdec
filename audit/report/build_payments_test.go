package report_test

import (
	"context"
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

// TestBuildCountsPaymentResults: charge and setup records count by their DetailResult (a
// charge waiting for the customer is neither a success nor a failure), charges add up to
// every attempt, and only the system's stale cancels count as stale.
func TestBuildCountsPaymentResults(t *testing.T) {
	p := filepath.Join(testkit.ArtifactsDir(t), "payments.db")
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
		Signer: newSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	day1 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rec := func(n int, typ, outcome, reason, result string) {
		t.Helper()
		ev := audit.Event{Type: typ, Actor: "key:abcdefghijklmnop", Outcome: outcome, Reason: reason, Time: day1.Add(time.Hour)}
		if result != "" {
			ev.Details = map[string]string{audit.DetailResult: result}
		}
		if reason == "stale_requires_action" {
			ev.Actor = audit.ActorSystem
		}
		for range n {
			if err := tr.Record(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	rec(5, audit.EventCharge, audit.Success, "", audit.ResultSucceeded)
	rec(2, audit.EventCharge, audit.Success, "", "") // written before results: by outcome
	rec(4, audit.EventCharge, audit.Failure, "requires_action", audit.ResultRequiresAction)
	rec(3, audit.EventCharge, audit.Failure, "payment_intent_authentication_failure", audit.ResultFailed)
	rec(1, audit.EventCharge, audit.Failure, "card_declined", "")
	rec(2, audit.EventCharge, audit.Failure, "payment_canceled", audit.ResultCanceled)
	rec(6, audit.EventSetup, audit.Success, "", audit.ResultSucceeded)
	rec(2, audit.EventSetup, audit.Failure, "requires_action", audit.ResultRequiresAction)
	rec(1, audit.EventSetup, audit.Failure, "setup_intent_authentication_failure", audit.ResultFailed)
	rec(1, audit.EventSetup, audit.Failure, "payment_canceled", audit.ResultCanceled)
	rec(3, audit.EventPaymentCanceled, audit.Success, "stale_requires_action", audit.ResultCanceled)
	rec(1, audit.EventSetupCanceled, audit.Success, "stale_requires_action", audit.ResultCanceled)
	rec(2, audit.EventPaymentCanceled, audit.Success, "", audit.ResultCanceled)                       // by the app
	rec(1, audit.EventPaymentCanceled, audit.Failure, "stale_requires_action", audit.ResultSucceeded) // too late
	rec(4, audit.EventPaymentState, audit.Success, "", audit.ResultSucceeded)                         // webhooks: not charges
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := report.Build(ctx, report.Inputs{From: day1, To: day1.Add(24 * time.Hour), Now: day1.Add(25 * time.Hour), ID: "rep_pay",
		Host: "test", Store: st, RetentionDays: 400, CryptoperiodDays: 365})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	for _, c := range []struct {
		name      string
		got, want int64
	}{
		{"charges", s.Charges, 5 + 2 + 4 + 3 + 1 + 2},
		{"charges succeeded", s.ChargesSucceeded, 7},
		{"charges requiring action", s.ChargesRequiringAction, 4},
		{"charges failed", s.ChargesFailed, 4},
		{"charges canceled", s.ChargesCanceled, 2},
		{"setups succeeded", s.SetupsSucceeded, 6},
		{"setups requiring action", s.SetupsRequiringAction, 2},
		{"setups failed (canceled included)", s.SetupsFailed, 2},
		{"stale canceled", s.StaleCanceled, 4},
		{"daily charges", r.Daily[0].Charges, 17},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
}
