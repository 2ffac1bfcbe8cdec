package billing_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/examples/billing"
)

// demoServers is the app and its widget origin, each behind its own TLS server.
type demoServers struct {
	app, widget *httptest.Server
	// origin is the widget origin the app was given.
	origin string
	// key is the signing key the app trusts.
	key []byte
}

// newDemoServers starts the app with a widget origin, and the origin itself.
func newDemoServers(t *testing.T, testModes bool) demoServers {
	t.Helper()
	widget := httptest.NewUnstartedServer(nil) // listening already: its address is known
	origin := "https://" + widget.Listener.Addr().String()
	key := newKey(t)
	a := billing.New(billing.Options{
		SigningKeys:  func() [][]byte { return [][]byte{key} },
		WidgetOrigin: origin,
		TestModes:    testModes,
	})
	widget.Config.Handler = a.WidgetHandler()
	widget.StartTLS()
	t.Cleanup(widget.Close)
	srv := httptest.NewTLSServer(a)
	t.Cleanup(srv.Close)
	return demoServers{app: srv, widget: widget, origin: origin, key: key}
}

func sri(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// checkScriptHeaders checks the headers of a script served by the widget origin.
func checkScriptHeaders(t *testing.T, res *http.Response) {
	t.Helper()
	for name, want := range map[string]string{
		"Content-Type":                "text/javascript; charset=utf-8",
		"Access-Control-Allow-Origin": "*",
		"Cache-Control":               "no-cache",
		"X-Content-Type-Options":      "nosniff",
	} {
		if got := res.Header.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
}

func TestWidgetScript(t *testing.T) {
	for _, testModes := range []bool{false, true} {
		name := "normal"
		if testModes {
			name = "test modes"
		}
		t.Run(name, func(t *testing.T) {
			s := newDemoServers(t, testModes)
			res, body := get(t, s.widget, "/widget.js")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", res.StatusCode)
			}
			checkScriptHeaders(t, res)
			if body != string(billing.WidgetScript()) {
				t.Errorf("served %q, want WidgetScript", body)
			}
			if got := sri([]byte(body)); got != billing.WidgetSRI() {
				t.Errorf("SRI of the served bytes %s, WidgetSRI %s", got, billing.WidgetSRI())
			}
		})
	}
	t.Run("valid inventory value", func(t *testing.T) {
		if !config.ValidSRI(billing.WidgetSRI()) {
			t.Errorf("WidgetSRI %q is not a SHA-384 SRI value", billing.WidgetSRI())
		}
	})
	t.Run("leaves card fields alone", func(t *testing.T) {
		js := string(billing.WidgetScript())
		for _, bad := range []string{"card_", "fetch(", "Image(", "XMLHttpRequest", "sendBeacon", ".value"} {
			if strings.Contains(js, bad) {
				t.Errorf("widget contains %q", bad)
			}
		}
		if !strings.Contains(js, `getElementById("widget-status")`) {
			t.Errorf("widget does not touch #widget-status")
		}
	})
	t.Run("a copy", func(t *testing.T) {
		b := billing.WidgetScript()
		b[0] ^= 0xff
		if sri(billing.WidgetScript()) != billing.WidgetSRI() {
			t.Errorf("changing the returned bytes changed the script")
		}
	})
}

func TestCheckoutLoadsWidget(t *testing.T) {
	s := newDemoServers(t, false)
	res, doc := get(t, s.app, "/checkout")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	scripts := tags(doc, "script")
	if len(scripts) != 1 {
		t.Fatalf("found scripts %v, want the widget only", scripts)
	}
	a := attrs(scripts[0])
	if a["src"] != s.origin+"/widget.js" {
		t.Errorf("script src %q, want %s/widget.js", a["src"], s.origin)
	}
	if !strings.Contains(scripts[0], " defer") {
		t.Errorf("script %s is not deferred", scripts[0])
	}
	for _, k := range []string{"integrity", "crossorigin", "nonce"} {
		if _, ok := a[k]; ok {
			t.Errorf("script has %s: tokenwall adds it", k)
		}
	}
	// With the count above: the one script element is empty, so nothing runs inline.
	if el := `<script src="` + s.origin + `/widget.js" defer></script>`; !strings.Contains(doc, el) {
		t.Errorf("page lacks %s", el)
	}
	if _, text, ok := elementByID(doc, "widget-status"); !ok || text == "" {
		t.Errorf("no #widget-status with a text for the widget to replace")
	}
	lower := strings.ToLower(doc)
	for _, bad := range []string{"<style", " style=", "javascript:"} {
		if strings.Contains(lower, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	checkPageHeaders(t, res, "")

	// The widget runs on /checkout only, the page tokenwall has the inventory of.
	for name, form := range map[string]string{
		"saved":      tokenForm("visa", "4242", "pm_1OaVisa"),
		"card error": "card_error=card_declined",
	} {
		t.Run("not on the result page "+name, func(t *testing.T) {
			res, doc := post(t, s.app, "/checkout/submit", formType, form, sign(form, s.key))
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d: %s", res.StatusCode, doc)
			}
			if strings.Contains(doc, "<script") || strings.Contains(doc, "widget-status") {
				t.Errorf("result page loads the widget: %s", doc)
			}
		})
	}
}

// checkPageHeaders checks the security headers the app sets on the checkout page, except
// dropped (lower case), which must be absent.
func checkPageHeaders(t *testing.T, res *http.Response, dropped string) {
	t.Helper()
	for name, want := range map[string]string{
		"Permissions-Policy":         "payment=(self), camera=(), microphone=(), geolocation=()",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Referrer-Policy":            "no-referrer",
		"X-Content-Type-Options":     "nosniff",
		"Cache-Control":              "no-store",
	} {
		got, present := res.Header[name]
		if strings.EqualFold(name, dropped) {
			if present {
				t.Errorf("%s %q, want it dropped", name, got)
			}
			continue
		}
		if res.Header.Get(name) != want {
			t.Errorf("%s %q, want %q", name, res.Header.Get(name), want)
		}
	}
}

func TestCollectorNeverEchoes(t *testing.T) {
	s := newDemoServers(t, true)
	const number = "4242424242424242"
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{name: "image beacon", method: http.MethodGet, path: "/collect?c=" + number},
		{name: "no digits", method: http.MethodGet, path: "/collect?c=abc"},
		{name: "posted body", method: http.MethodPost, path: "/collect", body: "c=" + number},
		{name: "empty", method: http.MethodPost, path: "/collect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.widget.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			res, body := do(t, s.widget, req)
			if res.StatusCode != http.StatusNoContent || body != "" {
				t.Errorf("status %d body %q, want 204 and nothing", res.StatusCode, body)
			}
		})
	}
	want := map[string]int64{"hits": 4, "with_digits": 2}
	for _, srv := range []*httptest.Server{s.widget, s.app} {
		res, body := get(t, srv, "/_demo/collected")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET /_demo/collected: status %d, Content-Type %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		if strings.Contains(body, "4242") || strings.Contains(body, "abc") {
			t.Errorf("collected %s echoes a value", body)
		}
		var got map[string]int64
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("collected %s: %v", body, err)
		}
		if len(got) != len(want) || got["hits"] != want["hits"] || got["with_digits"] != want["with_digits"] {
			t.Errorf("collected %v, want %v", got, want)
		}
	}

	res, _ := post(t, s.app, "/_demo/mode", formType, "reset=1", "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("reset: status %d", res.StatusCode)
	}
	if _, body := get(t, s.widget, "/_demo/collected"); strings.TrimSpace(body) != `{"hits":0,"with_digits":0}` {
		t.Errorf("after reset, collected %s", body)
	}
}
