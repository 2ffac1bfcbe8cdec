package billing_test

import (
	"github.com/tokenwall/tokenwall/signature"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/examples/billing"
	"github.com/tokenwall/tokenwall/webhooks"
)

// TestWebhookDedup: the app processes each event id once. A repeat delivery is answered 200
// so tokenwall stops retrying; an id header that disagrees with the signed body, or a body
// without an id, is refused.
func TestWebhookDedup(t *testing.T) {
	key := newKey(t)
	app := billing.New(billing.Options{SigningKeys: func() [][]byte { return [][]byte{key} }})
	srv := httptest.NewTLSServer(app)
	t.Cleanup(srv.Close)

	send := func(body, idHeader string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/tokenwall", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(signature.Header, sign(body, key))
		if idHeader != "" {
			req.Header.Set(webhooks.EventIDHeader, idHeader)
		}
		res, text := do(t, srv, req)
		return res.StatusCode, text
	}
	event := `{"id":"evt_1","type":"charge.refunded"}`
	tests := []struct {
		name, body, header string
		wantStatus         int
		wantText           string
	}{
		{"first delivery", event, "evt_1", http.StatusOK, "received"},
		{"repeat delivery", event, "evt_1", http.StatusOK, "duplicate"},
		{"repeat without the header", event, "", http.StatusOK, "duplicate"},
		{"header disagrees with the body", event, "evt_2", http.StatusBadRequest, "does not match"},
		{"body without an id", `{"type":"charge.refunded"}`, "evt_3", http.StatusBadRequest, "not an event with an id"},
		{"body not JSON", `id=evt_4`, "evt_4", http.StatusBadRequest, "not an event with an id"},
		{"second event", `{"id":"evt_5","type":"payout.paid"}`, "evt_5", http.StatusOK, "received"},
	}
	for _, tc := range tests {
		if status, text := send(tc.body, tc.header); status != tc.wantStatus || !strings.Contains(text, tc.wantText) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, status, text, tc.wantStatus, tc.wantText)
		}
	}
	got := app.WebhookEvents()
	if len(got) != 2 || got[0].ID != "evt_1" || got[0].Deliveries != 3 || got[0].Type != "charge.refunded" ||
		got[1].ID != "evt_5" || got[1].Deliveries != 1 {
		t.Fatalf("events = %+v, want evt_1 delivered 3 times then evt_5 once", got)
	}
}
