package stripe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/gateway"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// leakyMessage goes into canned Stripe errors: neither it nor the key in it may reach the
// error string.
const (
	leakedKey    = "sk_live_51LeakedKeyDoNotPrint00000000"
	leakyMessage = "No such thing; you sent " + leakedKey
)

func stripeError(typ, code, declineCode string) string {
	return fmt.Sprintf(`{"error":{"type":%q,"code":%q,"decline_code":%q,"param":"payment_method","message":%q}}`, typ, code, declineCode, leakyMessage)
}

// TestStripePaymentsErrors checks the mapping of Stripe's refusals to gateway errors and public
// codes: canned Stripe-shaped answers from the front server, and one real refusal of
// stripe-mock. stripe-go retries nothing here (MaxNetworkRetries 0).
func TestStripePaymentsErrors(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	cases := []struct {
		name     string
		answer   *canned // nil: stripe-mock answers
		call     call
		wantKind error
		wantCode string
	}{
		{name: "404 resource_missing", answer: &canned{404, stripeError("invalid_request_error", "resource_missing", "")},
			call: callGet, wantKind: gateway.ErrNotFound, wantCode: "not_found"},
		{name: "400 resource_missing for a parameter", answer: &canned{400, stripeError("invalid_request_error", "resource_missing", "")},
			call: callCreate, wantKind: gateway.ErrNotFound, wantCode: "not_found"},
		{name: "404 without a code", answer: &canned{404, `{"error":{"type":"invalid_request_error","message":"Unrecognized request URL"}}`},
			call: callDelete, wantKind: gateway.ErrNotFound, wantCode: "not_found"},
		{name: "decline for insufficient funds", answer: &canned{402, stripeError("card_error", "card_declined", "insufficient_funds")},
			call: callCreate, wantKind: gateway.ErrDeclined, wantCode: "insufficient_funds"},
		{name: "decline for a stolen card shows as card_declined", answer: &canned{402, stripeError("card_error", "card_declined", "stolen_card")},
			call: callCreate, wantKind: gateway.ErrDeclined, wantCode: "card_declined"},
		{name: "decline for fraud shows as card_declined", answer: &canned{402, stripeError("card_error", "card_declined", "fraudulent")},
			call: callCapture, wantKind: gateway.ErrDeclined, wantCode: "card_declined"},
		{name: "card error code without decline code", answer: &canned{402, stripeError("card_error", "expired_card", "")},
			call: callCreate, wantKind: gateway.ErrDeclined, wantCode: "expired_card"},
		{name: "unknown card error code", answer: &canned{402, stripeError("card_error", "brand_new_code", "")},
			call: callCreate, wantKind: gateway.ErrDeclined, wantCode: "card_declined"},
		{name: "off-session charge needs authentication", answer: &canned{402, stripeError("card_error", "authentication_required", "authentication_required")},
			call: callCreate, wantKind: gateway.ErrAuthenticationRequired, wantCode: "authentication_required"},
		{name: "invalid parameter", answer: &canned{400, stripeError("invalid_request_error", "parameter_invalid_integer", "")},
			call: callRefund, wantKind: gateway.ErrRejected, wantCode: "invalid_request"},
		{name: "refund of a refunded charge", answer: &canned{400, stripeError("invalid_request_error", "charge_already_refunded", "")},
			call: callRefund, wantKind: gateway.ErrRejected, wantCode: "invalid_request"},
		{name: "idempotency key reused with other parameters", answer: &canned{400, stripeError("idempotency_error", "", "")},
			call: callCustomer, wantKind: gateway.ErrRejected, wantCode: "idempotency_error"},
		{name: "409 key in flight", answer: &canned{409, stripeError("invalid_request_error", "", "")},
			call: callAttach, wantKind: gateway.ErrUnavailable, wantCode: "gateway_unavailable"},
		{name: "403 restricted key", answer: &canned{403, stripeError("invalid_request_error", "", "")},
			call: callList, wantKind: gateway.ErrAuth, wantCode: "gateway_unavailable"},
		{name: "429 rate limited", answer: &canned{429, stripeError("invalid_request_error", "rate_limit", "")},
			call: callDetach, wantKind: gateway.ErrUnavailable, wantCode: "gateway_unavailable"},
		{name: "stripe-mock refuses a payment without currency", answer: nil,
			call: createPayment(gateway.PaymentRequest{Amount: 1000, Token: "pm_card_visa"}), wantKind: gateway.ErrRejected, wantCode: "invalid_request"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.count()
			if tc.answer != nil {
				f.answer(*tc.answer)
			}
			err := tc.call(t.Context(), g, fmt.Sprintf("idem-err-%d", i))
			if n := len(f.requests(before)); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
			checkErr(t, err, tc.wantKind, tc.wantCode, allKinds)
			if err != nil && (strings.Contains(err.Error(), "No such thing") || strings.Contains(err.Error(), leakedKey)) {
				t.Errorf("error %q quotes Stripe's message", err)
			}
		})
	}
}

// checkErr checks that err is a *gateway.Error of kind want (and of no other kind in all)
// with the public code code.
func checkErr(t *testing.T, err, want error, code string, all []error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *gateway.Error", err, err)
	}
	if got := gateway.Code(err); got != code {
		t.Errorf("Code = %q, want %q (error %v)", got, code, err)
	}
	for _, k := range all {
		if got := errors.Is(err, k); got != (k == want) {
			t.Errorf("errors.Is(err, %q) = %v, want %v (error %v)", k, got, k == want, err)
		}
	}
}

// TestStripePaymentsOutages puts devstack's FaultProxy between the gateway and stripe-mock. Every
// outage must come back as ErrUnavailable, and stripe-go's retries must reuse the idempotency
// key. The transport opens a connection per request, so that Go never replays a request on a
// dropped, reused connection and the attempts can be counted exactly.
func TestStripePaymentsOutages(t *testing.T) {
	fp, err := devstack.NewFaultProxy(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	g := newGateway(t, fp.URL(), tr, func(o *gwstripe.Options) {
		o.MaxNetworkRetries = 1
		// Far below the injected delay, with room for a loaded machine.
		o.Timeout = 1500 * time.Millisecond
	})
	cases := []struct {
		name     string
		fault    devstack.Fault
		n        int
		call     call
		keyed    bool
		wantErr  bool
		attempts int
	}{
		// stripe-go does not retry a POST that got a 500 (Stripe's idempotency layer would
		// replay it), but does retry a GET.
		{name: "500 on a POST is not retried", fault: devstack.FaultStatus(500), n: 1, call: callCreate, keyed: true, wantErr: true, attempts: 1},
		{name: "500 on a GET is retried", fault: devstack.FaultStatus(500), n: 2, call: callGet, wantErr: true, attempts: 2},
		{name: "503 twice", fault: devstack.FaultStatus(503), n: 2, call: callRefund, keyed: true, wantErr: true, attempts: 2},
		{name: "502", fault: devstack.FaultStatus(502), n: 1, call: callAttach, keyed: true, wantErr: true, attempts: 1},
		{name: "dropped connection twice", fault: devstack.FaultDrop(), n: 2, call: callCapture, keyed: true, wantErr: true, attempts: 2},
		{name: "timeout twice", fault: devstack.FaultDelay(5 * time.Second), n: 2, call: callCustomer, keyed: true, wantErr: true, attempts: 2},
		{name: "dropped connection on a list", fault: devstack.FaultDrop(), n: 2, call: callList, wantErr: true, attempts: 2},
		{name: "one 503 then recovered", fault: devstack.FaultStatus(503), n: 1, call: callDelete, keyed: true, attempts: 2},
		{name: "response lost after stripe processed it", fault: devstack.FaultDropResponse(), n: 1, call: callDetach, keyed: true, attempts: 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("idem-outage-%d", i)
			before := len(fp.Requests())
			fp.Inject(tc.fault, tc.n)
			err := tc.call(t.Context(), g, key)
			if tc.wantErr {
				checkErr(t, err, gateway.ErrUnavailable, "gateway_unavailable", allKinds)
			} else if err != nil {
				t.Fatalf("call failed after the gateway recovered: %v", err)
			}
			reqs := fp.Requests()[before:]
			if len(reqs) != tc.attempts {
				t.Errorf("%d attempts, want %d: %+v", len(reqs), tc.attempts, reqs)
			}
			for _, r := range reqs {
				if tc.keyed && r.IdempotencyKey != key {
					t.Errorf("attempt %s %s (%s) carried Idempotency-Key %q, want %q", r.Method, r.Path, r.Fault, r.IdempotencyKey, key)
				}
			}
		})
	}
}

// TestStripePaymentsAuthRefresh starts with a key stripe-mock refuses (it answers 401 to anything
// but an sk_test_ key): the gateway must refresh the key once and retry once, with the same
// idempotency key, and give up with ErrAuth when the refresh fails or does not help.
func TestStripePaymentsAuthRefresh(t *testing.T) {
	const staleKey = "sk_live_stale0123456789abcdefghij"
	tokenize := func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		// Stripe's Visa test card: Tokenize shares the refresh logic with Payments.
		c := gateway.Card{Number: "4242424242424242", ExpMonth: 12, ExpYear: 2034, CVC: "123", Brand: scrub.Visa}
		_, err := g.Tokenize(ctx, c, key)
		return err
	}
	cases := []struct {
		name          string
		next          string // the key the refresh brings; "" keeps the stale one
		failRefresh   error
		call          call
		keyed         bool
		wantErr       bool
		wantRequests  int
		wantRefreshes int
	}{
		{name: "create payment", next: devstack.StripeMockKey, call: callCreate, keyed: true, wantRequests: 2, wantRefreshes: 1},
		{name: "get payment", next: devstack.StripeMockKey, call: callGet, wantRequests: 2, wantRefreshes: 1},
		{name: "list payment methods", next: devstack.StripeMockKey, call: callList, wantRequests: 2, wantRefreshes: 1},
		{name: "delete customer", next: devstack.StripeMockKey, call: callDelete, keyed: true, wantRequests: 2, wantRefreshes: 1},
		{name: "tokenize", next: devstack.StripeMockKey, call: tokenize, keyed: true, wantRequests: 2, wantRefreshes: 1},
		{name: "refresh fails", failRefresh: errors.New("vault sealed"), call: callRefund, keyed: true, wantErr: true, wantRequests: 1, wantRefreshes: 1},
		{name: "new key refused too", call: callCapture, keyed: true, wantErr: true, wantRequests: 2, wantRefreshes: 1},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFront(t)
			ks := &keySource{key: staleKey, next: tc.next, failRefresh: tc.failRefresh}
			g := f.gatewayAt(t, func(o *gwstripe.Options) {
				o.Key, o.OnAuthError = ks.Key, ks.Refresh
				// Retries must not hide the count: the refresh retry is the gateway's own.
				o.MaxNetworkRetries = 2
			})
			key := fmt.Sprintf("idem-auth-%d", i)
			err := tc.call(t.Context(), g, key)
			if tc.wantErr {
				checkErr(t, err, gateway.ErrAuth, "gateway_unavailable", allKinds)
				if strings.Contains(err.Error(), staleKey) {
					t.Errorf("error %q holds the API key", err)
				}
			} else if err != nil {
				t.Fatalf("call failed after the key refresh: %v", err)
			}
			if got := ks.refreshCount(); got != tc.wantRefreshes {
				t.Errorf("%d key refreshes, want %d", got, tc.wantRefreshes)
			}
			reqs := f.requests(0)
			if len(reqs) != tc.wantRequests {
				t.Fatalf("%d requests, want %d", len(reqs), tc.wantRequests)
			}
			if reqs[0].Key != staleKey {
				t.Error("first request did not use the stale key")
			}
			if tc.next != "" && reqs[len(reqs)-1].Key != tc.next {
				t.Error("retry did not use the refreshed key")
			}
			for _, r := range reqs {
				if tc.keyed && r.IdempotencyKey != key {
					t.Errorf("request carried Idempotency-Key %q, want %q", r.IdempotencyKey, key)
				}
			}
		})
	}
	// stripe-mock quotes the refused Authorization header in its 401 message, and stripe-go
	// logs that message: the scrub writer under the logger must have masked the key.
	checkNoFileHolds(t, testkit.ArtifactsDir(t), staleKey)
}

// checkNoFileHolds fails for each file under dir that holds key.
func checkNoFileHolds(t *testing.T, dir, key string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the API key", path)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// TestStripePaymentsRefusedLocally checks what the gateway refuses without asking Stripe: malformed
// ids (which could change the request path), amounts out of range, an unknown capture method
// and a missing or overlong idempotency key. The error must not quote the id.
func TestStripePaymentsRefusedLocally(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	cases := []refusedCase{
		{name: "payment for nothing", call: createPayment(gateway.PaymentRequest{Amount: 0, Currency: "usd", Token: "pm_card_visa"})},
		{name: "negative payment", call: createPayment(gateway.PaymentRequest{Amount: -5, Currency: "usd", Token: "pm_card_visa"})},
		{name: "payment without token", call: createPayment(gateway.PaymentRequest{Amount: 5, Currency: "usd"})},
		{name: "payment with a path as token", call: createPayment(gateway.PaymentRequest{Amount: 5, Currency: "usd", Token: badID})},
		{name: "payment with malformed customer", call: createPayment(gateway.PaymentRequest{Amount: 5, Currency: "usd", Token: "pm_card_visa", CustomerID: badID})},
		{name: "unknown capture method", call: createPayment(gateway.PaymentRequest{Amount: 5, Currency: "usd", Token: "pm_card_visa", Capture: "later"})},
		{name: "negative capture", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CapturePayment(ctx, "pi_123", -1, key)
			return err
		}},
		{name: "negative refund", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123", Amount: -1}, key)
			return err
		}},
		{name: "get without id", call: func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
			_, err := g.GetPayment(ctx, "")
			return err
		}},
		{name: "get with a path as id", call: func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
			_, err := g.GetPayment(ctx, badID)
			return err
		}},
		{name: "list with a query as customer", call: func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
			_, err := g.ListPaymentMethods(ctx, badID)
			return err
		}},
		{name: "attach to malformed customer", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			_, err := g.AttachPaymentMethod(ctx, badID, "pm_card_visa", key)
			return err
		}},
		{name: "detach malformed token", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			return g.DetachPaymentMethod(ctx, badID, key)
		}},
		{name: "delete malformed customer", call: func(ctx context.Context, g *gwstripe.Gateway, key string) error {
			return g.DeleteCustomer(ctx, badID, key)
		}},
		{name: "blank idempotency key", call: callCustomer, key: " "},
		{name: "idempotency key over 255 bytes", call: callRefund, key: strings.Repeat("k", 256)},
	}
	runRefused(t, f, g, cases)
	// A missing key is refused on every call that changes something.
	for name, c := range map[string]call{"create": callCreate, "capture": callCapture, "refund": callRefund, "customer": callCustomer,
		"attach": callAttach, "detach": callDetach, "delete": callDelete} {
		if err := c(t.Context(), g, ""); !errors.Is(err, gateway.ErrRejected) {
			t.Errorf("%s without idempotency key: %v, want ErrRejected", name, err)
		}
	}
}

// badID is an id that would change the request path; no error may quote it.
const badID = "cus_1/../../v1/charges?x=1"

// refusedCase is a call the gateway must refuse without asking Stripe.
type refusedCase struct {
	name string
	call call
	key  string // "": the default key
}

// runRefused checks that each case fails with ErrRejected and invalid_request, without a
// request reaching f and without quoting badID.
func runRefused(t *testing.T, f *front, g *gwstripe.Gateway, cases []refusedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if key == "" {
				key = "idem-local"
			}
			before := f.count()
			err := tc.call(t.Context(), g, key)
			checkErr(t, err, gateway.ErrRejected, "invalid_request", allKinds)
			if strings.Contains(err.Error(), badID) {
				t.Errorf("error %q quotes the id", err)
			}
			if n := len(f.requests(before)); n != 0 {
				t.Errorf("%d requests reached stripe-mock, want none", n)
			}
		})
	}
}
