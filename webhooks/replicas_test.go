package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/webhooks"
)

// replicaEvents is how many events TestReplicasOnPostgresDeliverEachEventOnce receives.
const replicaEvents = 200

// TestReplicasOnPostgresDeliverEachEventOnce: two replicas (two pools, two audit trails, two
// Deliverers with their own owner names) on one PostgreSQL database receive events
// alternately and deliver them concurrently to one app. Every event is delivered once and
// purged, no event is ever in flight twice at the same moment, both replicas deliver, and
// the two trails leave one valid chain. When the app fails the first attempt of every event,
// retries move between the replicas and still never overlap.
func TestReplicasOnPostgresDeliverEachEventOnce(t *testing.T) {
	pg := newPGCluster(t)
	cases := []replicaCase{
		{name: "app answers 200", failFirst: false, wantAttempts: 1},
		{name: "first attempt of each event fails", failFirst: true, wantAttempts: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runReplicaCase(t, pg, tc)
		})
	}
}

// replicaCase is one case of TestReplicasOnPostgresDeliverEachEventOnce.
type replicaCase struct {
	name string
	// failFirst makes the app answer 500 to the first attempt of every event.
	failFirst    bool
	wantAttempts int
}

// runReplicaCase runs two replicas on a fresh database of pg against one onceApp, has them
// receive replicaEvents events and deliver them all, then checks the outbox, the app, which
// replica made each attempt, the replicas' logs and the audit trail.
func runReplicaCase(t *testing.T, pg *pgCluster, tc replicaCase) {
	t.Helper()
	ctx := context.Background()
	dsn := pg.database(t)
	signer := newLocalSigner(t) // the transit key all replicas share
	a := newOnceApp(tc.failFirst)
	srv := httptest.NewTLSServer(a)
	t.Cleanup(srv.Close)
	attempts := &attemptLog{byID: map[string][]attempt{}}

	replicas := []*pgReplica{newPGReplica(t, dsn, "replica-a", signer), newPGReplica(t, dsn, "replica-b", signer)}
	logs := addReplicaDeliverers(t, replicas, srv, attempts)
	halt := runReplicas(t, ctx, replicas)

	ids := make([]string, replicaEvents)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYrep%05d", i)
	}
	receiveAlternately(t, ctx, replicas, ids)

	// Wait until every event is delivered, then stop both replicas.
	waitReplicasDelivered(t, ctx, replicas[0], len(ids))
	halt()
	for _, r := range replicas {
		if err := r.trail.Close(ctx); err != nil {
			t.Fatalf("%s: close trail: %v", r.name, err)
		}
	}

	checkReplicaOutbox(t, ctx, replicas[1], len(ids), tc.wantAttempts)
	checkOnceApp(t, a, ids, tc.wantAttempts)
	checkReplicaAttempts(t, attempts, replicas, ids, tc)
	checkNoFailedRounds(t, logs)
	checkReplicaTrails(t, ctx, replicas, signer, ids, tc.wantAttempts)
}

// addReplicaDeliverers gives each replica a Deliverer to srv that logs to a file of its own
// and records its attempts in attempts under its name; it returns the log files' paths.
func addReplicaDeliverers(t *testing.T, replicas []*pgReplica, srv *httptest.Server, attempts *attemptLog) []string {
	t.Helper()
	base := srv.Client().Transport.(*http.Transport)
	logs := make([]string, len(replicas))
	for i, r := range replicas {
		logf := testkit.LogFile(t, r.name+".log")
		logs[i] = logf.Name()
		// A connection pool of its own, as a separate process would have.
		client := &http.Client{Transport: ownerTransport{base: base.Clone(), owner: r.name, log: attempts}}
		r.newDeliverer(t, srv.URL, client, func(o *webhooks.DelivererOptions) {
			// Leases far longer than a request: a second delivery could only come from
			// a claim that ignored a live lease.
			o.Lease, o.Timeout = 20*time.Second, 5*time.Second
			o.Batch, o.Poll = 8, 5*time.Millisecond
			o.BackoffBase, o.BackoffCap = 2*time.Millisecond, 20*time.Millisecond
			o.Log = zerolog.New(logf)
		})
	}
	return logs
}

// runReplicas runs every replica's Deliverer until the returned function is called, which
// stops them and waits for them to return. It is called when the test ends too.
func runReplicas(t *testing.T, ctx context.Context, replicas []*pgReplica) (halt func()) {
	t.Helper()
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	for _, r := range replicas {
		running.Go(func() { r.d.Run(runCtx) })
	}
	halt = func() { stop(); running.Wait() }
	// Registered after the stores and trails, so it runs before they close, even
	// when the test fails half-way.
	t.Cleanup(halt)
	return halt
}

// receiveAlternately has the replicas receive the events ids, in turn, from four concurrent
// senders; it stops the test if any Receive fails or reports a duplicate.
func receiveAlternately(t *testing.T, ctx context.Context, replicas []*pgReplica, ids []string) {
	t.Helper()
	var senders sync.WaitGroup
	const nSenders = 4
	for s := range nSenders {
		senders.Go(func() {
			for i := s; i < len(ids); i += nSenders {
				r := replicas[i%len(replicas)]
				body := stripeEvent(ids[i], "payment_intent.succeeded", paymentIntent)
				h := http.Header{}
				h.Set(webhooks.StripeSignatureHeader, stripeHeader(body, secretNew, time.Now()))
				res, err := r.recv.Receive(ctx, h, body, "203.0.113.7", fmt.Sprintf("req-%s-%05d", r.name, i))
				if err != nil || res.Duplicate {
					t.Errorf("%s: Receive %s: duplicate %v, %v", r.name, ids[i], res.Duplicate, err)
					return
				}
			}
		})
	}
	senders.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// waitReplicasDelivered waits, for up to 60 s, until r's outbox lists n delivered events.
func waitReplicasDelivered(t *testing.T, ctx context.Context, r *pgReplica, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		done, err := r.st.ListOutbox(ctx, store.StatusDelivered, -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered after 60 s", len(done), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkReplicaOutbox checks the outbox, read through replica r: n events, each delivered,
// purged, attempted as often as the app's script demands (wantAttempts), and leased by
// nobody.
func checkReplicaOutbox(t *testing.T, ctx context.Context, r *pgReplica, n, wantAttempts int) {
	t.Helper()
	items, err := r.st.ListOutbox(ctx, "", -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != n {
		t.Fatalf("%d outbox items, want %d", len(items), n)
	}
	for _, it := range items {
		if it.Status != store.StatusDelivered || it.Payload != nil || it.Attempts != wantAttempts || it.LeaseOwner != "" {
			t.Errorf("%s: status %s, payload nil %v, attempts %d (want %d), lease owner %q",
				it.ID, it.Status, it.Payload == nil, it.Attempts, wantAttempts, it.LeaseOwner)
		}
	}
}

// checkOnceApp checks what the app saw: each event accepted exactly once, requested exactly
// wantAttempts times, every signature valid, never two deliveries of one event at once.
func checkOnceApp(t *testing.T, a *onceApp, ids []string, wantAttempts int) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if a.requests[id] != wantAttempts || a.accepted[id] != 1 {
			t.Errorf("%s: app got %d requests (want %d) and accepted %d (want 1)", id, a.requests[id], wantAttempts, a.accepted[id])
		}
	}
	if len(a.overlaps) > 0 {
		t.Errorf("%d deliveries arrived while another of the same event was in flight, first %s", len(a.overlaps), a.overlaps[0])
	}
	if a.badSignatures > 0 {
		t.Errorf("%d deliveries with a signature the app rejects", a.badSignatures)
	}
}

// checkReplicaAttempts checks which replica made each attempt: both replicas delivered and,
// when the first attempts fail, some events' retries were made by the other replica.
func checkReplicaAttempts(t *testing.T, attempts *attemptLog, replicas []*pgReplica, ids []string, tc replicaCase) {
	t.Helper()
	attempts.mu.Lock()
	delivered := map[string]int{}
	moved := 0
	for _, id := range ids {
		as := attempts.byID[id]
		if len(as) != tc.wantAttempts {
			t.Errorf("%s: %d attempts left a replica, want %d", id, len(as), tc.wantAttempts)
			continue
		}
		last := as[len(as)-1]
		if last.status == http.StatusOK {
			delivered[last.owner]++
		}
		if as[0].owner != last.owner {
			moved++
		}
	}
	attempts.mu.Unlock()
	for _, r := range replicas {
		if delivered[r.name] == 0 {
			t.Errorf("%s delivered nothing (deliveries per replica: %v)", r.name, delivered)
		}
	}
	t.Logf("deliveries per replica: %v", delivered)
	if tc.failFirst {
		if moved == 0 {
			t.Error("no retry was made by the other replica")
		}
		t.Logf("events whose retry the other replica made: %d of %d", moved, len(ids))
	}
}

// checkNoFailedRounds checks that no replica's log reports a failed round: a lost lease
// (store.ErrNotOwner) would show there.
func checkNoFailedRounds(t *testing.T, logs []string) {
	t.Helper()
	for _, p := range logs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("round failed")) {
			t.Errorf("%s reports failed rounds:\n%s", filepath.Base(p), b)
		}
	}
}

// checkReplicaTrails checks that the two trails appended to one chain, which verifies
// whole: one webhook_received and one webhook_delivered record per event, the latter with
// wantAttempts attempts.
func checkReplicaTrails(t *testing.T, ctx context.Context, replicas []*pgReplica, signer localSigner, ids []string, wantAttempts int) {
	t.Helper()
	recs := map[string]map[string]int{}
	err := replicas[0].st.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if recs[r.Event] == nil {
			recs[r.Event] = map[string]int{}
		}
		recs[r.Event][r.Resource]++
		if r.Event == audit.EventWebhookDelivered {
			if got := details(t, r)[webhooks.DetailAttempts]; got != fmt.Sprint(wantAttempts) {
				t.Errorf("webhook_delivered %s: attempts %s, want %d", r.Resource, got, wantAttempts)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{audit.EventWebhookReceived, audit.EventWebhookDelivered} {
		for _, id := range ids {
			if recs[ev][id] != 1 {
				t.Errorf("%s: %d %s records, want 1", id, recs[ev][id], ev)
			}
		}
	}
	// Every event is a payment_intent.succeeded of one payment: one payment_state each.
	if got := recs[audit.EventPaymentState]["pi_3Q0PsIJvEtkwdCNY1abcdEFG"]; got != len(ids) {
		t.Errorf("%d payment_state records, want %d", got, len(ids))
	}
	res, err := audit.Verify(ctx, replicas[1].st, audit.StaticKey(auditKey), signer, 0, 0)
	if err != nil || !res.OK || res.Records != 3*int64(len(ids)) {
		t.Errorf("audit.Verify: %+v, %v; want OK with %d records", res, err, 3*len(ids))
	}
}

// onceApp is an app endpoint that watches for repeated and overlapping deliveries. It
// verifies tokenwall's signature, holds each request a little to widen the window in which
// a second delivery of the same event could overlap it, and, with failFirst, answers 500 to
// the first request of each event.
type onceApp struct {
	failFirst bool

	mu            sync.Mutex
	inFlight      map[string]int
	requests      map[string]int
	accepted      map[string]int
	overlaps      []string // event ids that arrived while one of theirs was in flight
	badSignatures int
}

func newOnceApp(failFirst bool) *onceApp {
	return &onceApp{failFirst: failFirst, inFlight: map[string]int{}, requests: map[string]int{}, accepted: map[string]int{}}
}

func (a *onceApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	id := r.Header.Get(webhooks.EventIDHeader)
	sigErr := webhooks.Verify(r.Header.Get(webhooks.SignatureHeader), body, [][]byte{signingKey}, webhooks.DefaultTolerance, time.Now())
	a.mu.Lock()
	a.inFlight[id]++
	if a.inFlight[id] > 1 {
		a.overlaps = append(a.overlaps, id)
	}
	a.requests[id]++
	status := http.StatusOK
	switch {
	case sigErr != nil:
		a.badSignatures++
		status = http.StatusUnauthorized
	case a.failFirst && a.requests[id] == 1:
		status = http.StatusInternalServerError
	default:
		a.accepted[id]++
	}
	a.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	a.mu.Lock()
	a.inFlight[id]--
	a.mu.Unlock()
	w.WriteHeader(status)
}

// attempt is one delivery request as the replica that sent it saw it.
type attempt struct {
	owner  string
	status int // 0: no response
}

// attemptLog records, per event id, which replica made each attempt, in order.
type attemptLog struct {
	mu   sync.Mutex
	byID map[string][]attempt
}

// ownerTransport is a replica's HTTP transport that logs each request's event id and
// answer under the replica's name: the deliveries themselves carry no owner.
type ownerTransport struct {
	base  http.RoundTripper
	owner string
	log   *attemptLog
}

func (t ownerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.log.mu.Lock()
	id := req.Header.Get(webhooks.EventIDHeader)
	t.log.byID[id] = append(t.log.byID[id], attempt{owner: t.owner, status: status})
	t.log.mu.Unlock()
	return resp, err
}
