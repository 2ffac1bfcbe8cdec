package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// TestDeliverShutdownGivesTheLeaseBack: when tokenwall shuts down in the middle of a
// delivery, the item is made pending and due at once, with the interrupted attempt counted
// and named, so another replica (or the restarted one) sends it without waiting for the
// lease to run out. No webhook_delivered or webhook_dead is written.
func TestDeliverShutdownGivesTheLeaseBack(t *testing.T) {
	e := newEnv(t, nil)
	started := make(chan struct{})
	release := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select { // the app is slow; tokenwall gives up first
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer app.Close()
	defer close(release)
	res := e.mustReceive(stripeEvent("evt_shutdown", "charge.succeeded", paymentIntent))
	d := e.deliverer(app.URL, app.Client(), func(o *webhooks.DelivererOptions) { o.Lease = time.Hour })

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := d.DeliverOnce(ctx)
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("DeliverOnce: %v", err)
	}
	it := e.item(res.EventID)
	if it.Status != store.StatusPending || it.LeaseOwner != "" || it.Attempts != 1 || it.NextAttempt.After(e.clock.Now()) ||
		it.LastError != "interrupted: tokenwall shutting down" || it.Payload == nil {
		t.Fatalf("after shutdown mid-delivery: %+v", it)
	}
	if n := len(e.audits("webhook_delivered")) + len(e.audits("webhook_dead")); n != 0 {
		t.Fatalf("%d delivered/dead records, want 0", n)
	}
}
