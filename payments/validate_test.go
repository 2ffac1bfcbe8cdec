package payments

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
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
