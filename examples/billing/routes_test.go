package billing_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestWebhook(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	event := `{"id":"evt_1","type":"charge.refunded"}`
	tests := []struct {
		name       string
		body       string
		signature  string
		wantStatus int
	}{
		{name: "signed", body: event, signature: sign(event, key), wantStatus: http.StatusOK},
		{name: "unsigned", body: event, signature: "", wantStatus: http.StatusUnauthorized},
		{name: "tampered", body: strings.Replace(event, "refunded", "captured", 1), signature: sign(event, key), wantStatus: http.StatusUnauthorized},
		{name: "other key", body: event, signature: sign(event, newKey(t)), wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := post(t, srv, "/webhooks/tokenwall", "application/json", tc.body, tc.signature)
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
		})
	}
	got := getReceived(t, srv)
	if len(got) != len(tests) {
		t.Fatalf("recorded %d bodies, want %d", len(got), len(tests))
	}
	for i, tc := range tests {
		if want := tc.wantStatus == http.StatusOK; got[i].SignatureValid != want || got[i].Body != tc.body {
			t.Errorf("entry %d (%s) = %+v, want valid %v", i, tc.name, got[i], want)
		}
	}
}

func TestRoutes(t *testing.T) {
	srv := newServer(t, 0, newKey(t))
	tests := []struct {
		name         string
		path         string
		wantStatus   int
		wantBody     string
		wantLocation string
	}{
		{name: "healthz", path: "/healthz", wantStatus: http.StatusOK, wantBody: "ok"},
		{name: "root redirects to checkout", path: "/", wantStatus: http.StatusSeeOther, wantLocation: "/checkout"},
		{name: "unknown path", path: "/nope", wantStatus: http.StatusNotFound},
		{name: "submit is post only", path: "/checkout/submit", wantStatus: http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := get(t, srv, tc.path)
			if res.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			if tc.wantBody != "" && body != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			if loc := res.Header.Get("Location"); loc != tc.wantLocation {
				t.Errorf("Location %q, want %q", loc, tc.wantLocation)
			}
		})
	}
}
