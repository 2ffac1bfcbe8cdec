package stripe_test

import (
	"bytes"
	"context"
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

// allKinds are the kinds of gateway.Error; checkErr wants exactly one of them to match.
var allKinds = []error{gateway.ErrNotFound, gateway.ErrDeclined, gateway.ErrRejected, gateway.ErrUnavailable, gateway.ErrAuth,
	gateway.ErrAuthenticationRequired}

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
