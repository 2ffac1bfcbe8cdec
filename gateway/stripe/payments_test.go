package stripe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/gateway"
	gwstripe "github.com/tokenwall/tokenwall/gateway/stripe"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// sharedStripe is the package's one real stripe-mock; every test talks to it, directly or
// through a recording or fault-injecting server in front.
var sharedStripe *devstack.StripeMock

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	root, err := testkit.ArtifactsRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, "gateway-stripe-TestMain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	slog, err := os.Create(filepath.Join(dir, "stripe-mock.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer slog.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if sharedStripe, err = devstack.StartStripeMock(ctx, devstack.Options{Dir: dir, Log: slog}); err != nil {
		fmt.Fprintln(os.Stderr, "gateway/stripe tests:", err)
		return 1
	}
	defer sharedStripe.Stop()
	return m.Run()
}

// seen is one request the front server received.
type seen struct {
	Method, Path   string
	IdempotencyKey string
	// Key is the API key of the Authorization header (test keys only).
	Key string
	// Params are the form body of a POST or the query of another method.
	Params url.Values
}

// canned is a Stripe-shaped answer the front server gives instead of forwarding.
type canned struct {
	status int
	body   string
}

// front is a recording TLS server in front of the real stripe-mock. It forwards every request
// unless answers are queued, and then answers those instead, one per request.
type front struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu      sync.Mutex
	reqs    []seen
	answers []canned
}

func newFront(t *testing.T) *front {
	t.Helper()
	target, err := url.Parse(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	f := &front{proxy: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target) }}}
	f.srv = httptest.NewTLSServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params, _ = url.ParseQuery(string(body))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{
		Method:         r.Method,
		Path:           r.URL.Path,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Key:            strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "),
		Params:         params,
	})
	var answer *canned
	if len(f.answers) > 0 {
		answer = &f.answers[0]
		f.answers = f.answers[1:]
	}
	f.mu.Unlock()
	if answer == nil {
		f.proxy.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_canned")
	w.WriteHeader(answer.status)
	_, _ = io.WriteString(w, answer.body)
}

// answer queues canned answers for the next requests.
func (f *front) answer(a ...canned) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, a...)
}

// requests returns the requests received since the index from (len of an earlier call).
func (f *front) requests(from int) []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs[from:]...)
}

func (f *front) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// keySource is the Vault key cache stand-in: Key returns the current key, Refresh counts calls
// and swaps in next (when set) or fails with failRefresh.
type keySource struct {
	mu          sync.Mutex
	key, next   string
	refreshes   int
	failRefresh error
}

func (k *keySource) Key() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.key, nil
}

func (k *keySource) Refresh(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshes++
	if k.failRefresh != nil {
		return k.failRefresh
	}
	if k.next != "" {
		k.key = k.next
	}
	return nil
}

func (k *keySource) refreshCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refreshes
}

// newGateway returns a gateway at baseURL logging stripe-go's lines, through the scrub
// writer, to stripe-go.log in the test's artifacts. Options not set by mod are: the stripe-mock
// key, no retries, a 5 s timeout.
func newGateway(t *testing.T, baseURL string, tr http.RoundTripper, mod func(*gwstripe.Options)) *gwstripe.Gateway {
	t.Helper()
	lg := zerolog.New(scrub.NewWriter(testkit.LogFile(t, "stripe-go.log"))).Level(zerolog.DebugLevel)
	o := gwstripe.Options{
		APIURL:    baseURL,
		Timeout:   5 * time.Second,
		Key:       func() (string, error) { return devstack.StripeMockKey, nil },
		Logger:    gwstripe.Logger{L: lg},
		Transport: tr,
	}
	if mod != nil {
		mod(&o)
	}
	g, err := gwstripe.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

// gatewayAt returns a gateway talking to f.
func (f *front) gatewayAt(t *testing.T, mod func(*gwstripe.Options)) *gwstripe.Gateway {
	t.Helper()
	return newGateway(t, f.srv.URL, f.srv.Client().Transport, mod)
}

// call is one Payments call of a test case; key is the idempotency key it must use.
type call func(ctx context.Context, g *gwstripe.Gateway, key string) error

func createPayment(p gateway.PaymentRequest) call {
	return func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CreatePayment(ctx, p, key)
		return err
	}
}

var (
	callCreate = createPayment(gateway.PaymentRequest{Amount: 1000, Currency: "usd", Token: "pm_card_visa"})
	callGet    = func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
		_, err := g.GetPayment(ctx, "pi_123")
		return err
	}
	callCapture = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CapturePayment(ctx, "pi_123", 0, key)
		return err
	}
	callRefund = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123"}, key)
		return err
	}
	callCustomer = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.CreateCustomer(ctx, gateway.CustomerRequest{Email: "jenny@example.com"}, key)
		return err
	}
	callAttach = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		_, err := g.AttachPaymentMethod(ctx, "cus_123", "pm_card_visa", key)
		return err
	}
	callList = func(ctx context.Context, g *gwstripe.Gateway, _ string) error {
		_, err := g.ListPaymentMethods(ctx, "cus_123")
		return err
	}
	callDetach = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		return g.DetachPaymentMethod(ctx, "pm_card_visa", key)
	}
	callDelete = func(ctx context.Context, g *gwstripe.Gateway, key string) error {
		return g.DeleteCustomer(ctx, "cus_123", key)
	}
)

// TestStripePayments calls every Payments method through a recording server against the real
// stripe-mock and checks what was sent (path, parameters, the idempotency key as
// Idempotency-Key) and that the answer is converted with its fields filled. stripe-mock is
// stateless: it echoes ids and parameters and fills the rest from fixtures.
func TestStripePayments(t *testing.T) {
	f := newFront(t)
	g := f.gatewayAt(t, nil)
	cases := []struct {
		name         string
		call         func(t *testing.T, ctx context.Context, key string)
		method, path string
		params       map[string]string // parameters the request must carry
		absent       []string          // parameters it must not carry
		keyed        bool              // whether the idempotency key is sent
	}{
		{
			name: "create payment with manual capture",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CreatePayment(ctx, gateway.PaymentRequest{
					Amount: 1000, Currency: "EUR", Token: "pm_card_visa", CustomerID: "cus_123",
					Capture: gateway.CaptureManual, OffSession: true, Description: "order 1001",
					Metadata: map[string]string{"order": "1001"},
				}, key)
				if err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{Amount: 1000, Currency: "eur", CustomerID: "cus_123", PaymentMethodID: "pm_card_visa", Description: "order 1001"})
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: map[string]string{
				"amount": "1000", "currency": "eur", "payment_method": "pm_card_visa", "confirm": "true",
				"capture_method": "manual", "payment_method_types[0]": "card", "customer": "cus_123",
				"off_session": "true", "description": "order 1001", "metadata[order]": "1001",
				"expand[0]": "latest_charge", "expand[1]": "payment_method",
			},
		},
		{
			name: "create payment with automatic capture",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CreatePayment(ctx, gateway.PaymentRequest{Amount: 250, Currency: "usd", Token: "pm_card_mastercard"}, key)
				if err != nil {
					t.Fatalf("CreatePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{Amount: 250, Currency: "usd", PaymentMethodID: "pm_card_mastercard"})
			},
			method: http.MethodPost, path: "/v1/payment_intents", keyed: true,
			params: map[string]string{"amount": "250", "capture_method": "automatic", "confirm": "true", "payment_method_types[0]": "card"},
			absent: []string{"customer", "off_session", "description", "metadata[order]"},
		},
		{
			name: "capture in full",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CapturePayment(ctx, "pi_123", 0, key)
				if err != nil {
					t.Fatalf("CapturePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/capture", keyed: true,
			params: map[string]string{"expand[0]": "latest_charge", "expand[1]": "payment_method"},
			absent: []string{"amount_to_capture"},
		},
		{
			name: "capture in part",
			call: func(t *testing.T, ctx context.Context, key string) {
				p, err := g.CapturePayment(ctx, "pi_123", 500, key)
				if err != nil {
					t.Fatalf("CapturePayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
			},
			method: http.MethodPost, path: "/v1/payment_intents/pi_123/capture", keyed: true,
			params: map[string]string{"amount_to_capture": "500"},
		},
		{
			name: "get payment",
			call: func(t *testing.T, ctx context.Context, _ string) {
				p, err := g.GetPayment(ctx, "pi_123")
				if err != nil {
					t.Fatalf("GetPayment: %v", err)
				}
				checkPayment(t, p, gateway.Payment{ID: "pi_123"})
				if !strings.HasPrefix(p.PaymentMethodID, "pm_") {
					t.Errorf("PaymentMethodID = %q, want the expanded pm_…", p.PaymentMethodID)
				}
			},
			method: http.MethodGet, path: "/v1/payment_intents/pi_123",
			params: map[string]string{"expand[0]": "latest_charge", "expand[1]": "payment_method"},
		},
		{
			name: "refund in full",
			call: func(t *testing.T, ctx context.Context, key string) {
				r, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123"}, key)
				if err != nil {
					t.Fatalf("CreateRefund: %v", err)
				}
				checkRefund(t, r, 0)
			},
			method: http.MethodPost, path: "/v1/refunds", keyed: true,
			params: map[string]string{"payment_intent": "pi_123"},
			absent: []string{"amount"},
		},
		{
			name: "refund in part",
			call: func(t *testing.T, ctx context.Context, key string) {
				r, err := g.CreateRefund(ctx, gateway.RefundRequest{PaymentID: "pi_123", Amount: 300}, key)
				if err != nil {
					t.Fatalf("CreateRefund: %v", err)
				}
				checkRefund(t, r, 300)
			},
			method: http.MethodPost, path: "/v1/refunds", keyed: true,
			params: map[string]string{"payment_intent": "pi_123", "amount": "300"},
		},
		{
			name: "create customer",
			call: func(t *testing.T, ctx context.Context, key string) {
				c, err := g.CreateCustomer(ctx, gateway.CustomerRequest{
					Email: "jenny@example.com", Name: "Jenny Rosen", Description: "account 42",
					Metadata: map[string]string{"account": "42"},
				}, key)
				if err != nil {
					t.Fatalf("CreateCustomer: %v", err)
				}
				if !strings.HasPrefix(c.ID, "cus_") || c.Created.IsZero() {
					t.Errorf("customer = %+v, want a cus_… id and a creation time", c)
				}
			},
			method: http.MethodPost, path: "/v1/customers", keyed: true,
			params: map[string]string{"email": "jenny@example.com", "name": "Jenny Rosen", "description": "account 42", "metadata[account]": "42"},
		},
		{
			name: "attach payment method",
			call: func(t *testing.T, ctx context.Context, key string) {
				pm, err := g.AttachPaymentMethod(ctx, "cus_123", "pm_card_visa", key)
				if err != nil {
					t.Fatalf("AttachPaymentMethod: %v", err)
				}
				if pm.ID != "pm_card_visa" {
					t.Errorf("ID = %q, want the token attached", pm.ID)
				}
				checkCard(t, pm)
			},
			method: http.MethodPost, path: "/v1/payment_methods/pm_card_visa/attach", keyed: true,
			params: map[string]string{"customer": "cus_123"},
		},
		{
			name: "list payment methods",
			call: func(t *testing.T, ctx context.Context, _ string) {
				pms, err := g.ListPaymentMethods(ctx, "cus_123")
				if err != nil {
					t.Fatalf("ListPaymentMethods: %v", err)
				}
				if len(pms) == 0 {
					t.Fatal("no payment methods listed")
				}
				for _, pm := range pms {
					if !strings.HasPrefix(pm.ID, "pm_") {
						t.Errorf("ID = %q, want pm_…", pm.ID)
					}
					checkCard(t, pm)
				}
			},
			method: http.MethodGet, path: "/v1/payment_methods",
			params: map[string]string{"customer": "cus_123", "type": "card", "limit": "100"},
		},
		{
			name: "detach payment method",
			call: func(t *testing.T, ctx context.Context, key string) {
				if err := g.DetachPaymentMethod(ctx, "pm_card_visa", key); err != nil {
					t.Fatalf("DetachPaymentMethod: %v", err)
				}
			},
			method: http.MethodPost, path: "/v1/payment_methods/pm_card_visa/detach", keyed: true,
		},
		{
			name: "delete customer",
			call: func(t *testing.T, ctx context.Context, key string) {
				if err := g.DeleteCustomer(ctx, "cus_123", key); err != nil {
					t.Fatalf("DeleteCustomer: %v", err)
				}
			},
			method: http.MethodDelete, path: "/v1/customers/cus_123", keyed: true,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("idem-shape-%d", i)
			before := f.count()
			tc.call(t, t.Context(), key)
			reqs := f.requests(before)
			if len(reqs) != 1 {
				t.Fatalf("%d requests reached stripe-mock, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != tc.method || r.Path != tc.path {
				t.Errorf("request %s %s, want %s %s", r.Method, r.Path, tc.method, tc.path)
			}
			wantKey := ""
			if tc.keyed {
				wantKey = key
			}
			if r.IdempotencyKey != wantKey {
				t.Errorf("Idempotency-Key = %q, want %q", r.IdempotencyKey, wantKey)
			}
			for name, want := range tc.params {
				if got := r.Params.Get(name); got != want {
					t.Errorf("parameter %s = %q, want %q", name, got, want)
				}
			}
			for _, name := range tc.absent {
				if r.Params.Has(name) {
					t.Errorf("parameter %s sent, want it left out", name)
				}
			}
		})
	}
}

// checkPayment checks the fields every payment answer fills and the fields of want that are
// set, which stripe-mock echoes from the request.
func checkPayment(t *testing.T, p, want gateway.Payment) {
	t.Helper()
	if !strings.HasPrefix(p.ID, "pi_") || p.Status == "" || p.Amount <= 0 || p.Currency == "" || p.Created.IsZero() {
		t.Errorf("payment %+v: want a pi_… id, a status, an amount, a currency and a creation time", p)
	}
	// stripe-mock inlines the latest charge, whose card details give brand and last four.
	if p.Brand == "" || len(p.Last4) != 4 {
		t.Errorf("card of the payment = %q %q, want a brand and four digits", p.Brand, p.Last4)
	}
	for _, c := range []struct {
		field     string
		got, want any
		set       bool
	}{
		{"ID", p.ID, want.ID, want.ID != ""},
		{"Amount", p.Amount, want.Amount, want.Amount != 0},
		{"Currency", p.Currency, want.Currency, want.Currency != ""},
		{"CustomerID", p.CustomerID, want.CustomerID, want.CustomerID != ""},
		{"PaymentMethodID", p.PaymentMethodID, want.PaymentMethodID, want.PaymentMethodID != ""},
		{"Description", p.Description, want.Description, want.Description != ""},
	} {
		if c.set && c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func checkRefund(t *testing.T, r gateway.Refund, amount int64) {
	t.Helper()
	if !strings.HasPrefix(r.ID, "re_") || r.PaymentID != "pi_123" || r.Amount <= 0 || r.Currency == "" || r.Status == "" {
		t.Errorf("refund %+v: want a re_… id, payment pi_123, an amount, a currency and a status", r)
	}
	if amount != 0 && r.Amount != amount {
		t.Errorf("Amount = %d, want %d", r.Amount, amount)
	}
}

func checkCard(t *testing.T, pm gateway.PaymentMethod) {
	t.Helper()
	if pm.Brand == "" || len(pm.Last4) != 4 || pm.ExpMonth < 1 || pm.ExpYear < 2000 || pm.Fingerprint == "" {
		t.Errorf("payment method %+v: want brand, last four, expiry and fingerprint", pm)
	}
}

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
	allKinds := []error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth}
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
			call: callCreate, wantKind: gateway.ErrDeclined, wantCode: "authentication_required"},
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
				checkErr(t, err, gateway.ErrUnavailable, "gateway_unavailable",
					[]error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth})
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
				checkErr(t, err, gateway.ErrAuth, "gateway_unavailable",
					[]error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth})
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
	err := filepath.WalkDir(testkit.ArtifactsDir(t), func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(staleKey)) {
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
	const badID = "cus_1/../../v1/charges?x=1"
	cases := []struct {
		name string
		call call
		key  string // "": the default key
	}{
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
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := tc.key
			if key == "" {
				key = "idem-local"
			}
			before := f.count()
			err := tc.call(t.Context(), g, key)
			checkErr(t, err, gateway.ErrRejected, "invalid_request",
				[]error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth})
			if strings.Contains(err.Error(), badID) {
				t.Errorf("error %q quotes the id", err)
			}
			if n := len(f.requests(before)); n != 0 {
				t.Errorf("%d requests reached stripe-mock, want none", n)
			}
		})
	}
	// A missing key is refused on every call that changes something.
	for name, c := range map[string]call{"create": callCreate, "capture": callCapture, "refund": callRefund, "customer": callCustomer,
		"attach": callAttach, "detach": callDetach, "delete": callDelete} {
		if err := c(t.Context(), g, ""); !errors.Is(err, gateway.ErrRejected) {
			t.Errorf("%s without idempotency key: %v, want ErrRejected", name, err)
		}
	}
}
