package devstack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
)

// Stripe's documented test cards (https://docs.stripe.com/testing).
const (
	cardPlain        = "4242424242424242"
	cardAuthAlways   = "4000002760003184"
	cardAuthOnSetup  = "4000002500003155"
	cardInsufficient = "4000000000009995"
	cardDeclined     = "4000000000000002"
)

// scenarioAPI drives a Scenario's raw HTTP API, form-encoded as stripe-go sends it.
type scenarioAPI struct {
	t      *testing.T
	base   string
	client *http.Client
}

// freshScenario starts a Scenario of the test's own in front of mock's stripe-mock; cleanup
// closes it.
func freshScenario(t *testing.T, mock *devstack.StripeMock, o devstack.ScenarioOptions) (*devstack.Scenario, *scenarioAPI) {
	t.Helper()
	sc, err := devstack.NewScenario(mock.MockURL, o)
	if err != nil {
		t.Fatalf("start scenario: %v", err)
	}
	closeScenario(t, sc)
	return sc, newScenarioAPI(t, sc.URL())
}

func newScenarioAPI(t *testing.T, base string) *scenarioAPI {
	c := newClient(t, 20*time.Second)
	// The challenge's 303 is asserted, not followed.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &scenarioAPI{t: t, base: base, client: c}
}

// do sends one API call; hdr are header name and value pairs.
func (a *scenarioAPI) do(method, path string, form url.Values, hdr ...string) (int, map[string]any, http.Header) {
	a.t.Helper()
	var body io.Reader
	target := a.base + path
	if method == http.MethodGet && form != nil {
		target += "?" + form.Encode()
	} else if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, target, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+devstack.StripeMockKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, scrub.Text(raw))
	}
	return resp.StatusCode, out, resp.Header
}

func (a *scenarioAPI) post(path string, form url.Values) (int, map[string]any) {
	a.t.Helper()
	code, out, _ := a.do(http.MethodPost, path, form)
	return code, out
}

func (a *scenarioAPI) get(path string) (int, map[string]any) {
	a.t.Helper()
	code, out, _ := a.do(http.MethodGet, path, nil)
	return code, out
}

// card creates a PaymentMethod for number and returns its id.
func (a *scenarioAPI) card(number string) string {
	a.t.Helper()
	code, pm := a.post("/v1/payment_methods", cardValues(number))
	if code != http.StatusOK {
		a.t.Fatalf("create PaymentMethod: %d %v", code, pm)
	}
	return str(pm, "id")
}

func cardValues(number string) url.Values {
	return url.Values{"type": {"card"}, "card[number]": {number}, "card[exp_month]": {"12"}, "card[exp_year]": {"2030"}, "card[cvc]": {"123"}}
}

// pay creates and confirms a PaymentIntent of 2000 EUR with pm and the extra parameters
// (name, value pairs).
func (a *scenarioAPI) pay(pm string, extra ...string) (int, map[string]any) {
	a.t.Helper()
	f := url.Values{"amount": {"2000"}, "currency": {"eur"}, "payment_method": {pm}, "confirm": {"true"}, "payment_method_types[]": {"card"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return a.post("/v1/payment_intents", f)
}

// challenge opens the challenge page at pageURL (a next_action URL), checks it, and presses
// Approve or Deny, returning the answer.
func (a *scenarioAPI) challenge(pageURL, decision string) *http.Response {
	a.t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		a.t.Fatal(err)
	}
	page := a.raw(http.MethodGet, pageURL, nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "3-D Secure test challenge") || !strings.Contains(page.body, `id="approve"`) {
		a.t.Fatalf("challenge page: %d %s", page.StatusCode, page.body)
	}
	form := u.Query()
	return a.raw(http.MethodPost, a.base+"/scenario/authenticate/"+decision, form).Response
}

// rawResponse is an answer with its body read.
type rawResponse struct {
	*http.Response
	body string
}

// raw sends a browser-like request (no API key), a form when form is not nil.
func (a *scenarioAPI) raw(method, target string, form url.Values) rawResponse {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, target, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{Response: resp, body: string(b)}
}

// str reads a string at a path of keys in decoded JSON, or "".
func str(m map[string]any, path ...string) string {
	v := at(m, path...)
	s, _ := v.(string)
	return s
}

// num reads a number at a path of keys, or -1.
func num(m map[string]any, path ...string) float64 {
	if f, ok := at(m, path...).(float64); ok {
		return f
	}
	return -1
}

func at(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// syncBuffer is a bytes.Buffer safe for the scenario's concurrent log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond every 20 ms for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// closeScenario closes sc at cleanup, reporting an error.
func closeScenario(t *testing.T, sc *devstack.Scenario) {
	t.Cleanup(func() {
		if err := sc.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("close scenario: %v", err)
		}
	})
}
