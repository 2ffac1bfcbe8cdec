package devstack_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
)

// newFaultProxy starts a FaultProxy in front of target; cleanup closes it.
func newFaultProxy(t *testing.T, target string) *devstack.FaultProxy {
	t.Helper()
	p, err := devstack.NewFaultProxy(target)
	if err != nil {
		t.Fatalf("NewFaultProxy: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close fault proxy: %v", err)
		}
	})
	return p
}

func TestFaultProxy(t *testing.T) {
	s, _ := startStripeMock(t)
	tests := []struct {
		name       string
		fault      devstack.Fault
		timeout    time.Duration // client timeout
		settle     time.Duration // wait before counting what reached the upstream
		wantStatus int           // 0: the client gets no answer
		wantBody   string
		minElapsed time.Duration
		wantUp     int // requests that reached stripe-mock
	}{
		{name: "none", fault: devstack.Fault{}, wantStatus: http.StatusOK, wantBody: `"pm_`, wantUp: 1},
		{name: "status", fault: devstack.FaultStatus(http.StatusServiceUnavailable), wantStatus: http.StatusServiceUnavailable,
			wantBody: `{"error":{"type":"api_error","message":"injected"}}`, wantUp: 0},
		{name: "delay", fault: devstack.FaultDelay(300 * time.Millisecond), wantStatus: http.StatusOK, wantBody: `"pm_`,
			minElapsed: 300 * time.Millisecond, wantUp: 1},
		{name: "delay abandoned by the client", fault: devstack.FaultDelay(time.Second), timeout: 100 * time.Millisecond,
			settle: 1500 * time.Millisecond, wantUp: 0},
		{name: "drop", fault: devstack.FaultDrop(), wantUp: 0},
		{name: "drop response", fault: devstack.FaultDropResponse(), wantUp: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A second, fault-free proxy between the two records what reached stripe-mock.
			upstream := newFaultProxy(t, s.URL)
			p := newFaultProxy(t, upstream.URL())
			p.Inject(tc.fault, 1)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 10 * time.Second
			}
			key := "idem-" + strings.ReplaceAll(tc.name, " ", "-")

			start := time.Now()
			resp, body, err := postPaymentMethod(t, newClient(t, timeout), p.URL(), key)
			elapsed := time.Since(start)
			switch {
			case tc.wantStatus == 0 && err == nil:
				t.Fatalf("got %s; want no answer", resp.Status)
			case tc.wantStatus != 0 && err != nil:
				t.Fatalf("request failed: %v", err)
			case tc.wantStatus != 0 && resp.StatusCode != tc.wantStatus:
				t.Fatalf("status %d; want %d (%s)", resp.StatusCode, tc.wantStatus, body)
			case tc.wantStatus != 0 && !strings.Contains(string(body), tc.wantBody):
				t.Errorf("body %s; want it to contain %s", body, tc.wantBody)
			}
			if elapsed < tc.minElapsed {
				t.Errorf("answered after %s; want at least %s", elapsed, tc.minElapsed)
			}

			time.Sleep(tc.settle)
			seen := p.Requests()
			want := devstack.SeenRequest{Method: http.MethodPost, Path: "/v1/payment_methods", IdempotencyKey: key, Fault: tc.fault.String()}
			if len(seen) != 1 || seen[0] != want {
				t.Errorf("proxy saw %+v; want [%+v]", seen, want)
			}
			up := upstream.Requests()
			if len(up) != tc.wantUp {
				t.Fatalf("%d requests reached stripe-mock; want %d", len(up), tc.wantUp)
			}
			if len(up) == 1 && up[0].IdempotencyKey != key {
				t.Errorf("upstream Idempotency-Key = %q; want %q", up[0].IdempotencyKey, key)
			}
		})
	}
}

// Faults apply to the next n requests, in the order injected, then requests pass again.
func TestFaultProxyCountsRequests(t *testing.T) {
	s, _ := startStripeMock(t)
	p := newFaultProxy(t, s.URL)
	p.Inject(devstack.FaultStatus(http.StatusTooManyRequests), 2)
	p.Inject(devstack.FaultDrop(), 1)
	p.Inject(devstack.FaultStatus(http.StatusBadRequest), 0) // n <= 0 injects nothing
	client := newClient(t, 10*time.Second)

	wantStatus := []int{http.StatusTooManyRequests, http.StatusTooManyRequests, 0, http.StatusOK}
	for i, want := range wantStatus {
		resp, _, err := postPaymentMethod(t, client, p.URL(), "")
		got := 0
		if err == nil {
			got = resp.StatusCode
		}
		if got != want {
			t.Errorf("request %d: status %d (%v); want %d", i+1, got, err, want)
		}
	}
	var faults []string
	for _, r := range p.Requests() {
		faults = append(faults, r.Fault)
	}
	if got, want := strings.Join(faults, ","), "status 429,status 429,drop,"; got != want {
		t.Errorf("faults applied = %q; want %q", got, want)
	}
}

func TestFaultProxyUnreachableTarget(t *testing.T) {
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p := newFaultProxy(t, "http://127.0.0.1:"+strconv.Itoa(port))
	resp, body, err := postPaymentMethod(t, newClient(t, 10*time.Second), p.URL(), "")
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("proxy to nothing: %v %v %s; want 502", resp, err, body)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, _, err := postPaymentMethod(t, newClient(t, time.Second), p.URL(), ""); err == nil {
		t.Error("proxy answers after Close")
	}
}

func TestNewFaultProxyRejectsBadTarget(t *testing.T) {
	for _, target := range []string{"", "127.0.0.1:80", "ftp://127.0.0.1", "http://"} {
		if p, err := devstack.NewFaultProxy(target); err == nil {
			_ = p.Close()
			t.Errorf("NewFaultProxy(%q) accepted", target)
		}
	}
}
