package proxy_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

func checkoutBody() []byte {
	return formBody("order_id", "1001", "card_number", visa, "card_exp", "12/34", "card_cvc", "123")
}

// TestGatewayFaults puts a fault-injecting server in front of the real stripe-mock and checks
// that each failure reaches the app as gateway_unavailable, that stripe-go's retries reuse
// the idempotency key, and that a recovered gateway tokenizes again.
func TestGatewayFaults(t *testing.T) {
	fp, err := devstack.NewFaultProxy(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	// The timeout leaves room for a loaded machine: the fault is a 5 s delay, far past it.
	h := newHarness(t, options{stripeURL: fp.URL(), stripeTimeout: 2 * time.Second, retries: 1})
	cases := []struct {
		name     string
		fault    devstack.Fault
		n        int
		wantCode string
		attempts int
	}{
		// stripe-go does not retry a POST that got a 500: Stripe's idempotency layer would
		// replay the same 500. It retries 503s and network failures, with the same key.
		{name: "500 is not retried", fault: devstack.FaultStatus(500), n: 1, wantCode: "gateway_unavailable", attempts: 1},
		{name: "503 then 503", fault: devstack.FaultStatus(503), n: 2, wantCode: "gateway_unavailable", attempts: 2},
		{name: "timeout", fault: devstack.FaultDelay(5 * time.Second), n: 2, wantCode: "gateway_unavailable", attempts: 2},
		{name: "dropped connection", fault: devstack.FaultDrop(), n: 2, wantCode: "gateway_unavailable", attempts: 2},
		{name: "one 503 then recovered", fault: devstack.FaultStatus(503), n: 1, wantCode: "", attempts: 2},
		{name: "response lost after stripe processed it", fault: devstack.FaultDropResponse(), n: 1, wantCode: "", attempts: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fp.Requests())
			fp.Inject(tc.fault, tc.n)
			resp, body := h.post("/checkout/submit", formCT, checkoutBody())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d %q: a gateway failure still reaches the app as an error code", resp.StatusCode, body)
			}
			reqs := h.up.requests()
			v, _ := url.ParseQuery(string(reqs[len(reqs)-1].Body))
			if got := v.Get("card_error"); got != tc.wantCode {
				t.Errorf("card_error = %q, want %q", got, tc.wantCode)
			}
			if tc.wantCode == "" && !strings.HasPrefix(v.Get("payment_method"), "pm_") {
				t.Errorf("no token after recovery: %s", reqs[len(reqs)-1].Body)
			}
			seen := fp.Requests()[before:]
			if len(seen) != tc.attempts {
				t.Fatalf("gateway saw %d attempts, want %d", len(seen), tc.attempts)
			}
			for _, s := range seen {
				if s.IdempotencyKey == "" || s.IdempotencyKey != seen[0].IdempotencyKey {
					t.Fatalf("idempotency keys %q and %q: a retry must reuse the key", seen[0].IdempotencyKey, s.IdempotencyKey)
				}
			}
		})
	}
	// Two requests never share a key.
	seen := fp.Requests()
	if seen[0].IdempotencyKey == seen[len(seen)-1].IdempotencyKey {
		t.Error("different checkouts reused one idempotency key")
	}
	assertNoCard(t, "tokenwall log", []byte(h.logText()))
}

func TestUpstreamDownAnswers502(t *testing.T) {
	h := newHarness(t, options{})
	h.up.srv.Close()
	resp, body := h.post("/checkout/submit", formCT, checkoutBody())
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d %q, want 502", resp.StatusCode, body)
	}
	assertNoCard(t, "reply", []byte(body))
	log := h.logText()
	assertNoCard(t, "tokenwall log", []byte(log))
	if !strings.Contains(log, `"status":502`) || !strings.Contains(log, "upstream unavailable") {
		t.Errorf("log lacks the 502 summary with its cause")
	}
}

// TestVaultOutageFailsClosed: with Vault gone, tokenwall serves from its cache until the
// secrets pass their maximum age, then refuses tokenization with 503 and reports not ready.
func TestVaultOutageFailsClosed(t *testing.T) {
	dir := testkit.ArtifactsDir(t)
	vlog := testkit.LogFile(t, "vault.log")
	v, err := devstack.StartVault(context.Background(), devstack.Options{Dir: dir, Log: vlog})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Stop() })
	h := newHarness(t, options{vault: v, maxAge: 3 * time.Second, refresh: 250 * time.Millisecond})
	if resp, _ := h.post("/checkout/submit", formCT, checkoutBody()); resp.StatusCode != 200 {
		t.Fatalf("before the outage: %d", resp.StatusCode)
	}
	if err := v.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if resp, _ := h.post("/checkout/submit", formCT, checkoutBody()); resp.StatusCode != 200 {
		t.Fatalf("right after the outage, from cache: %d", resp.StatusCode)
	}
	forwarded := len(h.up.requests())
	var status int
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var resp *http.Response
		resp, body = h.post("/checkout/submit", formCT, checkoutBody())
		if status = resp.StatusCode; status == http.StatusServiceUnavailable {
			break
		}
		forwarded = len(h.up.requests())
	}
	if status != http.StatusServiceUnavailable {
		t.Fatalf("tokenization never failed closed: last status %d", status)
	}
	if time.Since(killed) < 2*time.Second {
		t.Errorf("failed closed after %s, before the cache's maximum age", time.Since(killed))
	}
	if len(h.up.requests()) != forwarded {
		t.Error("a request was forwarded after failing closed")
	}
	assertNoCard(t, "reply", []byte(body))
	resp, _ := h.do(mustRequest(t, http.MethodGet, h.url+"/readyz"))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz %d during the outage, want 503", resp.StatusCode)
	}
	// A refresh failure is counted when the background read gives up, which under load may
	// come after the cache went stale: wait for it, boundedly.
	var metrics string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if metrics = get(t, h.adminURL+"/metrics"); strings.Contains(metrics, "tokenwall_vault_refresh_failures_total") {
			break
		}
	}
	if !strings.Contains(metrics, "tokenwall_vault_refresh_failures_total") || !strings.Contains(metrics, `tokenwall_secret_age_seconds{secret="stripe_key"}`) {
		t.Error("metrics lack vault refresh failures or secret age")
	}
}

// TestGracefulShutdownFinishesInFlight stops tokenwall while a request is in flight.
func TestGracefulShutdownFinishesInFlight(t *testing.T) {
	h := newHarness(t, options{})
	h.up.setDelay(1500 * time.Millisecond)
	var wg sync.WaitGroup
	var status int
	wg.Add(1)
	go func() {
		defer wg.Done()
		resp, err := h.client.Post(h.url+"/checkout/submit", formCT, strings.NewReader(string(checkoutBody())))
		if err != nil {
			t.Errorf("in-flight request failed: %v", err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = resp.StatusCode
	}()
	for deadline := time.Now().Add(10 * time.Second); len(h.up.requests()) == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if err := h.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	if status != http.StatusOK {
		t.Fatalf("in-flight request ended with %d, want 200", status)
	}
	if _, err := h.client.Get(h.url + "/healthz"); err == nil {
		t.Error("server still accepts requests after shutdown")
	}
}

func TestTLSPolicy(t *testing.T) {
	h := newHarness(t, options{})
	addr := strings.TrimPrefix(h.url, "https://")
	cases := []struct {
		name   string
		cfg    *tls.Config
		accept bool
	}{
		{name: "TLS 1.0 refused", cfg: &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}},
		{name: "TLS 1.1 refused", cfg: &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}},
		{name: "TLS 1.2 CBC suite refused", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}}},
		{name: "TLS 1.2 AES-GCM accepted", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, accept: true},
		{name: "TLS 1.2 ChaCha20 accepted", cfg: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, accept: true},
		{name: "TLS 1.3 accepted", cfg: &tls.Config{MinVersion: tls.VersionTLS13}, accept: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.InsecureSkipVerify = true //nolint:gosec // the handshake's outcome is under test, not the certificate
			conn, err := tls.Dial("tcp", addr, tc.cfg)
			if err == nil {
				conn.Close()
			}
			if (err == nil) != tc.accept {
				t.Fatalf("handshake error %v, want accepted=%v", err, tc.accept)
			}
		})
	}
}

func TestMetricsOnAdminListenerOnly(t *testing.T) {
	h := newHarness(t, options{})
	if resp, _ := h.post("/checkout/submit", formCT, checkoutBody()); resp.StatusCode != 200 {
		t.Fatalf("tokenize: %d", resp.StatusCode)
	}
	m := get(t, h.adminURL+"/metrics")
	for _, want := range []string{
		`tokenwall_tokenizations_total{brand="visa",outcome="ok"} 1`,
		`tokenwall_requests_total{route="/checkout/submit",status="200"} 1`,
		"tokenwall_gateway_duration_seconds_count 1",
		"tokenwall_audit_write_duration_seconds_count 1",
		"tokenwall_request_duration_seconds_bucket",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// On the public listener /metrics is just another upstream path.
	_, body := h.do(mustRequest(t, http.MethodGet, h.url+"/metrics"))
	if strings.Contains(body, "tokenwall_") {
		t.Error("metrics are exposed on the public listener")
	}
	if !strings.Contains(body, "upstream got GET /metrics") {
		t.Errorf("public /metrics did not pass through: %q", body)
	}
	if got := get(t, h.adminURL+"/readyz"); !strings.Contains(got, "ready") {
		t.Errorf("admin readyz %q", got)
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestStripe401RefreshesTheKeyFromVault: after the Stripe key is rotated in Vault, the first
// 401 from Stripe makes tokenwall re-read its secrets and retry once, with the new key.
func TestStripe401RefreshesTheKeyFromVault(t *testing.T) {
	fp, err := devstack.NewFaultProxy(sharedStripe.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fp.Close() })
	h := newHarness(t, options{stripeURL: fp.URL()})
	ctx := context.Background()
	admin, err := vault.Dial(ctx, vault.Options{Address: sharedVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: h.cfg.Vault.Auth.TokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.WriteKV(ctx, h.cfg.Vault.StripeKeyPath, "sk_test_rotated"); err != nil {
		t.Fatal(err)
	}
	if s, _ := h.cache.Get(vault.SecretStripeKey); s.Version() != 1 {
		t.Fatalf("cached key version %d before the 401, want 1", s.Version())
	}
	fp.Inject(devstack.FaultStatus(http.StatusUnauthorized), 1)
	resp, body := h.post("/checkout/submit", formCT, checkoutBody())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d %q", resp.StatusCode, body)
	}
	reqs := h.up.requests()
	v, _ := url.ParseQuery(string(reqs[len(reqs)-1].Body))
	if !strings.HasPrefix(v.Get("payment_method"), "pm_") {
		t.Fatalf("no token after the refresh: %s", reqs[len(reqs)-1].Body)
	}
	if n := len(fp.Requests()); n != 2 {
		t.Errorf("stripe saw %d requests, want the 401 and one retry", n)
	}
	if s, _ := h.cache.Get(vault.SecretStripeKey); s.Version() != 2 {
		t.Errorf("cached key version %d after the 401, want 2 (re-read from vault)", s.Version())
	}
}
