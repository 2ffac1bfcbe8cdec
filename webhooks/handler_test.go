package webhooks_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/webhooks"
)

// startHook serves r's Handler on a TLS test server.
func startHook(t testing.TB, r *webhooks.Receiver) *httptest.Server {
	srv := httptest.NewTLSServer(r.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// post sends body with a Stripe-Signature header (none when "") and returns the status and
// the answer.
func post(t testing.TB, srv *httptest.Server, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(webhooks.StripeSignatureHeader, sig)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func zerologTo(w io.Writer) zerolog.Logger { return zerolog.New(w) }

// TestHandlerStatuses: each outcome maps to one status and a fixed message that carries no
// error text; every rejection is in the audit trail.
func TestHandlerStatuses(t *testing.T) {
	valid := stripeEvent("evt_1Q0PsIJvEtkwdCNYhandle01", "charge.succeeded", paymentIntent)
	big := bytes.Repeat([]byte("x"), webhooks.DefaultMaxBody+1)
	signed := func(b []byte, secret []byte, age time.Duration) func(time.Time) string {
		return func(now time.Time) string { return stripeHeader(b, secret, now.Add(-age)) }
	}
	for _, tc := range []struct {
		name     string
		edit     func(*webhooks.ReceiverOptions)
		method   string
		body     []byte
		sig      func(time.Time) string
		status   int
		answer   string
		rejected string // the webhook_rejected reason expected, if any
	}{
		{name: "valid", body: valid, sig: signed(valid, secretNew, 0), status: http.StatusOK, answer: `{"received":true}`},
		{name: "missing header", body: valid, sig: func(time.Time) string { return "" },
			status: http.StatusBadRequest, answer: "signature header missing\n", rejected: webhooks.ReasonNoSignature},
		{name: "malformed header", body: valid, sig: func(time.Time) string { return "t=1,v1" },
			status: http.StatusBadRequest, answer: "signature header malformed\n", rejected: webhooks.ReasonBadHeader},
		{name: "wrong secret", body: valid, sig: signed(valid, secretBad, 0),
			status: http.StatusBadRequest, answer: "no signature matches\n", rejected: webhooks.ReasonBadSignature},
		{name: "too old", body: valid, sig: signed(valid, secretNew, 301*time.Second),
			status: http.StatusBadRequest, answer: "signature timestamp outside tolerance\n", rejected: webhooks.ReasonTooOld},
		{name: "too large", body: big, sig: signed(big, secretNew, 0),
			status: http.StatusRequestEntityTooLarge, answer: "body too large\n", rejected: webhooks.ReasonTooLarge},
		{name: "not JSON", body: []byte("<xml/>"), sig: signed([]byte("<xml/>"), secretNew, 0),
			status: http.StatusBadRequest, answer: "body is not a JSON event\n", rejected: webhooks.ReasonNotJSON},
		{name: "GET", method: http.MethodGet, sig: func(time.Time) string { return "" },
			status: http.StatusMethodNotAllowed, answer: "method not allowed\n"},
		{name: "store down", edit: func(o *webhooks.ReceiverOptions) { o.Store = failingOutbox{o.Store} },
			body: valid, sig: signed(valid, secretNew, 0), status: http.StatusServiceUnavailable, answer: "temporarily unavailable, retry later\n"},
		{name: "audit down", edit: func(o *webhooks.ReceiverOptions) { o.Audit = failingAudit{} },
			body: valid, sig: signed(valid, secretNew, 0), status: http.StatusServiceUnavailable, answer: "temporarily unavailable, retry later\n"},
		{name: "audit down on a rejection", edit: func(o *webhooks.ReceiverOptions) { o.Audit = failingAudit{} },
			body: valid, sig: signed(valid, secretBad, 0), status: http.StatusServiceUnavailable, answer: "temporarily unavailable, retry later\n"},
		{name: "vault down", edit: func(o *webhooks.ReceiverOptions) {
			o.Secrets = func() ([][]byte, error) { return nil, errors.New("permission denied on secret/webhooks") }
		}, body: valid, sig: signed(valid, secretNew, 0), status: http.StatusServiceUnavailable, answer: "temporarily unavailable, retry later\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			e := newEnv(t, func(o *webhooks.ReceiverOptions) {
				o.Log = zerologTo(&logs)
				if tc.edit != nil {
					tc.edit(o)
				}
			})
			srv := startHook(t, e.recv)
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			resp, answer := sendHook(t, srv, method, tc.body, tc.sig(e.clock.Now()))
			if resp.StatusCode != tc.status || string(answer) != tc.answer {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, answer, tc.status, tc.answer)
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
			}
			if tc.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
			if tc.rejected != "" {
				recs := e.audits(audit.EventWebhookRejected)
				if len(recs) != 1 || recs[0].Reason != tc.rejected || recs[0].SourceIP != "127.0.0.1" {
					t.Errorf("webhook_rejected records = %+v, want one with reason %s from 127.0.0.1", recs, tc.rejected)
				}
			}
			checkHandlerLog(t, logs.Bytes(), tc.status)
		})
	}
}

// sendHook sends body to srv with method and, unless sig is "", a Stripe-Signature header;
// it returns the response, its body already read and closed, and that body. Unlike post, it
// sets no Content-Type.
func sendHook(t *testing.T, srv *httptest.Server, method string, body []byte, sig string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "" {
		req.Header.Set(webhooks.StripeSignatureHeader, sig)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, answer
}

// checkHandlerLog checks what the receiver logged while answering with status: failures
// on tokenwall's side are logged, with the cause; rejections are not. Nothing of the
// event's body may be in the log.
func checkHandlerLog(t *testing.T, logged []byte, status int) {
	t.Helper()
	if (status >= 500) != (len(logged) > 0) {
		t.Errorf("log = %q for status %d", logged, status)
	}
	if strings.Contains(string(logged), "pm_1Q0PsIJvEtkwdCNYMSaVuRz6") || strings.Contains(string(logged), `"amount"`) {
		t.Errorf("the log holds the body: %q", logged)
	}
}

// TestHandlerRequestIDHook: the audit's request id comes from the hook, not from a header
// the client sent.
func TestHandlerRequestIDHook(t *testing.T) {
	e := newEnv(t, func(o *webhooks.ReceiverOptions) {
		o.RequestID = func(http.ResponseWriter, *http.Request) string { return "req-from-middleware" }
		o.SourceIP = func(*http.Request) string { return "192.0.2.10" }
	})
	srv := startHook(t, e.recv)
	body := stripeEvent("evt_1Q0PsIJvEtkwdCNYhookid01", "charge.succeeded", paymentIntent)
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(webhooks.StripeSignatureHeader, stripeHeader(body, secretNew, e.clock.Now()))
	req.Header.Set("X-Request-Id", "client-chosen-id")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	recs := e.audits(audit.EventWebhookReceived)
	if resp.StatusCode != http.StatusOK || len(recs) != 1 || recs[0].RequestID != "req-from-middleware" || recs[0].SourceIP != "192.0.2.10" {
		t.Errorf("status %d, records %+v", resp.StatusCode, recs)
	}
}
