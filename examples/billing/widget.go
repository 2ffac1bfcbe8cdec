package billing

import (
	"crypto/sha512"
	_ "embed" // the scripts below are embedded
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// widgetJS is the payment widget as served in normal mode: the bytes WidgetSRI hashes.
//
//go:embed assets/widget.js
var widgetJS string

// tamperedLine is what test mode "widget=tampered" appends to the widget: one line that
// beacons the card number, as a compromised provider's script would.
//
//go:embed assets/widget-tampered.js
var tamperedLine string

// skimJS is the demo skimmer's external copy, served as /skim.js in test mode.
//
//go:embed assets/skim.js
var skimJS string

// maxCollectBody bounds how much of a beacon's body the collector reads.
const maxCollectBody = 16 << 10

// WidgetScript returns the bytes of the payment widget as GET /widget.js serves them
// outside test modes.
func WidgetScript() []byte { return []byte(widgetJS) }

// WidgetSRI returns the widget's Subresource Integrity value: "sha384-" and the standard
// base64 of the SHA-384 of WidgetScript, as a page's script inventory lists it.
func WidgetSRI() string {
	sum := sha512.Sum384([]byte(widgetJS))
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// WidgetHandler returns the handler of the widget origin (Options.WidgetOrigin), to be
// served on its own listener so that the widget is a second origin's script: GET /widget.js
// always; with Options.TestModes also GET /skim.js (the skimmer's external copy), GET and
// POST /collect (the attacker's beacon collector) and GET /_demo/collected. It shares the
// App's test modes.
func (a *App) WidgetHandler() http.Handler { return a.widget }

func (a *App) newWidgetMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget.js", a.handleWidget)
	if a.demo != nil {
		mux.HandleFunc("GET /skim.js", a.handleSkim)
		mux.HandleFunc("GET /collect", a.handleCollect)
		mux.HandleFunc("POST /collect", a.handleCollect)
		mux.HandleFunc("GET /_demo/collected", a.handleCollected)
	}
	mux.HandleFunc("/", http.NotFound)
	return mux
}

func (a *App) handleWidget(w http.ResponseWriter, _ *http.Request) {
	js := widgetJS
	if a.modes().Widget == widgetTampered {
		js += tamperedLine
	}
	serveScript(w, js)
}

func (a *App) handleSkim(w http.ResponseWriter, _ *http.Request) {
	serveScript(w, skimJS)
}

// serveScript writes a script for a page on another origin. Access-Control-Allow-Origin is
// needed because tokenwall loads the widget with crossorigin="anonymous" for its SRI check;
// no-cache makes the browser revalidate, so a changed script is seen at once.
func serveScript(w http.ResponseWriter, js string) {
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, js)
}

// handleCollect is the attacker's collector. It counts the beacon and whether its query or
// body held a digit; the values themselves are never kept, logged or echoed.
func (a *App) handleCollect(w http.ResponseWriter, r *http.Request) {
	digits := strings.ContainsAny(r.URL.RawQuery, "0123456789") || hasDigit(io.LimitReader(r.Body, maxCollectBody))
	a.demo.collect(digits)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// hasDigit reports whether r holds an ASCII digit, reading it through a small buffer.
func hasDigit(r io.Reader) bool {
	var buf [512]byte
	for {
		n, err := r.Read(buf[:])
		for _, c := range buf[:n] {
			if c >= '0' && c <= '9' {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// collected is GET /_demo/collected: how many beacons the collector received.
type collected struct {
	// Hits counts every request to /collect.
	Hits int64 `json:"hits"`
	// WithDigits counts those whose query or body held a digit, as a card number does.
	WithDigits int64 `json:"with_digits"`
}

func (a *App) handleCollected(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	// Two integers cannot fail to encode; a write error means the client has gone.
	_ = json.NewEncoder(w).Encode(a.demo.counts())
}
