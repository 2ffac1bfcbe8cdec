package webhooks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"github.com/tokenwall/tokenwall/signature"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

// TestDeliverSignedAndPurged: the app gets the scrubbed payload with tokenwall's signature
// (Verify accepts it with the delivery key and only with it), the event id and type; the
// payload is deleted once delivered and the digest kept; webhook_delivered is recorded.
func TestDeliverSignedAndPurged(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), nil)
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYdeliver1", "payment_intent.succeeded", paymentIntent)
	res := e.mustReceive(body)
	payload := e.item(res.EventID).Payload

	e.clock.Advance(2 * time.Second)
	e.deliverOnce(d, 1)
	got := a.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	g := got[0]
	if g.sigErr != nil || g.status != http.StatusOK {
		t.Fatalf("app: signature %v, status %d", g.sigErr, g.status)
	}
	if g.id != res.EventID || g.typ != "payment_intent.succeeded" || !bytes.Equal(g.body, payload) {
		t.Errorf("delivery id %q type %q body equal %v", g.id, g.typ, bytes.Equal(g.body, payload))
	}
	// Signed with the delivery key at the deliverer's clock, v2 for a webhook (and v1 beside it,
	// the transition): nothing else verifies.
	v := &signature.Verifier{Keys: func() [][]byte { return [][]byte{signingKey} }, Now: e.clock.Now}
	if err := v.Verify(g.sig, signature.Request{Purpose: signature.PurposeWebhook, Method: http.MethodPost, Path: g.path}, g.body); err != nil {
		t.Errorf("signature %q: v2 %v", g.sig, err)
	}
	if !strings.HasPrefix(g.sig, "t="+strconv.FormatInt(e.clock.Now().Unix(), 10)+",") {
		t.Errorf("signature %q is not timed at the deliverer's clock", g.sig)
	}
	if err := webhooks.Verify(g.sig, g.body, [][]byte{secretNew}, webhooks.DefaultTolerance, e.clock.Now()); err == nil {
		t.Error("the delivery verifies with the gateway's secret")
	}
	tampered := bytes.Replace(g.body, []byte(`"amount":2000`), []byte(`"amount":1`), 1)
	if err := webhooks.Verify(g.sig, tampered, [][]byte{signingKey}, webhooks.DefaultTolerance, e.clock.Now()); err == nil {
		t.Error("a tampered delivery verifies")
	}

	it := e.item(res.EventID)
	digest := sha256.Sum256(body)
	if it.Status != store.StatusDelivered || it.Payload != nil || !bytes.Equal(it.Digest, digest[:]) ||
		it.Attempts != 1 || !it.DeliveredAt.Equal(e.clock.Now()) {
		t.Errorf("after delivery: status %s payload nil %v digest kept %v attempts %d delivered %s",
			it.Status, it.Payload == nil, bytes.Equal(it.Digest, digest[:]), it.Attempts, it.DeliveredAt)
	}
	recs := e.audits(audit.EventWebhookDelivered)
	if len(recs) != 1 {
		t.Fatalf("%d webhook_delivered records, want 1", len(recs))
	}
	dt := details(t, recs[0])
	if recs[0].Resource != res.EventID || recs[0].Outcome != audit.Success || dt[webhooks.DetailAttempts] != "1" || dt[webhooks.DetailStatus] != "200" {
		t.Errorf("webhook_delivered = %+v details %v", recs[0], dt)
	}
	e.deliverOnce(d, 0)
}

// TestDeliverRetriesWithBackoff: the app answers 500, then 200. The retry waits for the
// backoff (on the fake clock), then delivers; two attempts.
func TestDeliverRetriesWithBackoff(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock, http.StatusInternalServerError)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), nil)
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYretry001", "invoice.paid", paymentIntent))

	e.deliverOnce(d, 1)
	it := e.item(res.EventID)
	wait := it.NextAttempt.Sub(e.clock.Now())
	if it.Status != store.StatusPending || it.Attempts != 1 || it.LastError != "app answered 500" || it.Payload == nil {
		t.Fatalf("after a 500: status %s attempts %d last error %q payload kept %v", it.Status, it.Attempts, it.LastError, it.Payload != nil)
	}
	if wait < 0 || wait > webhooks.DefaultBackoffBase {
		t.Fatalf("first retry in %s, want within [0, %s]", wait, webhooks.DefaultBackoffBase)
	}
	if wait > 0 {
		e.deliverOnce(d, 0) // not due yet
	}
	e.clock.Advance(webhooks.DefaultBackoffBase)
	e.deliverOnce(d, 1)
	it = e.item(res.EventID)
	if it.Status != store.StatusDelivered || it.Attempts != 2 || it.Payload != nil {
		t.Errorf("after the retry: status %s attempts %d payload nil %v", it.Status, it.Attempts, it.Payload == nil)
	}
	recs := e.audits(audit.EventWebhookDelivered)
	if len(recs) != 1 || details(t, recs[0])[webhooks.DetailAttempts] != "2" {
		t.Errorf("webhook_delivered records = %+v, want one with 2 attempts", recs)
	}
	if n := len(a.deliveries()); n != 2 {
		t.Errorf("app got %d requests, want 2", n)
	}
}

// TestDeliverBackoffGrows: with the app down, each delay is drawn from [0, min(cap,
// base·2^(n-1))]: jittered, and the window doubles up to the cap.
func TestDeliverBackoffGrows(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock, repeat(http.StatusServiceUnavailable, 12)...)
	srv := startApp(t, a)
	base, limit := time.Second, 8*time.Second
	d := e.deliverer(srv.URL, srv.Client(), func(o *webhooks.DelivererOptions) { o.BackoffBase, o.BackoffCap = base, limit })
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYbackof01", "invoice.paid", paymentIntent))

	var waits []time.Duration
	ceiling := base
	for n := 1; n <= 10; n++ {
		e.deliverOnce(d, 1)
		it := e.item(res.EventID)
		wait := it.NextAttempt.Sub(e.clock.Now())
		if it.Attempts != n || wait < 0 || wait > ceiling {
			t.Fatalf("attempt %d: attempts %d, wait %s, want within [0, %s]", n, it.Attempts, wait, ceiling)
		}
		waits = append(waits, wait)
		e.clock.Advance(ceiling)
		ceiling = min(2*ceiling, limit)
	}
	var longest time.Duration
	distinct := map[time.Duration]bool{}
	for _, w := range waits {
		longest = max(longest, w)
		distinct[w] = true
	}
	if longest <= base || len(distinct) < len(waits)/2 {
		t.Errorf("waits %v: want jittered delays that grow past the base", waits)
	}
}

func repeat(status, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = status
	}
	return s
}

// TestDeliverUpstreamDownThenBack: nothing listens at the app's address, then the app comes
// up there; the event is delivered on the retry.
func TestDeliverUpstreamDownThenBack(t *testing.T) {
	e := newEnv(t, nil)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // refused until the app starts
	a := newApp(e.clock)
	srv := httptest.NewUnstartedServer(a)
	srv.Listener.Close()
	t.Cleanup(srv.Close)
	trust := httptest.NewTLSServer(http.NotFoundHandler()) // every httptest TLS server has the same certificate
	client := trust.Client()
	trust.Close()
	d := e.deliverer("https://"+addr+"/webhooks", client, nil)
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYdownup01", "invoice.paid", paymentIntent))

	e.deliverOnce(d, 1)
	it := e.item(res.EventID)
	if it.Status != store.StatusPending || it.Attempts != 1 || !strings.HasPrefix(it.LastError, "transport: ") {
		t.Fatalf("while down: status %s attempts %d last error %q", it.Status, it.Attempts, it.LastError)
	}
	if strings.Contains(it.LastError, "https://") {
		t.Errorf("last error names the URL: %q", it.LastError)
	}

	if srv.Listener, err = net.Listen("tcp", addr); err != nil {
		t.Skipf("the freed port was taken meanwhile: %v", err)
	}
	srv.StartTLS()
	e.clock.Advance(webhooks.DefaultBackoffBase)
	e.deliverOnce(d, 1)
	if it = e.item(res.EventID); it.Status != store.StatusDelivered || it.Attempts != 2 {
		t.Errorf("after the app came back: status %s attempts %d", it.Status, it.Attempts)
	}
	if got := a.deliveries(); len(got) != 1 || got[0].sigErr != nil {
		t.Errorf("app deliveries = %+v", got)
	}
}

// TestDeliverDeadThenReplay: failures past MaxAge make the item dead with a webhook_dead
// record; the payload stays for a replay, which delivers it.
func TestDeliverDeadThenReplay(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock, http.StatusInternalServerError, http.StatusBadGateway)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), func(o *webhooks.DelivererOptions) { o.MaxAge = time.Hour })
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYdead0001", "invoice.payment_failed", paymentIntent))

	e.deliverOnce(d, 1) // 500, within MaxAge: retried
	if it := e.item(res.EventID); it.Status != store.StatusPending {
		t.Fatalf("after the first failure: %s", it.Status)
	}
	e.clock.Advance(time.Hour + time.Minute)
	e.deliverOnce(d, 1) // 502, past MaxAge: dead
	it := e.item(res.EventID)
	if it.Status != store.StatusDead || it.Attempts != 2 || it.Payload == nil || it.LastError != "app answered 502" {
		t.Fatalf("past max age: status %s attempts %d payload kept %v last error %q", it.Status, it.Attempts, it.Payload != nil, it.LastError)
	}
	recs := e.audits(audit.EventWebhookDead)
	if len(recs) != 1 {
		t.Fatalf("%d webhook_dead records, want 1", len(recs))
	}
	dt := details(t, recs[0])
	if recs[0].Resource != res.EventID || recs[0].Outcome != audit.Failure || recs[0].Reason != webhooks.ReasonMaxAge ||
		dt[webhooks.DetailAttempts] != "2" || dt[webhooks.DetailStatus] != "502" {
		t.Errorf("webhook_dead = %+v details %v", recs[0], dt)
	}
	e.clock.Advance(24 * time.Hour)
	e.deliverOnce(d, 0) // dead items are not claimed

	if err := e.st.ReplayOutbox(context.Background(), res.EventID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	e.deliverOnce(d, 1)
	if it = e.item(res.EventID); it.Status != store.StatusDelivered || it.Attempts != 3 || it.Payload != nil {
		t.Errorf("after replay: status %s attempts %d payload nil %v", it.Status, it.Attempts, it.Payload == nil)
	}
	if n := len(e.audits(audit.EventWebhookDelivered)); n != 1 {
		t.Errorf("%d webhook_delivered records after the replay, want 1", n)
	}
}

// TestDeliverAppDedup: the app acts on an event, then fails to acknowledge it (500);
// tokenwall delivers it again with the same Tokenwall-Event-Id and body, each time signed,
// so the app's dedup recognises the repeat and acts once.
func TestDeliverAppDedup(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock, http.StatusInternalServerError)
	a.processBeforeFail = true
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), nil)
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYappdup01", "customer.updated", paymentIntent))

	e.deliverOnce(d, 1)
	e.clock.Advance(webhooks.DefaultBackoffBase)
	e.deliverOnce(d, 1)
	got := a.deliveries()
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(got))
	}
	for i, g := range got {
		if g.id != res.EventID || g.sigErr != nil || !bytes.Equal(g.body, got[0].body) {
			t.Errorf("delivery %d: id %q signature %v same body %v", i, g.id, g.sigErr, bytes.Equal(g.body, got[0].body))
		}
	}
	if processed, dups := a.counts(res.EventID); processed != 1 || dups != 1 {
		t.Errorf("app acted %d times and saw %d repeats, want 1 and 1", processed, dups)
	}
}

// TestDeliverBatches: more events than a batch are all delivered once, in parallel rounds.
func TestDeliverBatches(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), func(o *webhooks.DelivererOptions) { o.Batch = 8 })
	for i := range 20 {
		e.mustReceive(stripeEvent(fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYbatch%04d", i), "charge.succeeded", paymentIntent))
	}
	e.deliverOnce(d, 8)
	e.deliverOnce(d, 8)
	e.deliverOnce(d, 4)
	e.deliverOnce(d, 0)
	seen := map[string]int{}
	for _, g := range a.deliveries() {
		seen[g.id]++
		if g.sigErr != nil {
			t.Errorf("%s: %v", g.id, g.sigErr)
		}
	}
	if len(seen) != 20 {
		t.Errorf("%d distinct events delivered, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

// TestDeliverRedirectIsFailure: a 3xx is not followed (the payload goes nowhere else).
func TestDeliverRedirectIsFailure(t *testing.T) {
	e := newEnv(t, nil)
	elsewhere := newApp(e.clock)
	other := startApp(t, elsewhere)
	redirect := httptest.NewTLSServer(http.RedirectHandler(other.URL, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	d := e.deliverer(redirect.URL, redirect.Client(), nil)
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYredir001", "charge.succeeded", paymentIntent))
	e.deliverOnce(d, 1)
	if it := e.item(res.EventID); it.Status != store.StatusPending || it.LastError != "app answered 307" {
		t.Errorf("after a redirect: status %s last error %q", it.Status, it.LastError)
	}
	if n := len(elsewhere.deliveries()); n != 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// claimWatch reports each ClaimOutbox call, so a test knows Run has finished a round.
type claimWatch struct {
	store.Outbox
	claimed chan int
}

func (c claimWatch) ClaimOutbox(ctx context.Context, owner string, n int, lease time.Duration, now time.Time) ([]store.OutboxItem, error) {
	items, err := c.Outbox.ClaimOutbox(ctx, owner, n, lease, now)
	c.claimed <- len(items)
	return items, err
}

// auditWatch reports each event type recorded, so a test knows a delivery is finished.
type auditWatch struct {
	webhooks.Recorder
	recorded chan string
}

func (a auditWatch) Record(ctx context.Context, ev audit.Event) error {
	err := a.Recorder.Record(ctx, ev)
	a.recorded <- ev.Type
	return err
}

// TestRunKick: with an hour between polls, a receive's Notify (wired to Kick) is what makes
// Run deliver at once; Run returns when its context ends.
func TestRunKick(t *testing.T) {
	var d *webhooks.Deliverer
	e := newEnv(t, func(o *webhooks.ReceiverOptions) { o.Notify = func() { d.Kick() } })
	a := newApp(e.clock)
	srv := startApp(t, a)
	watch := claimWatch{Outbox: e.st, claimed: make(chan int, 16)}
	recorded := auditWatch{Recorder: e.trail, recorded: make(chan string, 16)}
	d = e.deliverer(srv.URL, srv.Client(), func(o *webhooks.DelivererOptions) {
		o.Poll, o.Store, o.Audit = time.Hour, watch, recorded
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if n := waitFor(t, watch.claimed); n != 0 {
		t.Fatalf("first round claimed %d", n)
	}
	res := e.mustReceive(stripeEvent("evt_1Q0PsIJvEtkwdCNYkick0001", "charge.succeeded", paymentIntent))
	if n := waitFor(t, watch.claimed); n != 1 {
		t.Fatalf("kicked round claimed %d, want 1", n)
	}
	if typ := waitFor(t, recorded.recorded); typ != audit.EventWebhookDelivered {
		t.Fatalf("deliverer recorded %q, want %s", typ, audit.EventWebhookDelivered)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if it := e.item(res.EventID); it.Status != store.StatusDelivered {
		t.Errorf("status %s, want delivered", it.Status)
	}
}

func waitFor[T any](t *testing.T, c <-chan T) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
	var zero T
	return zero
}

func TestNewDelivererValidates(t *testing.T) {
	e := newEnv(t, nil)
	key := func() ([]byte, error) { return signingKey, nil }
	ok := webhooks.DelivererOptions{URL: "https://billing.internal/webhooks", SigningKey: key, Store: e.st, Audit: e.trail, Owner: "r1"}
	if _, err := webhooks.NewDeliverer(ok); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*webhooks.DelivererOptions)
	}{
		{name: "no url", edit: func(o *webhooks.DelivererOptions) { o.URL = "" }},
		{name: "relative url", edit: func(o *webhooks.DelivererOptions) { o.URL = "/webhooks" }},
		{name: "ftp url", edit: func(o *webhooks.DelivererOptions) { o.URL = "ftp://billing.internal/" }},
		{name: "no key", edit: func(o *webhooks.DelivererOptions) { o.SigningKey = nil }},
		{name: "no owner", edit: func(o *webhooks.DelivererOptions) { o.Owner = "" }},
		{name: "timeout not below lease", edit: func(o *webhooks.DelivererOptions) { o.Timeout, o.Lease = time.Minute, time.Minute }},
		{name: "cap below base", edit: func(o *webhooks.DelivererOptions) { o.BackoffBase, o.BackoffCap = time.Minute, time.Second }},
		{name: "negative batch", edit: func(o *webhooks.DelivererOptions) { o.Batch = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			if d, err := webhooks.NewDeliverer(o); err == nil || d != nil {
				t.Errorf("NewDeliverer = %v, %v; want an error", d, err)
			}
		})
	}
}
