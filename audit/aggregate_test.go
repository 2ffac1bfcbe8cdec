package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// memRecorder is Next for the aggregator's unit tests: it keeps what it is given and fails
// while failing is set.
type memRecorder struct {
	mu      sync.Mutex
	evs     []Event
	failing bool
}

var errDown = errors.New("trail down")

func (m *memRecorder) Record(_ context.Context, ev Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing {
		return errDown
	}
	m.evs = append(m.evs, ev)
	return nil
}

func (m *memRecorder) setFailing(f bool) {
	m.mu.Lock()
	m.failing = f
	m.mu.Unlock()
}

func (m *memRecorder) events() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Event(nil), m.evs...)
}

// total is how many events the records of type typ stand for (Repeats), and how many
// records there are.
func total(evs []Event, typ string) (events int64, records int) {
	for _, ev := range evs {
		if ev.Type == typ {
			events += Repeats(ev.Details)
			records++
		}
	}
	return events, records
}

// newTestAggregator is an aggregator over a memRecorder whose interval never ends within
// a test unless it says so.
func newTestAggregator(t *testing.T, o AggregatorOptions) (*Aggregator, *memRecorder) {
	t.Helper()
	m := &memRecorder{}
	o.Next = m
	if o.Interval == 0 {
		o.Interval = time.Hour
	}
	a, err := NewAggregator(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a, m
}

func badKey(ip string) Event {
	return Event{Type: EventAPIAuthFailed, Actor: ActorAnonymous, Outcome: Failure, Reason: "bad_api_key", SourceIP: ip,
		Resource: "GET /v1/admin/webhooks", Details: map[string]string{"scope": "admin"}}
}

func TestAggregatorFirstAtOnceRepeatsCounted(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{})
	for i := range 1000 {
		ev := badKey("203.0.113.7")
		ev.RequestID = fmt.Sprintf("req-%d", i)
		if err := a.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if evs := m.events(); len(evs) != 1 || evs[0].RequestID != "req-0" || evs[0].Details[DetailCount] != "" {
		t.Fatalf("before the interval ends: %+v, want the first event alone, as it came", evs)
	}
	if n := a.Pending(); n != 999 {
		t.Fatalf("pending %d, want 999", n)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := m.events()
	if n, recs := total(evs, EventAPIAuthFailed); n != 1000 || recs != 2 {
		t.Fatalf("%d records for %d events, want 2 for 1000", recs, n)
	}
	rep := evs[1]
	if rep.Details[DetailCount] != "999" || rep.Details["scope"] != "admin" || rep.Reason != "bad_api_key" || rep.Actor != ActorAnonymous ||
		rep.Resource != "GET /v1/admin/webhooks" || rep.SourceIP != "203.0.113.7" || rep.RequestID != "" || !rep.Time.IsZero() {
		t.Errorf("repeat record %+v", rep)
	}
	first, err1 := time.Parse(time.RFC3339Nano, rep.Details[DetailFirst])
	last, err2 := time.Parse(time.RFC3339Nano, rep.Details[DetailLast])
	if err1 != nil || err2 != nil || last.Before(first) {
		t.Errorf("first %q last %q", rep.Details[DetailFirst], rep.Details[DetailLast])
	}
	// The key is still known: the next repeat is counted, not written at once.
	if err := a.Record(ctx, badKey("203.0.113.7")); err != nil || len(m.events()) != 2 || a.Pending() != 1 {
		t.Errorf("a repeat after a flush: %v, %d records, %d pending", err, len(m.events()), a.Pending())
	}
}

func TestAggregatorKeys(t *testing.T) {
	ctx := context.Background()
	client := func(ip string) string { // as proxy.ClientKey groups an IPv6 /64
		if ip == "2001:db8:1:2::a" || ip == "2001:db8:1:2::b" {
			return "2001:db8:1:2::/64"
		}
		return ip
	}
	a, m := newTestAggregator(t, AggregatorOptions{Client: client})
	other := func(f func(*Event)) Event { ev := badKey("203.0.113.7"); f(&ev); return ev }
	firsts := []Event{
		badKey("203.0.113.7"),
		badKey("203.0.113.8"),
		badKey("2001:db8:1:2::a"),
		other(func(e *Event) { e.Reason = "no_api_key" }),
		other(func(e *Event) { e.Actor = "key:abcdefghijklmnop" }),
		other(func(e *Event) { e.Details = map[string]string{"scope": "payments"} }),
		other(func(e *Event) { e.Type = EventWebhookRejected }),
	}
	repeats := []Event{
		badKey("203.0.113.7"),
		badKey("2001:db8:1:2::b"), // the same /64
		other(func(e *Event) { e.Resource = "POST /v1/payments"; e.RequestID = "x" }),
	}
	for _, ev := range append(firsts, repeats...) {
		if err := a.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(m.events()); n != len(firsts) {
		t.Fatalf("%d records written at once, want %d (one per key)", n, len(firsts))
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reps := m.events()[len(firsts):]
	if len(reps) != 2 {
		t.Fatalf("repeat records %+v, want 2", reps)
	}
	for _, r := range reps {
		switch r.Details[DetailCount] {
		case "2": // 203.0.113.7: two resources, so none named
			if r.SourceIP != "203.0.113.7" || r.Resource != "" || r.RequestID != "" {
				t.Errorf("repeats with different resources: %+v", r)
			}
		case "1": // the /64: its address differs from the first's, the client is named
			if r.SourceIP != "2001:db8:1:2::b" {
				t.Errorf("a single repeat keeps its address: %+v", r)
			}
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
}

func TestAggregatorSourceBecomesTheClient(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{Client: func(string) string { return "2001:db8:1:2::/64" }})
	for _, ip := range []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2::3"} {
		if err := a.Record(ctx, badKey(ip)); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	evs := m.events()
	if len(evs) != 2 || evs[1].SourceIP != "2001:db8:1:2::/64" || evs[1].Details[DetailCount] != "2" {
		t.Fatalf("records %+v, want the repeats of two addresses under their /64", evs)
	}
}

func TestAggregatorPassesOtherEvents(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{})
	ev := Event{Type: EventCharge, Actor: "key:abcdefghijklmnop", Outcome: Success, SourceIP: "203.0.113.7", Resource: "pi_1"}
	for range 3 {
		if err := a.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if n, recs := total(m.events(), EventCharge); n != 3 || recs != 3 || a.Pending() != 0 {
		t.Errorf("charges: %d records, %d pending; want each written at once", recs, a.Pending())
	}
}

func TestAggregatorFlushesAtIntervalEnd(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{Interval: 20 * time.Millisecond})
	for range 5 {
		if err := a.Record(ctx, badKey("203.0.113.7")); err != nil {
			t.Fatal(err)
		}
	}
	// The flush runs on its own; poll for its record (no assertion on how long it took).
	deadline := time.Now().Add(10 * time.Second)
	for len(m.events()) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n, recs := total(m.events(), EventAPIAuthFailed); n != 5 || recs != 2 {
		t.Fatalf("after an interval: %d records for %d events, want 2 for 5", recs, n)
	}
}

func TestAggregatorFlushesAtClose(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{})
	for range 7 {
		if err := a.Record(ctx, badKey("203.0.113.7")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, recs := total(m.events(), EventAPIAuthFailed); n != 7 || recs != 2 {
		t.Fatalf("after Close: %d records for %d events, want 2 for 7", recs, n)
	}
	// Closed: every event is written at once.
	if err := a.Record(ctx, badKey("203.0.113.7")); err != nil || len(m.events()) != 3 {
		t.Errorf("after Close: %v, %d records, want the event written at once", err, len(m.events()))
	}
}

func TestAggregatorTableIsBounded(t *testing.T) {
	ctx := context.Background()
	const maxKeys, clients, each = 8, 100, 3
	a, m := newTestAggregator(t, AggregatorOptions{MaxKeys: maxKeys})
	// Within the bound: a first and a repeat record per client.
	for i := range 4 * 50 {
		if err := a.Record(ctx, badKey(fmt.Sprintf("192.0.2.%d", i%4))); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, recs := total(m.events(), EventAPIAuthFailed); n != 200 || recs != 8 {
		t.Fatalf("4 clients within the bound: %d records for %d events, want 8 for 200", recs, n)
	}
	// Past it: more clients than keys, each a first again when it comes back; the table
	// stays bounded and the counts still add up.
	for round := range each {
		for c := range clients {
			if err := a.Record(ctx, badKey(fmt.Sprintf("198.51.100.%d", c))); err != nil {
				t.Fatal(err)
			}
			a.mu.Lock()
			n := len(a.table)
			a.mu.Unlock()
			if n > maxKeys {
				t.Fatalf("round %d client %d: %d keys held, bound %d", round, c, n, maxKeys)
			}
		}
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := total(m.events(), EventAPIAuthFailed); n != 200+clients*each {
		t.Errorf("%d events recorded, want %d", n, 200+clients*each)
	}
}

// TestAggregatorLosesNothingWhenTheTrailFails: a first record the trail refuses is owed and
// written at the next flush; a flush the trail refuses is retried at the next.
func TestAggregatorLosesNothingWhenTheTrailFails(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{})
	m.setFailing(true)
	if err := a.Record(ctx, badKey("203.0.113.7")); !errors.Is(err, errDown) {
		t.Fatalf("first record with the trail down: %v, want its error", err)
	}
	for range 4 {
		if err := a.Record(ctx, badKey("203.0.113.7")); err != nil {
			t.Fatalf("repeat: %v", err)
		}
	}
	if err := a.Flush(ctx); !errors.Is(err, errDown) {
		t.Fatalf("flush with the trail down: %v", err)
	}
	if n := a.Pending(); n != 5 {
		t.Fatalf("pending after a failed flush: %d, want 5", n)
	}
	m.setFailing(false)
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, recs := total(m.events(), EventAPIAuthFailed); n != 5 || recs != 1 {
		t.Errorf("%d records for %d events, want 1 for 5", recs, n)
	}
}

func TestAggregatorConcurrentCountsAddUp(t *testing.T) {
	ctx := context.Background()
	a, m := newTestAggregator(t, AggregatorOptions{MaxKeys: 16})
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := badKey(fmt.Sprintf("192.0.2.%d", (w*each+i)%40))
				if i%3 == 0 {
					ev.Type = EventWebhookRejected
				}
				if err := a.Record(ctx, ev); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					if err := a.Flush(ctx); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	auth, _ := total(m.events(), EventAPIAuthFailed)
	hooks, _ := total(m.events(), EventWebhookRejected)
	if auth+hooks != workers*each {
		t.Errorf("%d + %d events recorded, want %d", auth, hooks, workers*each)
	}
}

// TestAggregatorOnTheTrail: 10,000 refusals through a real trail leave a handful of
// records that verify and add up.
func TestAggregatorOnTheTrail(t *testing.T) {
	st, _ := openSQLite(t)
	key := hmacKey(t)
	tr, err := New(Options{Store: st, Key: staticSecret(key), Signer: transit, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAggregator(AggregatorOptions{Next: tr, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for range 2500 {
				if err := a.Record(ctx, badKey(fmt.Sprintf("203.0.113.%d", w))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	var recs int
	err = st.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if r.Event == EventAPIAuthFailed {
			recs++
			n += Repeats(decodeDetails(t, r.Details))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 10_000 || recs != 8 {
		t.Errorf("%d records for %d refusals, want 8 (a first and a repeat record per client) for 10000", recs, n)
	}
	if res, err := Verify(ctx, st, StaticKey(key), transit, 0, 0); err != nil || !res.OK {
		t.Errorf("verify: %v %+v", err, res)
	}
}

func decodeDetails(t *testing.T, s string) map[string]string {
	t.Helper()
	if s == "" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
