package billing_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/examples/billing"
)

// modes is GET and POST /_demo/mode's answer.
type modes struct {
	Skimmer    string `json:"skimmer"`
	Widget     string `json:"widget"`
	DropHeader string `json:"drop_header"`
}

var defaultModes = modes{Skimmer: "off", Widget: "original"}

// setMode posts form to /_demo/mode and decodes the modes it answers with.
func setMode(t *testing.T, s demoServers, form url.Values) modes {
	t.Helper()
	res, body := post(t, s.app, "/_demo/mode", formType, form.Encode(), "")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /_demo/mode %v: status %d: %s", form, res.StatusCode, body)
	}
	return decodeModes(t, res, body)
}

func decodeModes(t *testing.T, res *http.Response, body string) modes {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("modes: Content-Type %q", ct)
	}
	var m modes
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("modes %s: %v", body, err)
	}
	return m
}

func TestDemoRoutesOffWithoutTestModes(t *testing.T) {
	s := newDemoServers(t, false)
	tests := []struct {
		name   string
		srv    string
		method string
		path   string
	}{
		{name: "get modes", srv: "app", method: http.MethodGet, path: "/_demo/mode"},
		{name: "set modes", srv: "app", method: http.MethodPost, path: "/_demo/mode"},
		{name: "collected on app", srv: "app", method: http.MethodGet, path: "/_demo/collected"},
		{name: "skimmer script", srv: "widget", method: http.MethodGet, path: "/skim.js"},
		{name: "collector", srv: "widget", method: http.MethodGet, path: "/collect?c=4242424242424242"},
		{name: "collector post", srv: "widget", method: http.MethodPost, path: "/collect"},
		{name: "collected on widget", srv: "widget", method: http.MethodGet, path: "/_demo/collected"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := s.app
			if tc.srv == "widget" {
				srv = s.widget
			}
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("skimmer=on"))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", formType)
			if res, _ := do(t, srv, req); res.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", res.StatusCode)
			}
		})
	}
	// The refused post did not turn on the skimmer, and was not taken for a signed post.
	if _, doc := get(t, s.app, "/checkout"); strings.Contains(doc, "skim.js") || len(tags(doc, "script")) != 1 {
		t.Errorf("checkout page changed: %s", doc)
	}
	if got := getReceived(t, s.app); len(got) != 0 {
		t.Errorf("recorded %d bodies, want none", len(got))
	}
}

func TestDemoModes(t *testing.T) {
	s := newDemoServers(t, true)
	res, body := get(t, s.app, "/_demo/mode")
	if got := decodeModes(t, res, body); got != defaultModes {
		t.Fatalf("initial modes %+v, want %+v", got, defaultModes)
	}

	t.Run("skimmer", func(t *testing.T) {
		if m := setMode(t, s, url.Values{"skimmer": {"on"}}); m.Skimmer != "on" {
			t.Fatalf("modes %+v after skimmer=on", m)
		}
		_, doc := get(t, s.app, "/checkout")
		scripts := tags(doc, "script")
		var inline, external int
		for _, tag := range scripts {
			switch attrs(tag)["src"] {
			case "":
				inline++
			case s.origin + "/skim.js":
				external++
			}
		}
		if inline != 1 || external != 1 || len(scripts) != 3 {
			t.Errorf("scripts %v, want the widget, one inline skimmer and %s/skim.js", scripts, s.origin)
		}
		// html/template writes the collector URL as a JavaScript string (older releases
		// escape its slashes).
		collect := `"` + s.origin + `/collect"`
		if !strings.Contains(doc, `var collect = `+collect+`;`) && !strings.Contains(doc, strings.ReplaceAll(collect, "/", `\/`)) {
			t.Errorf("inline skimmer does not beacon to %s", collect)
		}
		for _, want := range []string{`getElementById("card_number")`, `mode: "no-cors"`, "new Image().src", `addEventListener("input"`, `addEventListener("submit"`} {
			if !strings.Contains(doc, want) {
				t.Errorf("inline skimmer lacks %s", want)
			}
		}
		res, js := get(t, s.widget, "/skim.js")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /skim.js: status %d", res.StatusCode)
		}
		checkScriptHeaders(t, res)
		for _, want := range []string{`"/collect"`, `getElementById("card_number")`, `mode: "no-cors"`, "new Image().src"} {
			if !strings.Contains(js, want) {
				t.Errorf("skim.js lacks %s", want)
			}
		}

		setMode(t, s, url.Values{"skimmer": {"off"}})
		if _, doc := get(t, s.app, "/checkout"); len(tags(doc, "script")) != 1 {
			t.Errorf("skimmer=off left scripts %v", tags(doc, "script"))
		}
	})

	t.Run("tampered widget", func(t *testing.T) {
		if m := setMode(t, s, url.Values{"widget": {"tampered"}}); m.Widget != "tampered" {
			t.Fatalf("modes %+v after widget=tampered", m)
		}
		res, js := get(t, s.widget, "/widget.js")
		checkScriptHeaders(t, res)
		if !strings.HasPrefix(js, string(billing.WidgetScript())) || sri([]byte(js)) == billing.WidgetSRI() {
			t.Errorf("tampered widget is not the widget with more: %q", js)
		}
		if !strings.Contains(js[len(billing.WidgetScript()):], "/collect") {
			t.Errorf("the tampered line does not beacon")
		}
		// The page itself is unchanged: the change is in the script's bytes.
		if _, doc := get(t, s.app, "/checkout"); len(tags(doc, "script")) != 1 {
			t.Errorf("scripts %v, want the widget only", tags(doc, "script"))
		}
		setMode(t, s, url.Values{"widget": {"original"}})
		if _, js := get(t, s.widget, "/widget.js"); js != string(billing.WidgetScript()) {
			t.Errorf("widget=original serves %q", js)
		}
	})

	t.Run("dropped header", func(t *testing.T) {
		for _, name := range []string{"permissions-policy", "Cross-Origin-Opener-Policy"} {
			m := setMode(t, s, url.Values{"drop_header": {name}})
			if m.DropHeader != strings.ToLower(name) {
				t.Fatalf("modes %+v after drop_header=%s", m, name)
			}
			res, _ := get(t, s.app, "/checkout")
			checkPageHeaders(t, res, strings.ToLower(name))
		}
		setMode(t, s, url.Values{"drop_header": {""}})
		res, _ := get(t, s.app, "/checkout")
		checkPageHeaders(t, res, "")
	})

	t.Run("reset", func(t *testing.T) {
		setMode(t, s, url.Values{"skimmer": {"on"}, "widget": {"tampered"}, "drop_header": {"permissions-policy"}})
		if m := setMode(t, s, url.Values{"reset": {"1"}}); m != defaultModes {
			t.Errorf("after reset %+v, want %+v", m, defaultModes)
		}
		// reset applies first, so the other fields of the same post stick.
		if m := setMode(t, s, url.Values{"reset": {"1"}, "widget": {"tampered"}}); m != (modes{Skimmer: "off", Widget: "tampered"}) {
			t.Errorf("after reset and widget=tampered %+v", m)
		}
		res, body := get(t, s.app, "/_demo/mode")
		if m := decodeModes(t, res, body); m.Widget != "tampered" {
			t.Errorf("GET /_demo/mode %+v, want widget tampered", m)
		}
		setMode(t, s, url.Values{"reset": {"1"}})
	})
}

func TestDemoModesRefused(t *testing.T) {
	s := newDemoServers(t, true)
	noWidget := newServerWith(t, billing.Options{TestModes: true})
	tests := []struct {
		name       string
		app        string
		body       string
		fetchSite  string
		wantStatus int
	}{
		{name: "bad skimmer", body: "skimmer=maybe-4242", wantStatus: http.StatusBadRequest},
		{name: "bad widget", body: "widget=evil-4242", wantStatus: http.StatusBadRequest},
		{name: "content type", body: "drop_header=content-type", wantStatus: http.StatusBadRequest},
		{name: "unknown header", body: "drop_header=x-4242", wantStatus: http.StatusBadRequest},
		{name: "bad reset", body: "reset=4242", wantStatus: http.StatusBadRequest},
		{name: "unknown field", body: "card_number=4242424242424242", wantStatus: http.StatusBadRequest},
		{name: "twice", body: "skimmer=on&skimmer=off", wantStatus: http.StatusBadRequest},
		{name: "one bad, all refused", body: "skimmer=on&widget=4242", wantStatus: http.StatusBadRequest},
		{name: "too large", body: "drop_header=" + strings.Repeat("x", 5000), wantStatus: http.StatusBadRequest},
		{name: "from another site", body: "skimmer=on", fetchSite: "cross-site", wantStatus: http.StatusForbidden},
		{name: "from the widget origin", body: "skimmer=on", fetchSite: "same-site", wantStatus: http.StatusForbidden},
		{name: "skimmer without widget origin", app: "no widget", body: "skimmer=on", wantStatus: http.StatusConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := s.app
			if tc.app == "no widget" {
				srv = noWidget
			}
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/_demo/mode", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", formType)
			if tc.fetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			}
			res, body := do(t, srv, req)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tc.wantStatus, body)
			}
			if strings.Contains(body, "4242") || strings.Contains(body, "xxxx") {
				t.Errorf("answer %q echoes the value sent", body)
			}
			res, body = get(t, srv, "/_demo/mode")
			if m := decodeModes(t, res, body); m != defaultModes {
				t.Errorf("modes %+v after a refused post, want %+v", m, defaultModes)
			}
		})
	}
}
