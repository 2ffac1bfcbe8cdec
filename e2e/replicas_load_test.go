package e2e_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/webhooks"
)

// Test cards, real-shaped (Stripe's test numbers): each must reach only the gateway.
var (
	// checkoutCards are posted through the checkout form, with their CVC.
	checkoutCards = []struct{ number, cvc string }{
		{"4242424242424242", "123"}, // Visa
		{"5555555555554444", "123"}, // Mastercard
		{"378282246310005", "1234"}, // American Express
	}
	// eventCard rides in gateway events' metadata (spaced, as a person would type it) and in
	// the query of the card-escape probes: tokenwall scrubs it from the one, refuses the other.
	eventCard = "4000 0566 5566 5556"
)

// allTestCards lists the test's card numbers, digits only, for the scans.
func allTestCards() []string {
	cards := []string{strings.ReplaceAll(eventCard, " ", "")}
	for _, c := range checkoutCards {
		cards = append(cards, c.number)
	}
	return cards
}

// loadGen is a bounded load generator: a fixed number of workers, each a client from its own
// loopback address (127.0.0.2, 127.0.0.3, …, so that the replicas' audit trail can show the
// client and not the load balancer), each running orders one after the other until the end
// of the run. An order is a checkout through the form, a /v1 charge with the token it gave
// and an Idempotency-Key, and a signed gateway event; some orders also send the event twice at
// once (the gateway's own duplicates), probe the card-escape guard, or reuse an idempotency key
// for another amount at the same time.
//
// Like a well-behaved client it retries what failed because a replica went away (a transport
// error, 502, 503, 504) or is still running under its Idempotency-Key elsewhere (409
// idempotency-key-in-use), honours 429's Retry-After, and resends a charge with the same
// Idempotency-Key, an event with the same id.
type loadGen struct {
	base    string
	whsec   string
	apiKeys []string // one per worker: each key has its own rate limit
	clients []*http.Client

	mu       sync.Mutex
	stats    loadStats
	events   map[string]bool // event ids acknowledged by tokenwall
	problems []string
}

// loadStats counts what the run did.
type loadStats struct {
	Orders, Checkouts, Charges, Events, DuplicateEvents int
	EscapeProbes, ConflictProbes                        int
	// Retried counts the attempts that had to be made again, by reason.
	Retried map[string]int
	// ConflictOutcomes counts the status pairs of the idempotency-conflict probes.
	ConflictOutcomes map[string]int
}

// newLoadGen prepares workers clients of base that trust ca; apiKeys has one key per worker.
func newLoadGen(base, whsec string, ca *x509.CertPool, apiKeys []string) *loadGen {
	g := &loadGen{base: base, whsec: whsec, apiKeys: apiKeys, events: map[string]bool{},
		stats: loadStats{Retried: map[string]int{}, ConflictOutcomes: map[string]int{}}}
	for i := range apiKeys {
		d := &net.Dialer{Timeout: 5 * time.Second,
			LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}}
		tr := &http.Transport{
			DialContext:         d.DialContext,
			TLSClientConfig:     &tls.Config{RootCAs: ca, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		}
		g.clients = append(g.clients, &http.Client{Transport: tr, Timeout: 30 * time.Second})
	}
	return g
}

// clientAddrs returns the workers' source addresses.
func (g *loadGen) clientAddrs() map[string]bool {
	out := map[string]bool{}
	for i := range g.clients {
		out[net.IPv4(127, 0, 0, byte(2+i)).String()] = true
	}
	return out
}

// run drives the load until ctx is done; each worker finishes the order it is in.
func (g *loadGen) run(ctx context.Context) {
	var wg sync.WaitGroup
	for w := range g.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				g.order(w, n)
			}
		}()
	}
	wg.Wait()
}

// problem notes something that went wrong; the test fails on any.
func (g *loadGen) problem(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.problems = append(g.problems, fmt.Sprintf(format, args...))
}

func (g *loadGen) count(f func(s *loadStats)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(&g.stats)
}

// pmToken finds the payment method token in the app's result page.
var pmToken = regexp.MustCompile(`\(pm_[A-Za-z0-9_]+\)`)

// order is one checkout, charge and gateway event by worker w; n numbers its orders.
func (g *loadGen) order(w, n int) {
	c := g.clients[w]
	card := checkoutCards[(w+n)%len(checkoutCards)]
	form := url.Values{"card_number": {card.number}, "card_exp": {"12/34"}, "card_cvc": {card.cvc},
		"card_name": {"Jane Doe"}, "order_id": {fmt.Sprintf("%d-%d", w, n)}, "amount": {"19.99"}, "currency": {"EUR"}}
	status, body := g.send(c, "checkout", func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, g.base+"/checkout/submit", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	})
	m := pmToken.Find(body)
	if status != http.StatusOK || m == nil {
		g.problem("checkout %d-%d: status %d, token found %v", w, n, status, m != nil)
		return
	}
	token := string(m[1 : len(m)-1])
	g.count(func(s *loadStats) { s.Orders++; s.Checkouts++ })

	idemKey := fmt.Sprintf("order-%d-%d-%d", w, n, time.Now().UnixNano())
	charge := fmt.Sprintf(`{"amount":%d,"currency":"eur","token":%q,"description":"order %d-%d"}`, 1999+n%7, token, w, n)
	if status, body := g.send(c, "charge", g.chargeRequest(w, idemKey, charge)); status != http.StatusCreated {
		g.problem("charge %s: status %d: %.200s", idemKey, status, body)
	} else {
		g.count(func(s *loadStats) { s.Charges++ })
	}

	id := fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYw%02dn%06d", w, n)
	if n%5 == 2 {
		// The gateway sends some events twice, and the two may reach different replicas at once.
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); g.event(c, id, n) }()
		}
		wg.Wait()
		g.count(func(s *loadStats) { s.DuplicateEvents++ })
	} else {
		g.event(c, id, n)
	}

	if n%25 == 7 {
		g.escapeProbe(c, w, n)
	}
	if n%20 == 11 {
		g.conflictProbe(w, n, token)
	}
}

// chargeRequest returns a function making POST /v1/payments with the worker's API key.
func (g *loadGen) chargeRequest(w int, idemKey, body string) func() *http.Request {
	return func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, g.base+"/v1/payments", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+g.apiKeys[w])
		r.Header.Set("Idempotency-Key", idemKey)
		return r
	}
}

// event posts the signed gateway event id until tokenwall acknowledges it with 200.
func (g *loadGen) event(c *http.Client, id string, n int) {
	body := []byte(`{"id":"` + id + `","object":"event","api_version":"2023-10-16","created":1795000000,` +
		`"type":"charge.succeeded","data":{"object":{"id":"ch_3Q0PsIJvEtkwdCNY0abcdEFG","object":"charge","amount":1999,` +
		`"metadata":{"order":"` + strconv.Itoa(n) + `","note":"card ` + eventCard + `"}}}}`)
	status, _ := g.send(c, "event", func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, g.base+"/webhooks/stripe", bytes.NewReader(body))
		// Signed afresh for each attempt, as the gateway does.
		r.Header.Set(webhooks.StripeSignatureHeader, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: body, Secret: g.whsec, Timestamp: time.Now()}).Header)
		r.Header.Set("Content-Type", "application/json")
		return r
	})
	if status != http.StatusOK {
		g.problem("event %s: status %d", id, status)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.events[id] {
		g.events[id] = true
		g.stats.Events++
	}
}

// escapeProbe sends a card number in a query string where no card belongs: tokenwall refuses
// it (400; 429 once the client's refusal bucket is empty), and neither nginx's log nor
// tokenwall's may show it.
func (g *loadGen) escapeProbe(c *http.Client, w, n int) {
	status, _ := g.send(c, "escape", func() *http.Request {
		r, _ := http.NewRequest(http.MethodGet, g.base+"/orders?w="+strconv.Itoa(w)+"&note="+url.QueryEscape(eventCard), nil)
		return r
	})
	if status != http.StatusBadRequest && status != http.StatusTooManyRequests {
		g.problem("card-escape probe %d-%d: status %d, want 400 or 429", w, n, status)
	}
	g.count(func(s *loadStats) { s.EscapeProbes++ })
}

// conflictProbe sends one Idempotency-Key with two different amounts at the same moment, over
// two connections (the load balancer likely gives them to different replicas): a client's bug
// that tokenwall must answer with 409 for one of them, whichever replica each reaches. The
// gateway recorder checks that the key never reached the gateway under two requests.
func (g *loadGen) conflictProbe(w, n int, token string) {
	key := fmt.Sprintf("conflict-%d-%d-%d", w, n, time.Now().UnixNano())
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"amount":%d,"currency":"eur","token":%q}`, 1000*(i+1), token)
			req := g.chargeRequest(w, key, body)
			// A fresh connection each, so the two are not serialised on one.
			c := &http.Client{Transport: g.clients[w].Transport.(*http.Transport).Clone(), Timeout: 30 * time.Second}
			defer c.CloseIdleConnections()
			<-start
			statuses[i], _ = g.send(c, "conflict", req)
		}()
	}
	close(start)
	wg.Wait()
	sort.Ints(statuses)
	outcome := fmt.Sprintf("%d+%d", statuses[0], statuses[1])
	// Two 201s mean both requests reached the gateway under the key (stripe-mock honours no
	// key; the real Stripe would refuse the second): the gateway recorder reports that.
	g.count(func(s *loadStats) { s.ConflictProbes++; s.ConflictOutcomes[outcome]++ })
}

// inUse is the problem type of a 409 for an Idempotency-Key whose first request is still
// running (on another replica, or on one that died holding it): retried, as for Stripe's own.
const inUse = "idempotency-key-in-use"

// send makes the request (a fresh one from mk for each attempt) until it gets an answer that
// is not a sign of a replica going away or of a request still running under the key, for at
// most 60 s, and returns the final status and body (at most 64 KiB).
func (g *loadGen) send(c *http.Client, op string, mk func() *http.Request) (int, []byte) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := c.Do(mk())
		reason := ""
		var body []byte
		if err != nil {
			reason = "transport error"
		} else {
			body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			switch resp.StatusCode {
			case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
				reason = strconv.Itoa(resp.StatusCode)
			case http.StatusTooManyRequests:
				if op == "escape" {
					return resp.StatusCode, body
				}
				reason = "429"
			case http.StatusConflict:
				if !bytes.Contains(body, []byte(inUse)) {
					return resp.StatusCode, body
				}
				reason = "409 in use"
			default:
				return resp.StatusCode, body
			}
		}
		g.count(func(s *loadStats) { s.Retried[op+" "+reason]++ })
		if time.Now().After(deadline) {
			if err != nil {
				g.problem("%s: gave up after 60 s: %v", op, err)
				return 0, nil
			}
			return resp.StatusCode, body
		}
		wait := 100 * time.Millisecond
		if reason == "409 in use" {
			wait = 500 * time.Millisecond
		}
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, 2*time.Second)
			}
		}
		time.Sleep(wait)
	}
}

// result returns the statistics, the acknowledged event ids and the problems noted.
func (g *loadGen) result() (loadStats, []string, []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ids := make([]string, 0, len(g.events))
	for id := range g.events {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return g.stats, ids, append([]string(nil), g.problems...)
}

// String prints the statistics on one line.
func (s loadStats) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}
