package webhooks_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/webhooks"
)

func TestReceiveValid(t *testing.T) {
	e := newEnv(t, nil)
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYvalid001", "payment_intent.succeeded", paymentIntent)
	res := e.mustReceive(body)
	want := webhooks.Result{EventID: "evt_1Q0PsIJvEtkwdCNYvalid001", Type: "payment_intent.succeeded", APIVersion: "2023-10-16"}
	if res != want {
		t.Errorf("Result = %+v, want %+v", res, want)
	}
	it := e.item(res.EventID)
	digest := sha256.Sum256(body)
	if it.Status != store.StatusPending || it.Type != res.Type || it.Attempts != 0 ||
		!it.CreatedAt.Equal(t0) || !it.NextAttempt.Equal(t0) || !bytes.Equal(it.Digest, digest[:]) {
		t.Errorf("outbox item = %s %s attempts %d created %s next %s digest %x", it.Status, it.Type, it.Attempts, it.CreatedAt, it.NextAttempt, it.Digest)
	}
	// An event with nothing sensitive passes the scrubber byte for byte.
	if !bytes.Equal(it.Payload, body) {
		t.Errorf("stored payload differs from a clean event:\n got %s\nwant %s", it.Payload, body)
	}
	recs := e.audits(audit.EventWebhookReceived)
	if len(recs) != 1 {
		t.Fatalf("%d webhook_received records, want 1", len(recs))
	}
	r := recs[0]
	d := details(t, r)
	if r.Resource != res.EventID || r.Actor != webhooks.ActorGateway || r.Outcome != audit.Success ||
		r.SourceIP != "203.0.113.7" || r.RequestID != "req-test-0001" ||
		d[webhooks.DetailType] != res.Type || d[webhooks.DetailAPIVersion] != "2023-10-16" || d[webhooks.DetailDuplicate] != "false" {
		t.Errorf("webhook_received = %+v details %v", r, d)
	}
	if n := len(e.audits(audit.EventWebhookRejected)); n != 0 {
		t.Errorf("%d webhook_rejected records for a valid event", n)
	}
}

// TestReceiveRejects: every way an event is refused returns its own error kind, stores
// nothing and writes one webhook_rejected record naming the kind and nothing of the body.
func TestReceiveRejects(t *testing.T) {
	valid := stripeEvent("evt_1Q0PsIJvEtkwdCNYreject01", "charge.succeeded", paymentIntent)
	tampered := bytes.Replace(valid, []byte(`"amount":2000`), []byte(`"amount":9000`), 1)
	big := stripeEvent("evt_1Q0PsIJvEtkwdCNYreject02", "charge.succeeded",
		`{"id":"ch_big","object":"charge","metadata":{"padding":"`+strings.Repeat("x", webhooks.DefaultMaxBody)+`"}}`)
	notJSON := []byte("amount=2000&currency=usd")
	noID := []byte(`{"object":"event","type":"charge.succeeded","data":{"object":{}}}`)
	for _, tc := range []struct {
		name   string
		body   []byte
		header func(now time.Time) string
		want   error
		reason string
	}{
		{name: "tampered body", body: tampered, header: func(now time.Time) string { return stripeHeader(valid, secretNew, now) },
			want: webhooks.ErrBadSignature, reason: webhooks.ReasonBadSignature},
		{name: "wrong secret", body: valid, header: func(now time.Time) string { return stripeHeader(valid, secretBad, now) },
			want: webhooks.ErrBadSignature, reason: webhooks.ReasonBadSignature},
		{name: "too old", body: valid, header: func(now time.Time) string { return stripeHeader(valid, secretNew, now.Add(-301*time.Second)) },
			want: webhooks.ErrTooOld, reason: webhooks.ReasonTooOld},
		{name: "missing header", body: valid, header: func(time.Time) string { return "" },
			want: webhooks.ErrNoSignature, reason: webhooks.ReasonNoSignature},
		{name: "malformed header", body: valid, header: func(time.Time) string { return "this is not a signature" },
			want: webhooks.ErrBadSignatureHeader, reason: webhooks.ReasonBadHeader},
		{name: "timestamp not a number", body: valid, header: func(time.Time) string { return "t=soon,v1=" + strings.Repeat("ab", 32) },
			want: webhooks.ErrBadSignatureHeader, reason: webhooks.ReasonBadHeader},
		{name: "no v1", body: valid, header: func(now time.Time) string {
			return "t=" + strconv.FormatInt(now.Unix(), 10) + ",v0=" + strings.Repeat("ab", 32)
		},
			want: webhooks.ErrBadSignatureHeader, reason: webhooks.ReasonBadHeader},
		{name: "body too large", body: big, header: func(now time.Time) string { return stripeHeader(big, secretNew, now) },
			want: webhooks.ErrTooLarge, reason: webhooks.ReasonTooLarge},
		{name: "not JSON", body: notJSON, header: func(now time.Time) string { return stripeHeader(notJSON, secretNew, now) },
			want: webhooks.ErrNotJSON, reason: webhooks.ReasonNotJSON},
		{name: "JSON without an id", body: noID, header: func(now time.Time) string { return stripeHeader(noID, secretNew, now) },
			want: webhooks.ErrNotJSON, reason: webhooks.ReasonNotJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			h := http.Header{}
			if v := tc.header(e.clock.Now()); v != "" {
				h.Set(webhooks.StripeSignatureHeader, v)
			}
			res, err := e.recv.Receive(context.Background(), h, tc.body, "198.51.100.4", "req-reject-01")
			if !errors.Is(err, tc.want) {
				t.Fatalf("Receive error = %v, want %v", err, tc.want)
			}
			if errors.Is(err, webhooks.ErrUnavailable) {
				t.Errorf("a rejection is reported as unavailable: %v", err)
			}
			if res != (webhooks.Result{}) {
				t.Errorf("Result = %+v, want zero", res)
			}
			if items := e.outbox(); len(items) != 0 {
				t.Errorf("%d outbox items after a rejection", len(items))
			}
			recs := e.audits("")
			if len(recs) != 1 || recs[0].Event != audit.EventWebhookRejected {
				t.Fatalf("audit records = %v, want one webhook_rejected", recs)
			}
			r := recs[0]
			if r.Reason != tc.reason || r.Outcome != audit.Failure || r.Actor != webhooks.ActorAnonymous ||
				r.SourceIP != "198.51.100.4" || r.RequestID != "req-reject-01" || r.Resource != "" || r.Details != "" {
				t.Errorf("webhook_rejected = %+v, want reason %s and no resource or details", r, tc.reason)
			}
		})
	}
}

// TestReceiveSecretRoll: while Vault holds the old and the new endpoint secret, an event
// signed with either is accepted; once the old one is gone, it is refused.
func TestReceiveSecretRoll(t *testing.T) {
	secrets := [][]byte{secretOld, secretNew}
	e := newEnv(t, func(o *webhooks.ReceiverOptions) {
		o.Secrets = func() ([][]byte, error) { return secrets, nil }
	})
	now := e.clock.Now()
	oldBody := stripeEvent("evt_1Q0PsIJvEtkwdCNYrollold1", "invoice.paid", paymentIntent)
	newBody := stripeEvent("evt_1Q0PsIJvEtkwdCNYrollnew1", "invoice.paid", paymentIntent)
	bothBody := stripeEvent("evt_1Q0PsIJvEtkwdCNYrollbth1", "invoice.paid", paymentIntent)
	if _, err := e.receive(oldBody, secretOld, now); err != nil {
		t.Errorf("event signed with the old secret: %v", err)
	}
	if _, err := e.receive(newBody, secretNew, now); err != nil {
		t.Errorf("event signed with the new secret: %v", err)
	}
	// Stripe signs with both secrets during a roll: one v1 per secret, any may match.
	h := http.Header{}
	h.Set(webhooks.StripeSignatureHeader, stripeHeader(bothBody, secretBad, now)+",v1="+
		strings.SplitN(stripeHeader(bothBody, secretNew, now), "v1=", 2)[1])
	if _, err := e.recv.Receive(context.Background(), h, bothBody, "", ""); err != nil {
		t.Errorf("header with a wrong and a right v1: %v", err)
	}
	if _, err := e.receive(stripeEvent("evt_1Q0PsIJvEtkwdCNYrollbad1", "invoice.paid", paymentIntent), secretBad, now); !errors.Is(err, webhooks.ErrBadSignature) {
		t.Errorf("event signed with neither secret: %v, want ErrBadSignature", err)
	}
	secrets = [][]byte{secretNew} // the roll is over
	if _, err := e.receive(stripeEvent("evt_1Q0PsIJvEtkwdCNYrollold2", "invoice.paid", paymentIntent), secretOld, now); !errors.Is(err, webhooks.ErrBadSignature) {
		t.Errorf("old secret after the roll: %v, want ErrBadSignature", err)
	}
	if n := len(e.outbox()); n != 3 {
		t.Errorf("%d outbox items, want 3", n)
	}
}

// TestReceiveTolerance: the signature's age is measured on the Receiver's clock; 300 s is
// the default bound and it is inclusive.
func TestReceiveTolerance(t *testing.T) {
	for _, tc := range []struct {
		name string
		age  time.Duration
		want error
	}{
		{name: "299 s old", age: 299 * time.Second},
		{name: "300 s old", age: 300 * time.Second},
		{name: "301 s old", age: 301 * time.Second, want: webhooks.ErrTooOld},
		{name: "an hour old", age: time.Hour, want: webhooks.ErrTooOld},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			body := stripeEvent("evt_1Q0PsIJvEtkwdCNYtoler001", "charge.succeeded", paymentIntent)
			_, err := e.receive(body, secretNew, e.clock.Now().Add(-tc.age))
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("Receive = %v, want %v", err, tc.want)
			}
			wantRows := 1
			if tc.want != nil {
				wantRows = 0
			}
			if n := len(e.outbox()); n != wantRows {
				t.Errorf("%d outbox rows, want %d", n, wantRows)
			}
		})
	}
}

// TestReceiveScrubsCardData: a card number in a metadata field and a CVC under its key are
// gone from the stored payload, the delivered body, the audit trail, the log and every
// file of the test; the digest is of the body as received.
func TestReceiveScrubsCardData(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, nil)
	a := newApp(e.clock)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), func(o *webhooks.DelivererOptions) { o.Log = zerologTo(&logs) })

	card := testCard()
	object := `{"id":"pm_1Q0PsIJvEtkwdCNYMSaVuRz6","object":"payment_method","type":"card",` +
		`"card":{"brand":"visa","last4":"4242","cvc":"123","exp_month":12,"exp_year":2030},` +
		`"metadata":{"note":"customer typed ` + card + ` into the notes","order":"1042"},"cvc":"314"}`
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYcarddat1", "payment_method.attached", object)
	res := e.mustReceive(body)

	stored := e.item(res.EventID)
	checkClean(t, "stored payload", stored.Payload, card)
	digest := sha256.Sum256(body)
	if !bytes.Equal(stored.Digest, digest[:]) {
		t.Errorf("digest %x, want SHA-256 of the raw body %x", stored.Digest, digest)
	}
	var doc struct {
		ID   string `json:"id"`
		Data struct {
			Object struct {
				CVC  string `json:"cvc"`
				Card struct {
					CVC   string `json:"cvc"`
					Last4 string `json:"last4"`
				} `json:"card"`
				Metadata map[string]string `json:"metadata"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(stored.Payload, &doc); err != nil {
		t.Fatalf("stored payload is not JSON: %v", err)
	}
	obj := doc.Data.Object
	if doc.ID != res.EventID || obj.Card.Last4 != "4242" || obj.Metadata["order"] != "1042" {
		t.Errorf("scrubbing lost plain fields: id %q last4 %q order %q", doc.ID, obj.Card.Last4, obj.Metadata["order"])
	}
	if obj.CVC == "314" || obj.Card.CVC == "123" || !strings.HasPrefix(obj.CVC, "[redacted") {
		t.Errorf("CVC kept: %q / %q", obj.CVC, obj.Card.CVC)
	}

	e.deliverOnce(d, 1)
	got := a.deliveries()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	checkClean(t, "delivered body", got[0].body, card)
	if !bytes.Equal(got[0].body, stored.Payload) {
		t.Error("delivered body differs from the stored payload")
	}
	for _, r := range e.audits("") {
		checkClean(t, "audit record "+r.Event, []byte(r.Resource+r.Details+r.Reason+r.RequestID), card)
	}
	checkClean(t, "deliverer log", logs.Bytes(), card)
	found, err := testkit.ScanForCards(testkit.ArtifactsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("card number in an artifact: %s", f) // Finding prints brand and last four only
	}
}

// checkClean fails when b holds a card number (by the scrubber's detector or as the raw
// test card); it never prints b.
func checkClean(t *testing.T, what string, b []byte, card string) {
	t.Helper()
	if scrub.ContainsPAN(b) || bytes.Contains(b, []byte(card)) {
		t.Errorf("%s holds a card number", what)
	}
}

func TestReceiveDuplicate(t *testing.T) {
	e := newEnv(t, nil)
	a := newApp(e.clock)
	srv := startApp(t, a)
	d := e.deliverer(srv.URL, srv.Client(), nil)
	hook := startHook(t, e.recv)
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYdupli001", "charge.refunded", paymentIntent)

	for i := range 2 {
		status, answer := post(t, hook, body, stripeHeader(body, secretNew, e.clock.Now()))
		if status != http.StatusOK || answer != `{"received":true}` {
			t.Fatalf("post %d: %d %q, want 200 {\"received\":true}", i+1, status, answer)
		}
	}
	if items := e.outbox(); len(items) != 1 {
		t.Fatalf("%d outbox rows, want 1", len(items))
	}
	res, err := e.receive(body, secretNew, e.clock.Now())
	if err != nil || !res.Duplicate {
		t.Fatalf("third Receive = %+v, %v; want a duplicate", res, err)
	}
	e.deliverOnce(d, 1)
	e.deliverOnce(d, 0)
	// Stripe retries after delivery too: still a duplicate, not delivered again.
	if res, err := e.receive(body, secretNew, e.clock.Now()); err != nil || !res.Duplicate {
		t.Fatalf("Receive after delivery = %+v, %v; want a duplicate", res, err)
	}
	e.deliverOnce(d, 0)
	if n := len(a.deliveries()); n != 1 {
		t.Errorf("app got %d deliveries, want 1", n)
	}
	var dups []string
	for _, r := range e.audits(audit.EventWebhookReceived) {
		dups = append(dups, details(t, r)[webhooks.DetailDuplicate])
	}
	if strings.Join(dups, ",") != "false,true,true,true" {
		t.Errorf("webhook_received duplicate flags = %v, want false then true", dups)
	}
}

// TestReceiveUnavailable: when the secrets, the store or the audit trail fail, Receive says
// ErrUnavailable (the gateway retries) and nothing is reported as received.
func TestReceiveUnavailable(t *testing.T) {
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYunavai01", "charge.succeeded", paymentIntent)
	for _, tc := range []struct {
		name string
		edit func(*webhooks.ReceiverOptions)
	}{
		{name: "secrets", edit: func(o *webhooks.ReceiverOptions) {
			o.Secrets = func() ([][]byte, error) { return nil, errors.New("vault sealed") }
		}},
		{name: "no secret", edit: func(o *webhooks.ReceiverOptions) { o.Secrets = func() ([][]byte, error) { return nil, nil } }},
		{name: "store", edit: func(o *webhooks.ReceiverOptions) { o.Store = failingOutbox{o.Store} }},
		{name: "audit", edit: func(o *webhooks.ReceiverOptions) { o.Audit = failingAudit{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.edit)
			if _, err := e.receive(body, secretNew, e.clock.Now()); !errors.Is(err, webhooks.ErrUnavailable) {
				t.Errorf("Receive = %v, want ErrUnavailable", err)
			}
			if n := len(e.audits(audit.EventWebhookReceived)); n != 0 {
				t.Errorf("%d webhook_received records", n)
			}
		})
	}
}

func TestNewReceiverValidates(t *testing.T) {
	e := newEnv(t, nil)
	secrets := func() ([][]byte, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		o    webhooks.ReceiverOptions
	}{
		{name: "no secrets", o: webhooks.ReceiverOptions{Store: e.st, Audit: e.trail, Judge: proxy.WebhookVerdict}},
		{name: "no store", o: webhooks.ReceiverOptions{Secrets: secrets, Audit: e.trail, Judge: proxy.WebhookVerdict}},
		{name: "no audit", o: webhooks.ReceiverOptions{Secrets: secrets, Store: e.st, Judge: proxy.WebhookVerdict}},
		{name: "no judge", o: webhooks.ReceiverOptions{Secrets: secrets, Store: e.st, Audit: e.trail}},
		{name: "negative tolerance", o: webhooks.ReceiverOptions{Secrets: secrets, Store: e.st, Audit: e.trail, Judge: proxy.WebhookVerdict, Tolerance: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, err := webhooks.NewReceiver(tc.o); err == nil || r != nil {
				t.Errorf("NewReceiver = %v, %v; want an error", r, err)
			}
		})
	}
}
