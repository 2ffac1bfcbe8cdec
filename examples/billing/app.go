package billing

import (
	"bytes"
	"errors"
	"github.com/tokenwall/tokenwall/signature"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxBody is the body limit used when Options.MaxBody is zero or negative.
const DefaultMaxBody int64 = 64 << 10

// notThroughTokenwall is the whole answer to a post whose signature does not verify.
const notThroughTokenwall = "request did not come through tokenwall"

// Options configures an App.
type Options struct {
	// SigningKeys returns the keys tokenwall signs with; it is called on every signed request
	// so that a key roll takes effect without a restart. During a roll it returns the old and
	// the new key. Nil, or no keys, refuses every signed request.
	SigningKeys func() [][]byte
	// MaxBody is the largest request body accepted, in bytes; DefaultMaxBody when not set.
	MaxBody int64
	// RefuseV1 refuses requests signed with v1 only (the transition to v2 is over). By
	// default they are still taken; v2 signatures are always checked for their purpose,
	// method, path and query, and their nonce is taken once.
	RefuseV1 bool
	// WidgetOrigin is the origin that serves the payment widget (WidgetHandler), such as
	// "http://127.0.0.1:8081": the checkout page loads <WidgetOrigin>/widget.js, a second
	// origin's script as a payment provider's would be. Empty, the page loads no script.
	WidgetOrigin string
	// TestModes turns on the demo's attack switches (POST /_demo/mode: a skimmer on the
	// checkout page, a tampered widget, a dropped security header) and the widget origin's
	// beacon collector, for the end-to-end tests of tokenwall's payment-page guard. Never in
	// production: without it those routes answer 404.
	TestModes bool
	// API, when set, turns on the payment flows (/invoice, /subscribe) that charge and save
	// cards through tokenwall's /v1 API.
	API *APIClient
	// PublicURL is tokenwall's public address, the origin of the flows' return URLs.
	PublicURL string
}

// App is the billing application's HTTP handler.
type App struct {
	mux      *http.ServeMux
	keys     func() [][]byte
	verifier *signature.Verifier
	maxBody  int64
	page     *template.Template
	pageErr  error
	received *receivedLog
	webhooks webhookLog
	// widgetOrigin is Options.WidgetOrigin without a trailing slash.
	widgetOrigin string
	// demo holds the test modes and the collector's counts; nil without Options.TestModes.
	demo *demoState
	// widget serves the widget origin (WidgetHandler).
	widget *http.ServeMux
	// api and publicURL: Options.API and Options.PublicURL; flow renders the flows' pages.
	api       *APIClient
	publicURL string
	flow      *template.Template
	flowErr   error
}

// New returns an App configured by o, with its routes registered.
func New(o Options) *App {
	a := &App{
		mux:      http.NewServeMux(),
		keys:     o.SigningKeys,
		maxBody:  o.MaxBody,
		received: newReceivedLog(MaxReceived),
		// The origin is joined with a path in the page, so a trailing slash would double.
		widgetOrigin: strings.TrimRight(o.WidgetOrigin, "/"),
	}
	if o.TestModes {
		a.demo = newDemoState()
	}
	a.verifier = &signature.Verifier{Keys: a.signingKeys, AllowV1: !o.RefuseV1}
	if a.maxBody <= 0 {
		a.maxBody = DefaultMaxBody
	}
	// The template is embedded, so parsing fails only if the binary was built from a broken
	// tree; the pages then answer 500 rather than the constructor panicking.
	a.page, a.pageErr = parsePage()
	a.flow, a.flowErr = parseFlow()
	a.api, a.publicURL = o.API, strings.TrimRight(o.PublicURL, "/")

	a.mux.HandleFunc("GET /{$}", a.handleRoot)
	a.mux.HandleFunc("GET /checkout", a.handleCheckout)
	a.mux.HandleFunc("GET /checkout.css", a.handleCSS)
	a.mux.HandleFunc("POST /checkout/submit", a.handleSubmit)
	a.registerFlows()
	a.mux.HandleFunc("POST /webhooks/tokenwall", a.handleWebhook)
	a.mux.HandleFunc("GET /received", a.handleReceived)
	a.mux.HandleFunc("GET /healthz", a.handleHealthz)
	// Without test modes the demo routes are unknown; the pattern also keeps an unsigned
	// post to them from reaching handleOtherPost (a 401 and a /received entry).
	a.mux.HandleFunc("POST /_demo/", http.NotFound)
	if a.demo != nil {
		a.mux.HandleFunc("GET /_demo/mode", a.handleGetMode)
		a.mux.HandleFunc("POST /_demo/mode", a.handleSetMode)
		a.mux.HandleFunc("GET /_demo/collected", a.handleCollected)
	}
	// Any other post is still recorded: if a misrouted body carried card data, /received
	// must show it.
	a.mux.HandleFunc("POST /", a.handleOtherPost)
	a.mux.HandleFunc("/", http.NotFound)
	a.widget = a.newWidgetMux()
	return a
}

// ServeHTTP dispatches r to the App's routes.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mux.ServeHTTP(w, r)
}

// Received returns a copy of the recorded request bodies, oldest first.
func (a *App) Received() []Received {
	return a.received.list()
}

func (a *App) handleRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/checkout", http.StatusSeeOther)
}

func (a *App) handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok")
}

func (a *App) handleOtherPost(w http.ResponseWriter, r *http.Request) {
	if _, ok := a.readSigned(w, r, signature.PurposeCheckout); !ok {
		return
	}
	http.NotFound(w, r)
}

// readSigned reads r's body, verifies tokenwall's signature on it and records it whatever
// the outcome. When the body cannot be used it writes the error response and returns false.
func (a *App) readSigned(w http.ResponseWriter, r *http.Request, purpose string) ([]byte, bool) {
	// The body is read here first, and handed back to VerifyRequest, so that a refused body
	// is recorded too: VerifyRequest returns nothing when the signature does not match.
	raw, readErr := io.ReadAll(io.LimitReader(r.Body, a.maxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(raw))

	body, err := a.verifier.VerifyRequest(r, purpose, a.maxBody)
	if readErr != nil {
		err = readErr
	}

	kept := raw
	if int64(len(kept)) > a.maxBody {
		kept = kept[:a.maxBody]
	}
	a.received.add(Received{
		Path:           r.URL.Path,
		ContentType:    r.Header.Get("Content-Type"),
		Body:           string(kept),
		SignatureValid: err == nil,
		ReceivedAt:     time.Now().UTC(),
	})

	switch {
	case err == nil:
		return body, true
	case readErr != nil:
		http.Error(w, "could not read request body", http.StatusBadRequest)
	case errors.Is(err, signature.ErrBodyTooLarge):
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
	default:
		http.Error(w, notThroughTokenwall, http.StatusUnauthorized)
	}
	return nil, false
}

// signingKeys is the keys tokenwall signs with (none when no source is set).
func (a *App) signingKeys() [][]byte {
	if a.keys == nil {
		return nil
	}
	return a.keys()
}
