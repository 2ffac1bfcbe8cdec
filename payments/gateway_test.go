package payments

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// fakeGateway stands in for the gateway's payments: it keeps the payments and setups it
// made, answers CreatePayment / ConfirmPayment / CreateSetupIntent / ConfirmSetupIntent
// with the next status set by the test (or its error), and counts every call.
type fakeGateway struct {
	gateway.Payments // anything else is a test bug: it panics

	mu       sync.Mutex
	calls    map[string]int
	payments map[string]gateway.Payment
	setups   map[string]gateway.SetupIntent
	seq      int
	// next is what the next create or confirm sets the payment's or setup's status to, with
	// code as its LastErrorCode; err, when set, is returned instead.
	next gateway.PaymentStatus
	code string
	err  error
	// lastPayment and lastSetup are the last requests.
	lastPayment gateway.PaymentRequest
	lastConfirm gateway.ConfirmRequest
	lastSetup   gateway.SetupRequest
}

func newFakeGateway() *fakeGateway {
	return &fakeGateway{calls: map[string]int{}, payments: map[string]gateway.Payment{}, setups: map[string]gateway.SetupIntent{},
		next: gateway.StatusSucceeded}
}

// redirect is the next action of a waiting payment: its URL carries the client secret.
func redirect(id string) *gateway.NextAction {
	return &gateway.NextAction{Type: gateway.NextActionRedirect, RedirectURL: "https://hooks.stripe.test/3ds?client_secret=" + id + "_secret_XYZ",
		ReturnURL: "https://crm.example.com/back"}
}

func (g *fakeGateway) count(call string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[call]
}

func (g *fakeGateway) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.calls {
		n += c
	}
	return n
}

// setPayment stores a payment as the gateway holds it.
func (g *fakeGateway) setPayment(id string, status gateway.PaymentStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.payments[id] = gateway.Payment{ID: id, Status: status, Amount: 500, Currency: "eur"}
}

// setSetup stores a setup as the gateway holds it.
func (g *fakeGateway) setSetup(id string, status gateway.SetupStatus) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.setups[id] = gateway.SetupIntent{ID: id, Status: status, Usage: UsageOffSession}
}

// shape gives p the next status.
func (g *fakeGateway) shape(p gateway.Payment) gateway.Payment {
	p.Status, p.LastErrorCode, p.NextAction = g.next, g.code, nil
	if g.next == gateway.StatusRequiresAction {
		p.NextAction = redirect(p.ID)
	}
	g.payments[p.ID] = p
	return p
}

func (g *fakeGateway) CreatePayment(_ context.Context, r gateway.PaymentRequest, _ string) (gateway.Payment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CreatePayment"]++
	g.lastPayment = r
	if g.err != nil {
		return gateway.Payment{}, g.err
	}
	g.seq++
	return g.shape(gateway.Payment{ID: fmt.Sprintf("pi_Fake%d", g.seq), Amount: r.Amount, Currency: r.Currency, Brand: "visa", Last4: "4242"}), nil
}

func (g *fakeGateway) ConfirmPayment(_ context.Context, id string, r gateway.ConfirmRequest, _ string) (gateway.Payment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["ConfirmPayment"]++
	g.lastConfirm = r
	p, ok := g.payments[id]
	switch {
	case g.err != nil:
		return gateway.Payment{}, g.err
	case !ok:
		return gateway.Payment{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	}
	return g.shape(p), nil
}

func (g *fakeGateway) GetPayment(_ context.Context, id string) (gateway.Payment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["GetPayment"]++
	p, ok := g.payments[id]
	if !ok {
		return gateway.Payment{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	}
	return p, nil
}

func (g *fakeGateway) CancelPayment(_ context.Context, id string, _ string) (gateway.Payment, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CancelPayment"]++
	p, ok := g.payments[id]
	switch {
	case !ok:
		return gateway.Payment{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	case p.Status == gateway.StatusSucceeded:
		return gateway.Payment{}, &gateway.Error{Code: gateway.CodeInvalidRequest, Kind: gateway.ErrRejected}
	}
	p.Status, p.NextAction = gateway.StatusCanceled, nil
	g.payments[id] = p
	return p, nil
}

// shapeSetup gives si the next status, as a setup status.
func (g *fakeGateway) shapeSetup(si gateway.SetupIntent) gateway.SetupIntent {
	si.Status, si.LastErrorCode, si.NextAction = gateway.SetupStatus(g.next), g.code, nil
	if g.next == gateway.StatusRequiresAction {
		si.NextAction = redirect(si.ID)
	}
	g.setups[si.ID] = si
	return si
}

func (g *fakeGateway) CreateSetupIntent(_ context.Context, r gateway.SetupRequest, _ string) (gateway.SetupIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CreateSetupIntent"]++
	g.lastSetup = r
	if g.err != nil {
		return gateway.SetupIntent{}, g.err
	}
	g.seq++
	return g.shapeSetup(gateway.SetupIntent{ID: fmt.Sprintf("seti_Fake%d", g.seq), CustomerID: r.CustomerID, PaymentMethodID: r.Token,
		Usage: r.Usage}), nil
}

func (g *fakeGateway) ConfirmSetupIntent(_ context.Context, id, _ string, _ string) (gateway.SetupIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["ConfirmSetupIntent"]++
	si, ok := g.setups[id]
	switch {
	case g.err != nil:
		return gateway.SetupIntent{}, g.err
	case !ok:
		return gateway.SetupIntent{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	}
	return g.shapeSetup(si), nil
}

func (g *fakeGateway) GetSetupIntent(_ context.Context, id string) (gateway.SetupIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["GetSetupIntent"]++
	si, ok := g.setups[id]
	if !ok {
		return gateway.SetupIntent{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	}
	return si, nil
}

func (g *fakeGateway) CancelSetupIntent(_ context.Context, id string, _ string) (gateway.SetupIntent, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls["CancelSetupIntent"]++
	si, ok := g.setups[id]
	if !ok {
		return gateway.SetupIntent{}, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
	}
	si.Status, si.NextAction = gateway.SetupCanceled, nil
	g.setups[id] = si
	return si, nil
}

// testClock is a clock the tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a service over a fake gateway, a SQLite store and a recording trail.
type fixture struct {
	svc   *Service
	gw    *fakeGateway
	st    *sqlite.Store
	trail *flakyAudit
	clock *testClock
}

// reason is the fixtures' error table: the gateway's public code, else the kind's text.
func reason(err error) string {
	if code := gateway.Code(err); code != "internal_error" {
		return code
	}
	return "error"
}

var testLimits = Limits{MaxAmount: 100_000, Currencies: []string{"eur", "inr"}, ISO4217: func(c string) bool { return len(c) == 3 },
	ReturnURLOrigins: []string{"https://crm.example.com", "http://127.0.0.1:8080"}}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "payments.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{gw: newFakeGateway(), st: st, trail: &flakyAudit{},
		clock: &testClock{t: time.Date(2026, time.November, 28, 10, 0, 0, 0, time.UTC)}}
	f.svc, err = New(Options{Gateway: f.gw, Store: st, Audit: f.trail, Reason: reason, Limits: testLimits, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// pending is the ids of the pending intents, oldest first.
func (f *fixture) pending(t *testing.T) []string {
	t.Helper()
	got, err := f.st.PendingIntentsBefore(context.Background(), f.clock.Now().Add(24*time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	return ids
}

// last is the last record of type typ.
func (f *fixture) last(t *testing.T, typ string) audit.Event {
	t.Helper()
	f.trail.mu.Lock()
	defer f.trail.mu.Unlock()
	for i := len(f.trail.kept) - 1; i >= 0; i-- {
		if f.trail.kept[i].Type == typ {
			return f.trail.kept[i]
		}
	}
	t.Fatalf("no %s record", typ)
	return audit.Event{}
}

// putPending stores a pending intent directly.
func (f *fixture) putPending(t *testing.T, id, kind string, since time.Time) {
	t.Helper()
	if err := f.st.PutPendingIntent(context.Background(), store.PendingIntent{ID: id, Kind: kind, Since: since}); err != nil {
		t.Fatal(err)
	}
}
