package webhooks_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// TestReplay: a dead event is made pending; a pending one, an unknown id and a dead event
// whose payload an erasure removed are refused; each attempt is audited.
func TestReplay(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, id := range []string{"evt_dead", "evt_erased", "evt_pending"} {
		e.mustReceive(stripeEvent(id, "charge.failed", `{"id":"ch_1","object":"charge","customer":"cus_Erase0001"}`))
	}
	claimed, err := e.st.ClaimOutbox(ctx, "replica-1", 2, time.Minute, e.clock.Now())
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	for _, it := range claimed {
		if err := e.st.DeadOutbox(ctx, it.ID, "replica-1", "app answered 500"); err != nil {
			t.Fatal(err)
		}
	}
	// Erasing cus_Erase0001 purges every undelivered payload naming it (the three events);
	// a fresh event, dead with its payload, is the one to replay.
	if n, err := e.st.PurgeOutboxMatching(ctx, "cus_Erase0001", "erased"); err != nil || n != 3 {
		t.Fatalf("purge: %d %v", n, err)
	}
	e.mustReceive(stripeEvent("evt_dead2", "charge.failed", paymentIntent))
	claimed, _ = e.st.ClaimOutbox(ctx, "replica-1", 1, time.Minute, e.clock.Now())
	if len(claimed) != 1 {
		t.Fatalf("claimed %d", len(claimed))
	}
	_ = e.st.DeadOutbox(ctx, claimed[0].ID, "replica-1", "app answered 500")

	tests := []struct {
		id   string
		want error
	}{
		{claimed[0].ID, nil},
		{claimed[0].ID, webhooks.ErrNotDead},
		{"evt_erased", webhooks.ErrPayloadErased},
		{"evt_nope", webhooks.ErrUnknownEvent},
	}
	for _, tc := range tests {
		err := webhooks.Replay(ctx, e.st, e.trail, tc.id, "admin:cli:test", "", "", e.clock.Now())
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("replay %s: %v, want %v", tc.id, err, tc.want)
		}
	}
	if it := e.item(claimed[0].ID); it.Status != store.StatusPending || it.Payload == nil {
		t.Fatalf("replayed item %+v", it.Status)
	}
	var reasons []string
	for _, r := range e.audits("webhook_replayed") {
		reasons = append(reasons, r.Outcome+"/"+r.Reason)
	}
	if len(reasons) != 4 || reasons[0] != "success/" || reasons[1] != "failure/not_dead" || reasons[2] != "failure/payload_erased" || reasons[3] != "failure/unknown_event" {
		t.Fatalf("audit %v", reasons)
	}
}
