package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/scrub"
)

// The scenario server's timeouts and bounds.
const (
	scnReadHeaderTimeout = 5 * time.Second
	scnReadTimeout       = 30 * time.Second
	scnWriteTimeout      = 60 * time.Second
	scnIdleTimeout       = 60 * time.Second
	// scnFetchTimeout bounds the extra read from stripe-mock that expands an object.
	scnFetchTimeout = 10 * time.Second
	// scnMaxBody bounds a request body, as Stripe bounds its own.
	scnMaxBody = 1 << 20
	// scnMaxAnswer bounds a stripe-mock answer the scenario rewrites.
	scnMaxAnswer = 8 << 20
	// DefaultScenarioObjects is how many PaymentMethods, PaymentIntents and SetupIntents a
	// Scenario keeps of each kind when ScenarioOptions.MaxObjects is 0; the oldest go first.
	DefaultScenarioObjects = 100_000
)

// ScenarioOptions configures a Scenario. The zero value sends no webhooks and logs nothing.
type ScenarioOptions struct {
	// WebhookURL receives a signed Stripe event for every state change; "" sends none.
	WebhookURL string
	// WebhookSecret returns the endpoint's signing secret (whsec_…) when an event is sent.
	WebhookSecret func() string
	// WebhookClient sends the events; nil means a client with a 10 s timeout.
	WebhookClient *http.Client
	// Log receives one line per request the scenario serves (method, path, status, and the
	// object and transition it handled), scrubbed of card numbers. Nil discards it.
	Log io.Writer
	// MaxObjects bounds each kind of object kept; 0 means DefaultScenarioObjects.
	MaxObjects int
}

// Scenario is a small Stripe in front of stripe-mock: it forwards every request to
// stripe-mock, so that stripe-mock still validates its shape, then answers PaymentMethod,
// PaymentIntent and SetupIntent calls from its own state, following Stripe's documented state
// machines and test cards, with a 3-D Secure challenge page and signed webhooks. Every other
// call gets stripe-mock's answer unchanged, as do calls naming an id the scenario did not
// create.
type Scenario struct {
	url     string
	mockURL *url.URL
	srv     *http.Server
	proxy   *httputil.ReverseProxy
	fetch   *http.Client
	log     io.Writer
	done    chan error
	hooks   *webhooks
	idem    *idempotency

	mu      sync.Mutex
	methods *fifo[*payMethod]
	intents *fifo[*payIntent]
	setups  *fifo[*setupIntent]

	closeOnce sync.Once
	closeErr  error
}

// NewScenario starts a Scenario on 127.0.0.1 in front of the stripe-mock at mockURL.
func NewScenario(mockURL string, o ScenarioOptions) (*Scenario, error) {
	u, err := url.Parse(mockURL)
	if err != nil {
		return nil, fmt.Errorf("devstack: scenario target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("devstack: scenario target %q: want an http or https base URL", mockURL)
	}
	if o.MaxObjects < 0 {
		return nil, fmt.Errorf("devstack: ScenarioOptions.MaxObjects %d is negative", o.MaxObjects)
	}
	bound := o.MaxObjects
	if bound == 0 {
		bound = DefaultScenarioObjects
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstack: scenario listen: %w", err)
	}
	logw := io.Discard
	if o.Log != nil {
		// The backstop: no line the scenario writes can carry a card number.
		logw = scrub.NewWriter(o.Log)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	s := &Scenario{
		url:     "http://" + ln.Addr().String(),
		mockURL: u,
		fetch:   &http.Client{Transport: tr, Timeout: scnFetchTimeout},
		log:     logw,
		done:    make(chan error, 1),
		idem:    newIdempotency(bound),
		methods: newFIFO[*payMethod](bound),
		intents: newFIFO[*payIntent](bound),
		setups:  newFIFO[*setupIntent](bound),
	}
	s.hooks = newWebhooks(o.WebhookURL, o.WebhookSecret, o.WebhookClient)
	s.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			// Answers are rewritten as plain JSON: no compressed bodies.
			pr.Out.Header.Del("Accept-Encoding")
		},
		Transport:      tr,
		ModifyResponse: s.modifyResponse,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			writeJSON(w, http.StatusBadGateway, `{"error":{"type":"api_error","message":"scenario: stripe-mock unreachable or its answer unreadable"}}`)
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: scnReadHeaderTimeout,
		ReadTimeout:       scnReadTimeout,
		WriteTimeout:      scnWriteTimeout,
		IdleTimeout:       scnIdleTimeout,
		ErrorLog:          log.New(logw, "scenario: http: ", 0),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL returns the scenario's base URL, http://127.0.0.1:PORT, to configure as Stripe's API URL.
func (s *Scenario) URL() string { return s.url }

// SetWebhooks turns webhook sending on (url not "") or off for the events that follow.
func (s *Scenario) SetWebhooks(url string, secret func() string, client *http.Client) {
	s.hooks.set(url, secret, client)
}

// Close stops the server, closes its connections and drops the webhooks not yet sent.
func (s *Scenario) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.srv.Close()
		if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = errors.Join(s.closeErr, fmt.Errorf("devstack: scenario: %w", err))
		}
		s.hooks.close()
		s.fetch.CloseIdleConnections()
	})
	return s.closeErr
}

// callKey carries a *call from ServeHTTP to modifyResponse through the request's context.
type callKey struct{}

// call is what the scenario needs to rewrite the answer to one request. It never holds a
// card number: the PaymentMethod form is classified before the call is made.
type call struct {
	route  route
	form   url.Values
	expand map[string]bool
	auth   string
	idem   string
	card   cardFacts
	body   []byte // for the idempotency fingerprint; nil on PaymentMethod creation
	note   string // what the scenario did, for the log line
}

// ServeHTTP serves the challenge page itself and forwards everything else to stripe-mock.
func (s *Scenario) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	var c *call
	defer func() { s.logRequest(r, rec.status, c) }()
	if strings.HasPrefix(r.URL.Path, pagePrefix) {
		s.servePage(rec, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(rec, r.Body, scnMaxBody))
	if err != nil {
		writeJSON(rec, http.StatusRequestEntityTooLarge, `{"error":{"type":"invalid_request_error","message":"scenario: request body over 1 MiB or unreadable"}}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if rt, ok := matchRoute(r.Method, r.URL.Path); ok {
		c, err = newCall(r, rt, body)
		if err != nil {
			writeJSON(rec, http.StatusBadRequest, `{"error":{"type":"invalid_request_error","message":"scenario: unreadable form body"}}`)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callKey{}, c))
	}
	s.proxy.ServeHTTP(rec, r)
}

// newCall parses the parameters of a request the scenario answers. A card number in a
// PaymentMethod form is classified and dropped here.
func newCall(r *http.Request, rt route, body []byte) (*call, error) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("devstack: scenario: form: %w", err)
		}
		form = f
	}
	c := &call{route: rt, form: form, auth: r.Header.Get("Authorization"), idem: r.Header.Get("Idempotency-Key"), body: body}
	if rt.kind == kindPayMethod && rt.id == "" {
		c.card = classifyNumber(form.Get("card[number]"))
		for k := range form {
			if strings.HasPrefix(k, "card[") {
				form.Del(k)
			}
		}
		c.body = nil
	}
	c.expand = map[string]bool{}
	for k, vs := range form {
		if k == "expand[]" || (strings.HasPrefix(k, "expand[") && strings.HasSuffix(k, "]")) {
			for _, v := range vs {
				c.expand[v] = true
			}
		}
	}
	return c, nil
}

// modifyResponse rewrites stripe-mock's 200 answers to the calls the scenario answers; its
// 4xx and 5xx answers, and every other call, pass unchanged.
func (s *Scenario) modifyResponse(resp *http.Response) error {
	c, _ := resp.Request.Context().Value(callKey{}).(*call)
	if c == nil || resp.StatusCode != http.StatusOK {
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, scnMaxAnswer+1))
	_ = resp.Body.Close()
	if err != nil || len(raw) > scnMaxAnswer {
		return fmt.Errorf("devstack: scenario: read stripe-mock answer: %w", err)
	}
	status, out := http.StatusOK, raw
	if rs, ok := s.replay(c); ok {
		status, out = rs.status, rs.body
		resp.Header.Set("Idempotent-Replayed", "true")
		c.note = "replayed"
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var mock map[string]any
		if err := dec.Decode(&mock); err != nil {
			return fmt.Errorf("devstack: scenario: decode stripe-mock answer: %w", err)
		}
		if a, handled := s.answer(resp.Request.Context(), c, mock); handled {
			status, out = a.status, a.body
			s.remember(c, a)
		}
	}
	resp.StatusCode = status
	resp.Status = strconv.Itoa(status) + " " + http.StatusText(status)
	resp.Body = io.NopCloser(bytes.NewReader(out))
	resp.ContentLength = int64(len(out))
	resp.Header.Set("Content-Length", strconv.Itoa(len(out)))
	resp.Header.Set("Content-Type", "application/json")
	return nil
}

// answer is the scenario's own answer to a call.
type answer struct {
	status int
	body   []byte
}

// answer dispatches a call to the handler of its object; handled is false when the call
// names an object the scenario does not know, whose answer stays stripe-mock's.
func (s *Scenario) answer(ctx context.Context, c *call, mock map[string]any) (answer, bool) {
	switch c.route.kind {
	case kindPayMethod:
		return s.answerPayMethod(ctx, c, mock)
	case kindPayIntent:
		return s.answerPayIntent(ctx, c, mock)
	case kindSetupIntent:
		return s.answerSetupIntent(ctx, c, mock)
	}
	return answer{}, false
}

// logRequest writes the request's summary line: method, path (ids only, never a query),
// status, and what the scenario did.
func (s *Scenario) logRequest(r *http.Request, status int, c *call) {
	note := "passed through"
	if c != nil && c.note != "" {
		note = c.note
	} else if strings.HasPrefix(r.URL.Path, pagePrefix) {
		note = "challenge page"
	}
	_, _ = fmt.Fprintf(s.log, "scenario: %s %s %d %s\n", r.Method, r.URL.Path, status, note)
}

// statusRecorder remembers the status written, for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// objectKind says which of the scenario's objects a route is about.
type objectKind int

const (
	kindPayMethod objectKind = iota + 1
	kindPayIntent
	kindSetupIntent
)

// route is a parsed API path: the object kind, its id ("" on creation) and the action after
// the id ("" for a read or an update).
type route struct {
	kind   objectKind
	method string
	id     string
	action string
}

// matchRoute recognises the calls the scenario answers.
func matchRoute(method, path string) (route, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok || (method != http.MethodGet && method != http.MethodPost) {
		return route{}, false
	}
	parts := strings.Split(rest, "/")
	var rt route
	switch parts[0] {
	case "payment_methods":
		rt.kind = kindPayMethod
	case "payment_intents":
		rt.kind = kindPayIntent
	case "setup_intents":
		rt.kind = kindSetupIntent
	default:
		return route{}, false
	}
	rt.method = method
	switch len(parts) {
	case 1:
		return rt, method == http.MethodPost
	case 2:
		rt.id = parts[1]
		return rt, rt.id != ""
	case 3:
		rt.id, rt.action = parts[1], parts[2]
		if rt.id == "" || method != http.MethodPost {
			return route{}, false
		}
		switch {
		case rt.kind == kindPayMethod:
			return rt, rt.action == "attach" || rt.action == "detach"
		case rt.kind == kindPayIntent:
			return rt, rt.action == "confirm" || rt.action == "cancel" || rt.action == "capture"
		default:
			return rt, rt.action == "confirm" || rt.action == "cancel"
		}
	}
	return route{}, false
}
