package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Tokenization client modes.
const (
	modeTokenwall = "tokenwall" // the checkout form post through tokenwall
	modeDirect    = "direct"    // the same work without tokenwall: Stripe, then the app
)

// checkoutForm is the demo checkout's post; the card is Stripe's test Visa. It lives in this
// process's memory only: nothing the run writes holds it.
const checkoutForm = "order_id=1001&amount=19.99&currency=EUR&card_name=Ada+Lovelace&card_number=4242+4242+4242+4242&card_exp=12%2F34&card_cvc=123"

// paymentMethodForm is the PaymentMethod creation tokenwall makes for that post.
const paymentMethodForm = "type=card&card%5Bnumber%5D=4242424242424242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2034&card%5Bcvc%5D=123&billing_details%5Bname%5D=Ada+Lovelace"

// tokenizeResult is what the client prints (JSON) for the harness.
type tokenizeResult struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	// FirstError is the first failure, for the harness to show; it never holds a body.
	FirstError string `json:"first_error,omitempty"`
}

// runTokenizeClient runs -c clients in closed loop for -d and prints a tokenizeResult.
func runTokenizeClient(args []string) int {
	fs := flag.NewFlagSet(roleTokenize, flag.ContinueOnError)
	mode := fs.String("mode", modeTokenwall, "tokenwall or direct")
	target := fs.String("target", "", "tokenwall base URL (mode tokenwall)")
	caFile := fs.String("ca", "", "tokenwall's certificate (mode tokenwall)")
	stripeURL := fs.String("stripe", "", "the Stripe stand-in's base URL (mode direct)")
	stripeKey := fs.String("stripe-key", "sk_test_123", "Stripe test key (mode direct)")
	upstream := fs.String("upstream", "", "the app's base URL (mode direct)")
	clients := fs.Int("c", 4, "concurrent clients")
	dur := fs.Duration("d", 5*time.Second, "duration")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tr := &http.Transport{MaxIdleConnsPerHost: *clients, MaxIdleConns: 2 * *clients,
		// HTTP/1.1, as a browser's form post on a fresh page mostly is.
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	if *caFile != "" {
		pemBytes, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pemBytes)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	var one func(context.Context) error
	switch *mode {
	case modeTokenwall:
		one = func(ctx context.Context) error {
			return post(ctx, client, *target+"/checkout/submit", checkoutForm, "", nil)
		}
	case modeDirect:
		one = func(ctx context.Context) error {
			var pm struct {
				ID string `json:"id"`
			}
			if err := post(ctx, client, *stripeURL+"/v1/payment_methods", paymentMethodForm, *stripeKey, &pm); err != nil {
				return fmt.Errorf("stripe: %w", err)
			}
			form := "order_id=1001&amount=19.99&currency=EUR&card_name=Ada+Lovelace&payment_method=" + url.QueryEscape(pm.ID) +
				"&card_brand=visa&card_last4=4242&card_exp_month=12&card_exp_year=2034"
			return post(ctx, client, *upstream+"/checkout/submit", form, "", nil)
		}
	default:
		fmt.Fprintf(os.Stderr, "-mode %q is neither %s nor %s\n", *mode, modeTokenwall, modeDirect)
		return 2
	}
	res := closedLoop(*clients, *dur, one)
	_ = json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// closedLoop runs n workers, each sending its next request when the last one answered,
// for d, and returns the latency percentiles of the successful ones.
func closedLoop(n int, d time.Duration, one func(context.Context) error) tokenizeResult {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu       sync.Mutex
		lat      []float64
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range n {
		wg.Go(func() {
			var mine []float64
			for ctx.Err() == nil {
				t0 := time.Now()
				err := one(ctx)
				if ctx.Err() != nil {
					break // cut short by the end of the run: not a figure
				}
				if err != nil {
					mu.Lock()
					errs++
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	return tokenizeResult{Requests: len(lat), Errors: errs, Seconds: time.Since(start).Seconds(),
		P50ms: percentile(lat, 50), P99ms: percentile(lat, 99), FirstError: firstErr}
}

// errStatus is an answer other than 200.
var errStatus = errors.New("unexpected status")

// post sends a form post; with into set it decodes the JSON answer there. Bodies are
// never put in an error: a Stripe error can echo the card.
func post(ctx context.Context, c *http.Client, u, form, bearer string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return fmt.Errorf("%w %d from %s", errStatus, resp.StatusCode, req.URL.Path)
	}
	if into != nil {
		return json.NewDecoder(resp.Body).Decode(into)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
