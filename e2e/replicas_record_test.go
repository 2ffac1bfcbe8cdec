package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/examples/billing"
)

// gatewayRecorder is a reverse proxy in front of stripe-mock that notes, for every request,
// its Idempotency-Key and a hash of what was asked (method, path, body). stripe-mock is
// stateless and does not honour idempotency keys, so this is where a key sent under two
// different requests shows; the real Stripe would answer the second with an error.
type gatewayRecorder struct {
	// URL is its base URL, http://127.0.0.1:PORT.
	URL string

	srv *http.Server

	mu       sync.Mutex
	requests int
	byKey    map[string]map[[32]byte]int // idempotency key -> request hash -> times seen
	noKey    int                         // POSTs without a key
}

// startGatewayRecorder serves the recorder in front of target until the test ends.
func startGatewayRecorder(t *testing.T, target string) *gatewayRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gatewayRecorder{URL: "http://" + ln.Addr().String(), byKey: map[string]map[[32]byte]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite:  func(pr *httputil.ProxyRequest) { pr.SetURL(u) },
		ErrorLog: log.New(io.Discard, "", 0),
	}
	g.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// The body holds card data on the way to the gateway: hashed here, never kept.
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				http.Error(w, "read", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			g.note(r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), body)
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second,
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = g.srv.Serve(ln) }()
	t.Cleanup(func() { _ = g.srv.Close() })
	return g
}

func (g *gatewayRecorder) note(method, path, key string, body []byte) {
	h := sha256.New()
	h.Write([]byte(method + "\n" + path + "\n"))
	h.Write(body)
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if key == "" {
		if method == http.MethodPost {
			g.noKey++
		}
		return
	}
	if g.byKey[key] == nil {
		g.byKey[key] = map[[32]byte]int{}
	}
	g.byKey[key][sum]++
}

// gatewaySummary is what the recorder saw.
type gatewaySummary struct {
	Requests int
	Keys     int
	// Resent counts the requests sent again under a key with the same request (a client's
	// retry, by the same or the other replica, or stripe-go's own): what the gateway's
	// idempotency is for.
	Resent int
	// Conflicts are the keys sent with two or more different requests.
	Conflicts []string
	// NoKey counts POSTs without an Idempotency-Key.
	NoKey int
}

func (g *gatewayRecorder) summary() gatewaySummary {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := gatewaySummary{Requests: g.requests, Keys: len(g.byKey), NoKey: g.noKey}
	for k, reqs := range g.byKey {
		if len(reqs) > 1 {
			s.Conflicts = append(s.Conflicts, fmt.Sprintf("%s (%d different requests)", k, len(reqs)))
		}
		for _, n := range reqs {
			s.Resent += n - 1
		}
	}
	return s
}

// appRecorder is the demo billing app (which deduplicates webhook events by id, see
// billing.App.WebhookEvents) behind a handler that counts every delivery per event id and
// checks, as each body arrives, that it holds none of the test's card numbers and that the
// app accepted it.
type appRecorder struct {
	app   *billing.App
	cards []string

	mu         sync.Mutex
	deliveries map[string]int // event id -> webhook deliveries received
	checkouts  int
	problems   []string
}

// startAppRecorder serves the app, verifying tokenwall's signature with signing, on port until
// the test ends.
func startAppRecorder(t *testing.T, signing string, port int, cards []string) *appRecorder {
	t.Helper()
	a := &appRecorder{
		app:        billing.New(billing.Options{SigningKeys: func() [][]byte { return [][]byte{[]byte(signing)} }}),
		cards:      cards,
		deliveries: map[string]int{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

func (a *appRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		a.app.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	a.app.ServeHTTP(sw, r)

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cards {
		if bytes.Contains(body, []byte(c)) {
			a.problems = append(a.problems, fmt.Sprintf("a %s body reached the app with a card number ending %s", r.URL.Path, c[len(c)-4:]))
		}
	}
	if sw.status >= 300 {
		a.problems = append(a.problems, fmt.Sprintf("the app answered %s with %d", r.URL.Path, sw.status))
	}
	switch r.URL.Path {
	case "/webhooks/tokenwall":
		var ev struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" {
			a.problems = append(a.problems, "a webhook delivery without an event id")
			return
		}
		a.deliveries[ev.ID]++
	case "/checkout/submit":
		a.checkouts++
	}
}

// delivered returns how many deliveries each event id got so far.
func (a *appRecorder) delivered() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]int, len(a.deliveries))
	for k, v := range a.deliveries {
		out[k] = v
	}
	return out
}

// trouble returns the problems noted so far, joined.
func (a *appRecorder) trouble() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.problems) > 5 {
		return strings.Join(a.problems[:5], "; ") + fmt.Sprintf("; and %d more", len(a.problems)-5)
	}
	return strings.Join(a.problems, "; ")
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
