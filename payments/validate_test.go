package payments

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// untouchedGateway fails the test when called: every case here is refused before the gateway.
type untouchedGateway struct {
	gateway.Payments
	t *testing.T
}

func (g untouchedGateway) CreatePayment(context.Context, gateway.PaymentRequest, string) (gateway.Payment, error) {
	g.t.Error("the gateway was called for a refused charge")
	return gateway.Payment{}, errors.New("called")
}

// noAudit fails the test when a refused request writes an audit record of a gateway call.
type noAudit struct{ t *testing.T }

func (a noAudit) Record(_ context.Context, ev audit.Event) error {
	a.t.Errorf("audit record %s for a request refused before the gateway", ev.Type)
	return nil
}

// TestChargeRefusesBadInput: each bad input gets its kind with a detail that names what is
// wrong and never echoes the value; nothing reaches the gateway.
func TestChargeRefusesBadInput(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "payments.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(Options{Gateway: untouchedGateway{t: t}, Store: st, Audit: noAudit{t: t}, Reason: func(error) string { return "x" },
		Limits: Limits{MaxAmount: 100_000, Currencies: []string{"eur", "usd"}, ISO4217: func(c string) bool { return c == "eur" || c == "usd" || c == "gbp" }}})
	if err != nil {
		t.Fatal(err)
	}
	ok := ChargeRequest{Amount: 1999, Currency: "eur", Token: "pm_1Q0PsIJvEtkwdCNY"}
	tests := []struct {
		name   string
		edit   func(*ChargeRequest)
		want   error
		detail string
	}{
		{name: "zero amount", edit: func(r *ChargeRequest) { r.Amount = 0 }, want: ErrInvalidAmount, detail: "positive integer"},
		{name: "negative amount", edit: func(r *ChargeRequest) { r.Amount = -5 }, want: ErrInvalidAmount, detail: "positive integer"},
		{name: "amount above the maximum", edit: func(r *ChargeRequest) { r.Amount = 100_001 }, want: ErrInvalidAmount, detail: "maximum"},
		{name: "not a currency", edit: func(r *ChargeRequest) { r.Currency = "EURO" }, want: ErrInvalidCurrency, detail: "ISO 4217"},
		{name: "currency not allowed", edit: func(r *ChargeRequest) { r.Currency = "gbp" }, want: ErrCurrencyNotAllowed, detail: "eur, usd"},
		{name: "card number as token", edit: func(r *ChargeRequest) { r.Token = "4242424242424242" }, want: ErrInvalidToken, detail: "pm_"},
		{name: "customer of the wrong shape", edit: func(r *ChargeRequest) { r.Customer = "cust_1" }, want: ErrInvalidID, detail: "customer id"},
		{name: "unknown capture", edit: func(r *ChargeRequest) { r.Capture = "later" }, want: ErrInvalidParameter, detail: "automatic or manual"},
		{name: "card in the description", edit: func(r *ChargeRequest) { r.Description = "card 4000 0566 5566 5556" }, want: ErrSensitive, detail: "card"},
		{name: "IBAN in metadata", edit: func(r *ChargeRequest) { r.Metadata = map[string]string{"iban": "DE89370400440532013000"} }, want: ErrSensitive, detail: "bank"},
		{name: "description too long", edit: func(r *ChargeRequest) { r.Description = strings.Repeat("a", 501) }, want: ErrInvalidParameter, detail: "500 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			_, err := svc.Charge(context.Background(), Caller{Actor: "key:test"}, r, "idem")
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.detail) {
				t.Fatalf("err = %v, want %v saying %q", err, tc.want, tc.detail)
			}
			for _, secret := range []string{"4242424242424242", "4000 0566 5566 5556", "DE89370400440532013000"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error echoes the input: %v", err)
				}
			}
		})
	}
}

// TestIdempotencyClaims: a fresh key acts with a gateway key; the same request after Save
// is a replay; another request with the key is refused; a key in flight is refused.
func TestIdempotencyClaims(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "idem.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	idem := NewIdempotency(st, 3600e9, nil)
	if _, err := idem.Begin(ctx, "kid", "", []byte("r")); !errors.Is(err, ErrIdempotencyKeyMissing) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := idem.Begin(ctx, "kid", "has space", []byte("r")); !errors.Is(err, ErrIdempotencyKeyMissing) {
		t.Fatalf("key with a space: %v", err)
	}
	c, err := idem.Begin(ctx, "kid", "k1", []byte("request one"))
	if err != nil || c.Replay != nil || !strings.HasPrefix(c.GatewayKey, "tw_") {
		t.Fatalf("fresh claim: %+v, %v", c, err)
	}
	if _, err := idem.Begin(ctx, "kid", "k1", []byte("request one")); !errors.Is(err, ErrIdempotencyKeyInUse) {
		t.Fatalf("in flight: %v", err)
	}
	if err := idem.Save(ctx, c, 201, []byte(`{"id":"pi_1"}`)); err != nil {
		t.Fatal(err)
	}
	c.Release()
	again, err := idem.Begin(ctx, "kid", "k1", []byte("request one"))
	if err != nil || again.Replay == nil || again.Replay.Status != 201 {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	again.Release()
	if _, err := idem.Begin(ctx, "kid", "k1", []byte("request two")); !errors.Is(err, ErrIdempotencyKeyReused) {
		t.Fatalf("reused: %v", err)
	}
	other, err := idem.Begin(ctx, "other-key", "k1", []byte("request one"))
	if err != nil || other.Replay != nil || other.GatewayKey == c.GatewayKey {
		t.Fatalf("another API key's k1 must be its own: %+v, %v", other, err)
	}
	other.Release()
	// A 5xx is not kept: the retry acts again.
	c5, _ := idem.Begin(ctx, "kid", "k5", []byte("r5"))
	_ = idem.Save(ctx, c5, 503, []byte(`{}`))
	c5.Release()
	if c, err := idem.Begin(ctx, "kid", "k5", []byte("r5")); err != nil || c.Replay != nil {
		t.Fatalf("after a 503: %+v, %v", c, err)
	}
}

// flakyAudit fails the writes whose numbers (1-based) are in fail, and keeps the rest.
type flakyAudit struct {
	mu   sync.Mutex
	n    int
	fail map[int]bool
	kept []audit.Event
}

func (a *flakyAudit) Record(_ context.Context, ev audit.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n++
	if a.fail[a.n] {
		return errors.New("audit store down")
	}
	a.kept = append(a.kept, ev)
	return nil
}

func (a *flakyAudit) types() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, ev := range a.kept {
		out = append(out, ev.Type)
	}
	return out
}

// chargingGateway charges every payment at once and counts the calls.
type chargingGateway struct {
	gateway.Payments
	calls int
}

func (g *chargingGateway) CreatePayment(_ context.Context, r gateway.PaymentRequest, _ string) (gateway.Payment, error) {
	g.calls++
	return gateway.Payment{ID: "pi_1Test", Status: gateway.StatusSucceeded, Amount: r.Amount, Currency: r.Currency}, nil
}

// TestNoGatewayCallUnaudited (issue 12, defect 2): the intent is written before the gateway
// is called, and when it cannot be the gateway is not called; when the outcome cannot be
// written after the gateway acted, the caller still gets the result and an audit_gap record
// is written with the next record.
func TestNoGatewayCallUnaudited(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "gap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newSvc := func(gw gateway.Payments, a Recorder) *Service {
		svc, err := New(Options{Gateway: gw, Store: st, Audit: a, Reason: func(error) string { return "x" },
			Limits: Limits{MaxAmount: 100_000, Currencies: []string{"eur"}, ISO4217: func(string) bool { return true }}})
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	req := ChargeRequest{Amount: 500, Currency: "eur", Token: "pm_1Q0PsIJvEtkwdCNY"}
	caller := Caller{Actor: "key:test", RequestID: "req"}

	t.Run("intent not written: no gateway call", func(t *testing.T) {
		gw := &chargingGateway{}
		_, err := newSvc(gw, &flakyAudit{fail: map[int]bool{1: true}}).Charge(context.Background(), caller, req, "k1")
		if !errors.Is(err, ErrUnavailable) || gw.calls != 0 {
			t.Fatalf("err %v, %d gateway calls; want ErrUnavailable and none", err, gw.calls)
		}
	})
	t.Run("outcome not written: result kept, gap written next", func(t *testing.T) {
		gw := &chargingGateway{}
		a := &flakyAudit{fail: map[int]bool{2: true}}
		svc := newSvc(gw, a)
		p, err := svc.Charge(context.Background(), caller, req, "k2")
		if err != nil || p.ID != "pi_1Test" || gw.calls != 1 || svc.PendingGaps() != 1 {
			t.Fatalf("charge = %+v, %v; %d calls, %d gaps pending", p, err, gw.calls, svc.PendingGaps())
		}
		if _, err := svc.Charge(context.Background(), caller, req, "k3"); err != nil {
			t.Fatal(err)
		}
		want := []string{audit.EventChargeRequested, audit.EventAuditGap, audit.EventChargeRequested, audit.EventCharge}
		if got := a.types(); !slices.Equal(got, want) || svc.PendingGaps() != 0 {
			t.Fatalf("records %v, want %v", got, want)
		}
		gap := a.kept[1]
		if gap.Resource != "pi_1Test" || gap.Details["missed"] != audit.EventCharge || gap.RequestID != "req" {
			t.Errorf("audit_gap %+v", gap)
		}
	})
}
