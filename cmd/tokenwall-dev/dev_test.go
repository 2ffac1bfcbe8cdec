package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/examples/billing"
)

func TestParseDevFlags(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		want      devFlags
		wantError string // in stderr
	}{
		{name: "defaults", want: devFlags{port: 8443, appPort: 8080, adminPort: 9090, widgetPort: 8081, data: ".dev", pageOnChange: "alert"}},
		{
			name: "widget, test modes and block",
			args: []string{"--widget-port", "18081", "--test-modes", "--page-on-change", "block", "--data", "d"},
			want: devFlags{port: 8443, appPort: 8080, adminPort: 9090, widgetPort: 18081, data: "d", testModes: true, pageOnChange: "block"},
		},
		{name: "bad port", args: []string{"--widget-port", "x"}, wantError: "widget-port"},
		{name: "bad change action", args: []string{"--page-on-change", "ignore"}, wantError: "page-on-change"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr strings.Builder
			got, err := parseDevFlags(tc.args, &stderr)
			if tc.wantError != "" {
				if err == nil || !strings.Contains(stderr.String(), tc.wantError) {
					t.Fatalf("error %v, stderr %q; want an error naming the flag", err, stderr.String())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("flags %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDevConfigPaymentPage(t *testing.T) {
	data := t.TempDir()
	for _, onChange := range []string{config.PageAlert, config.PageBlock} {
		f := devFlags{port: 18443, appPort: 18080, adminPort: 19090, widgetPort: 18081, pageOnChange: onChange}
		cfg := devConfig(f, data, "http://127.0.0.1:8200", "http://127.0.0.1:12111", filepath.Join(data, "vault-token"))
		cfg.Listen.CertFile, cfg.Listen.KeyFile = filepath.Join(data, "cert.pem"), filepath.Join(data, "key.pem")
		if err := cfg.Validate(); err != nil {
			t.Fatalf("dev config: %v", err)
		}
		pg, ok := cfg.PageFor("/checkout")
		if !ok {
			t.Fatalf("no payment page /checkout in %d pages", len(cfg.Pages))
		}
		if pg.Mode != config.PageEnforce || pg.OnChange != onChange {
			t.Errorf("mode %q on_change %q, want enforce and %s", pg.Mode, pg.OnChange, onChange)
		}
		checkInventory(t, cfg, pg)
	}
}

// checkInventory checks the dev page's inventory: the widget, on loopback, with its SRI.
func checkInventory(t *testing.T, cfg config.Config, pg config.Page) {
	t.Helper()
	if len(pg.Scripts) != 1 {
		t.Fatalf("%d scripts in the inventory, want the widget", len(pg.Scripts))
	}
	s := pg.Scripts[0]
	if s.Src != "http://127.0.0.1:18081/widget.js" || s.SHA384 != billing.WidgetSRI() {
		t.Errorf("inventory script %s %s, want the widget on port 18081 with billing.WidgetSRI", s.Src, s.SHA384)
	}
	u, err := url.Parse(cfg.Upstream.URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Errorf("upstream %q is not on 127.0.0.1", cfg.Upstream.URL)
	}
}

// TestServeWidget serves the widget origin as the stack does and fetches the script the
// inventory lists: its bytes must match the inventory's SRI value.
func TestServeWidget(t *testing.T) {
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	demo := billing.New(billing.Options{WidgetOrigin: widgetOrigin(port)})
	srv, err := serveLocal("payment widget", demo.WidgetHandler(), port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 {
		t.Errorf("server timeouts %v %v %v %v: want all four set", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	res, err := http.Get(widgetOrigin(port) + "/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || string(body) != string(billing.WidgetScript()) {
		t.Errorf("GET /widget.js: status %d, %d bytes; want 200 and WidgetScript", res.StatusCode, len(body))
	}
	if _, err := serveLocal("payment widget", demo.WidgetHandler(), port); err == nil || !strings.Contains(err.Error(), "payment widget listen") {
		t.Errorf("second listener on %s: error %v, want one naming the widget", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), err)
	}
}
