package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestHealthcheck: tokenwall healthcheck exits 0 when /readyz answers 200 and 1 when it
// answers anything else, cannot be reached, or does not answer within --timeout; with
// --config it finds the admin listener from admin.addr alone (an unspecified host read as
// loopback), without Vault.
func TestHealthcheck(t *testing.T) {
	var status atomic.Int64
	var mu sync.Mutex
	var paths []string
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		w.WriteHeader(int(status.Load()))
	}))
	defer ready.Close()
	addr, _ := blackhole(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	_, port, _ := net.SplitHostPort(ready.Listener.Addr().String())

	tests := []struct {
		name     string
		status   int
		args     []string
		wantCode int
		want     string // in stdout (0) or stderr (1)
	}{
		{name: "ready", status: 200, args: []string{"--url", ready.URL + "/readyz"}, wantCode: 0, want: "200 OK"},
		{name: "not ready", status: 503, args: []string{"--url", ready.URL + "/readyz"}, wantCode: 1, want: "answered 503"},
		{name: "a redirect is not ready", status: 302, args: []string{"--url", ready.URL + "/readyz"}, wantCode: 1, want: "answered 302"},
		{name: "nothing listening", args: []string{"--url", "http://" + closedAddr + "/readyz"}, wantCode: 1, want: "connection refused"},
		{name: "no answer within the timeout", args: []string{"--url", "http://" + addr + "/readyz", "--timeout", "300ms"}, wantCode: 1,
			want: "deadline exceeded"},
		{name: "admin.addr from the config", status: 200, args: []string{"--config", healthConfig(t, "127.0.0.1:"+port)}, wantCode: 0,
			want: "http://127.0.0.1:" + port + "/readyz: 200 OK"},
		{name: "admin.addr 0.0.0.0 is reached on loopback", status: 200, args: []string{"--config", healthConfig(t, "0.0.0.0:"+port)}, wantCode: 0,
			want: "http://127.0.0.1:" + port + "/readyz"},
		{name: "a config that does not load", args: []string{"--config", "/nonexistent/tokenwall.yaml"}, wantCode: 1, want: "read config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status.Store(int64(tc.status))
			code, out, errb := runCmd(t, append([]string{"healthcheck"}, tc.args...)...)
			got := out
			if tc.wantCode != 0 {
				got = errb
			}
			if code != tc.wantCode || !strings.Contains(got, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q: want %d with %q", code, out, errb, tc.wantCode, tc.want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range paths {
		if p != "/readyz" {
			t.Errorf("healthcheck asked for %s", p)
		}
	}
}

// healthConfig writes a config that is only valid enough to load: healthcheck reads
// admin.addr and nothing else (no listener certificate, no Vault, no routes).
func healthConfig(t *testing.T, adminAddr string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenwall.yaml")
	if err := os.WriteFile(p, []byte("admin:\n  addr: "+adminAddr+"\n  allow_non_loopback: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
