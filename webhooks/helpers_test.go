package webhooks_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
	"github.com/tokenwall/tokenwall/webhooks"
)

// Secrets and keys of the tests. The endpoint secrets look like Stripe's.
var (
	secretOld  = []byte("whsec_test_old_0123456789abcdefABCDEF")
	secretNew  = []byte("whsec_test_new_fedcba9876543210FEDCBA")
	secretBad  = []byte("whsec_test_attacker_000000000000000000")
	signingKey = []byte("tokenwall-delivery-key-0123456789abcdef")
	auditKey   = []byte("0123456789abcdef0123456789abcdef")
	// t0 is the fake clock's start: a whole second, so Stripe's second-resolution header
	// timestamps land exactly where a test puts them.
	t0 = time.Unix(1_795_000_000, 0)
)

// testCard is Stripe's Visa test card, assembled so the literal appears nowhere a log or a
// grep of the artifacts could pick it up by accident.
func testCard() string { return strings.Repeat("4242", 4) }

// localSigner stands in for Vault transit: the trail needs a checkpoint signer.
type localSigner struct{ key ed25519.PrivateKey }

func newLocalSigner(t testing.TB) localSigner {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return localSigner{key: k}
}

func (s localSigner) KeyName() string { return "local-ed25519" }

func (s localSigner) Sign(_ context.Context, data []byte) (string, error) {
	return "local:" + base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, data)), nil
}

func (s localSigner) Verify(_ context.Context, data []byte, sig string) (bool, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "local:"))
	if err != nil {
		return false, fmt.Errorf("decode signature: %w", err)
	}
	return ed25519.Verify(s.key.Public().(ed25519.PublicKey), data, raw), nil
}

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one test's world: a SQLite store in the test's artifacts folder, a real audit
// trail on it, a fake clock and a Receiver.
type env struct {
	t     testing.TB
	st    *sqlite.Store
	trail *audit.Trail
	clock *clock
	recv  *webhooks.Receiver
}

// newEnv opens a fresh store and trail; edit changes the receiver's options before use.
func newEnv(t testing.TB, edit func(*webhooks.ReceiverOptions)) *env {
	t.Helper()
	ctx := context.Background()
	p := filepath.Join(testkit.ArtifactsDir(t), "tokenwall.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(p + sfx)
	}
	st, err := sqlite.Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, auditKey, 1), nil }, Signer: newLocalSigner(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close(context.Background()) }) // cleanups run last-first: trail, then store
	e := &env{t: t, st: st, trail: tr, clock: &clock{t: t0}}
	o := webhooks.ReceiverOptions{
		Secrets: func() ([][]byte, error) { return [][]byte{secretNew}, nil },
		Store:   st,
		Audit:   tr,
		Now:     e.clock.Now,
		Judge:   proxy.WebhookVerdict,
	}
	if edit != nil {
		edit(&o)
	}
	if e.recv, err = webhooks.NewReceiver(o); err != nil {
		t.Fatal(err)
	}
	return e
}

// deliverer builds a Deliverer on the env's store, trail and clock, posting to url.
func (e *env) deliverer(url string, client *http.Client, edit func(*webhooks.DelivererOptions)) *webhooks.Deliverer {
	e.t.Helper()
	o := webhooks.DelivererOptions{
		URL: url, Client: client,
		SigningKey: func() ([]byte, error) { return signingKey, nil },
		// The transition, as tokenwall's default: the test apps verify v1.
		SignV1: true,
		Store:  e.st, Audit: e.trail, Owner: "replica-1",
		Now: e.clock.Now, Rand: pcg(),
	}
	if edit != nil {
		edit(&o)
	}
	d, err := webhooks.NewDeliverer(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// receive signs body with secret at ts and hands it to Receive.
func (e *env) receive(body []byte, secret []byte, ts time.Time) (webhooks.Result, error) {
	h := http.Header{}
	h.Set(webhooks.StripeSignatureHeader, stripeHeader(body, secret, ts))
	return e.recv.Receive(context.Background(), h, body, "203.0.113.7", "req-test-0001")
}

// mustReceive receives body signed now with secretNew and fails the test on error.
func (e *env) mustReceive(body []byte) webhooks.Result {
	e.t.Helper()
	res, err := e.receive(body, secretNew, e.clock.Now())
	if err != nil {
		e.t.Fatalf("Receive: %v", err)
	}
	return res
}

// deliverOnce runs one round and checks how many items it claimed.
func (e *env) deliverOnce(d *webhooks.Deliverer, want int) {
	e.t.Helper()
	n, err := d.DeliverOnce(context.Background())
	if err != nil {
		e.t.Fatalf("DeliverOnce: %v", err)
	}
	if n != want {
		e.t.Fatalf("DeliverOnce claimed %d items, want %d", n, want)
	}
}

func (e *env) item(id string) store.OutboxItem {
	e.t.Helper()
	it, err := e.st.GetOutbox(context.Background(), id)
	if err != nil {
		e.t.Fatalf("GetOutbox %s: %v", id, err)
	}
	return it
}

func (e *env) outbox() []store.OutboxItem {
	e.t.Helper()
	items, err := e.st.ListOutbox(context.Background(), "", 100)
	if err != nil {
		e.t.Fatal(err)
	}
	return items
}

// audits returns the trail's records of event type typ ("" for all), oldest first.
func (e *env) audits(typ string) []store.AuditRecord {
	e.t.Helper()
	var out []store.AuditRecord
	err := e.st.AuditRange(context.Background(), 0, 0, func(r store.AuditRecord) error {
		if typ == "" || r.Event == typ {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// details decodes an audit record's details.
func details(t testing.TB, r store.AuditRecord) map[string]string {
	t.Helper()
	m := map[string]string{}
	if r.Details == "" {
		return m
	}
	if err := json.Unmarshal([]byte(r.Details), &m); err != nil {
		t.Fatalf("details of %s: %v", r.Event, err)
	}
	return m
}

// stripeHeader signs body the way Stripe does, with stripe-go's test helper.
func stripeHeader(body, secret []byte, ts time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: string(secret), Timestamp: ts}).Header
}

// stripeEvent is a gateway event as Stripe renders it (API version 2023-10-16); object is
// the JSON of data.object.
func stripeEvent(id, typ, object string) []byte {
	return []byte(`{"id":"` + id + `","object":"event","api_version":"2023-10-16","created":1795000000,` +
		`"livemode":false,"pending_webhooks":1,"request":{"id":"req_T3stReq0001","idempotency_key":null},` +
		`"type":"` + typ + `","data":{"object":` + object + `}}`)
}

// paymentIntent is a data.object without sensitive data.
const paymentIntent = `{"id":"pi_3Q0PsIJvEtkwdCNY1abcdEFG","object":"payment_intent","amount":2000,"currency":"usd",` +
	`"payment_method":"pm_1Q0PsIJvEtkwdCNYMSaVuRz6","status":"succeeded","metadata":{"order":"1042"}}`

// delivery is one request the app received.
type delivery struct {
	id, typ string
	body    []byte
	sig     string // the Tokenwall-Signature header
	sigErr  error  // webhooks.Verify's verdict on it
	path    string // the path the app received the delivery on
	status  int    // what the app answered
}

// app is the billing app's webhook endpoint: it verifies tokenwall's signature, answers
// from a script of statuses (200 once it runs out) and deduplicates by Tokenwall-Event-Id
// the way a real app must.
type app struct {
	clock *clock
	key   []byte

	mu         sync.Mutex
	script     []int
	got        []delivery
	processed  map[string]int // event id → times acted on
	duplicates map[string]int // event id → deliveries recognised as repeats
	// processBeforeFail makes the app act on an event before answering a scripted failure
	// (a lost acknowledgement), so the retry must be deduplicated.
	processBeforeFail bool
}

func newApp(c *clock, script ...int) *app {
	return &app{clock: c, key: signingKey, script: script, processed: map[string]int{}, duplicates: map[string]int{}}
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	d := delivery{id: r.Header.Get(webhooks.EventIDHeader), typ: r.Header.Get(webhooks.EventTypeHeader), body: body,
		sig: r.Header.Get(webhooks.SignatureHeader), path: r.URL.EscapedPath(),
		sigErr: webhooks.Verify(r.Header.Get(webhooks.SignatureHeader), body, [][]byte{a.key}, webhooks.DefaultTolerance, a.clock.Now())}
	a.mu.Lock()
	d.status = http.StatusOK
	if len(a.script) > 0 {
		d.status, a.script = a.script[0], a.script[1:]
	}
	switch {
	case d.sigErr != nil:
		d.status = http.StatusUnauthorized
	case r.Header.Get("Content-Type") != "application/json":
		d.status = http.StatusUnsupportedMediaType
	case d.status == http.StatusOK || a.processBeforeFail:
		// The app's dedup: an event id it has acted on is acknowledged, not acted on again.
		if a.processed[d.id] > 0 {
			a.duplicates[d.id]++
		} else {
			a.processed[d.id]++
		}
	}
	a.got = append(a.got, d)
	a.mu.Unlock()
	w.WriteHeader(d.status)
}

func (a *app) deliveries() []delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]delivery(nil), a.got...)
}

// counts returns how often the app acted on id and how often it recognised a repeat.
func (a *app) counts(id string) (processed, duplicates int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.processed[id], a.duplicates[id]
}

// startApp serves a on a TLS test server.
func startApp(t testing.TB, a *app) *httptest.Server {
	srv := httptest.NewTLSServer(a)
	t.Cleanup(srv.Close)
	return srv
}

// pcg is a seeded jitter source, so backoff draws repeat from run to run.
func pcg() mrand.Source { return mrand.NewPCG(1, 2) }

// failingOutbox is an outbox whose writes fail, for the 503 path.
type failingOutbox struct{ store.Outbox }

func (failingOutbox) EnqueueOutbox(context.Context, store.OutboxItem) (bool, error) {
	return false, errors.New("disk I/O error")
}

// failingAudit is an audit trail that cannot write.
type failingAudit struct{}

func (failingAudit) Record(context.Context, audit.Event) error { return errors.New("audit store down") }

// syncBuffer is a log sink safe for the deliverer's parallel deliveries.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}
