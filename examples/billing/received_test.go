package billing_test

import (
	"fmt"
	"github.com/tokenwall/tokenwall/signature"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/examples/billing"
)

func TestReceivedListsInOrder(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	start := time.Now().Add(-time.Second)

	checkout := tokenForm("visa", "4242", "pm_1OaVisa")
	event := `{"id":"evt_1","type":"payment_intent.succeeded"}`
	sends := []struct {
		name        string
		path        string
		contentType string
		body        string
		signed      bool
		wantStatus  int
	}{
		{name: "tokenized checkout", path: "/checkout/submit", contentType: formType, body: checkout, signed: true, wantStatus: http.StatusOK},
		{name: "webhook", path: "/webhooks/tokenwall", contentType: "application/json", body: event, signed: true, wantStatus: http.StatusOK},
		{name: "unsigned checkout", path: "/checkout/submit", contentType: formType, body: "card_number=4242424242424242", signed: false, wantStatus: http.StatusUnauthorized},
		{name: "other path", path: "/somewhere/else", contentType: "text/plain", body: "hello", signed: true, wantStatus: http.StatusNotFound},
		{name: "unsigned other path", path: "/somewhere/else", contentType: "text/plain", body: "bye", signed: false, wantStatus: http.StatusUnauthorized},
	}
	for _, s := range sends {
		sig := ""
		if s.signed {
			sig = sign(s.body, key)
		}
		if res, _ := post(t, srv, s.path, s.contentType, s.body, sig); res.StatusCode != s.wantStatus {
			t.Fatalf("%s: status %d, want %d", s.name, res.StatusCode, s.wantStatus)
		}
	}

	got := getReceived(t, srv)
	if len(got) != len(sends) {
		t.Fatalf("recorded %d bodies, want %d", len(got), len(sends))
	}
	for i, s := range sends {
		t.Run(s.name, func(t *testing.T) {
			g := got[i]
			if g.Path != s.path || g.ContentType != s.contentType || g.Body != s.body || g.SignatureValid != s.signed {
				t.Errorf("entry %d = %+v, want path %s type %s body %q valid %v", i, g, s.path, s.contentType, s.body, s.signed)
			}
			if g.ReceivedAt.Before(start) || g.ReceivedAt.After(time.Now()) {
				t.Errorf("received_at %v not during the test", g.ReceivedAt)
			}
			if i > 0 && g.ReceivedAt.Before(got[i-1].ReceivedAt) {
				t.Errorf("received_at %v before the previous entry's %v", g.ReceivedAt, got[i-1].ReceivedAt)
			}
		})
	}
}

func TestReceivedEmptyIsArray(t *testing.T) {
	srv := newServer(t, 0, newKey(t))
	_, body := get(t, srv, "/received")
	if body != "[]\n" {
		t.Errorf("GET /received with nothing recorded = %q, want []", body)
	}
}

func TestReceivedDropsOldest(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	const extra = 3
	total := billing.MaxReceived + extra
	for i := range total {
		body := fmt.Sprintf(`{"id":"evt_%d"}`, i)
		if res, _ := post(t, srv, "/webhooks/tokenwall", "application/json", body, sign(body, key)); res.StatusCode != http.StatusOK {
			t.Fatalf("post %d: status %d", i, res.StatusCode)
		}
	}
	got := getReceived(t, srv)
	if len(got) != billing.MaxReceived {
		t.Fatalf("kept %d bodies, want %d", len(got), billing.MaxReceived)
	}
	for i, g := range got {
		if want := fmt.Sprintf(`{"id":"evt_%d"}`, i+extra); g.Body != want {
			t.Fatalf("entry %d body %q, want %q", i, g.Body, want)
		}
	}
}

func TestReceivedConcurrent(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	client := srv.Client()
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			// t.Fatal must not run outside the test goroutine, so failures here are Errorf.
			for i := range each {
				body := fmt.Sprintf(`{"id":"evt_w%d_i%d"}`, w, i)
				req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/tokenwall", strings.NewReader(body))
				if err != nil {
					t.Errorf("new request: %v", err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(signature.Header, sign(body, key))
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("post: %v", err)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					t.Errorf("post %s: status %d", body, res.StatusCode)
				}
				if res, err = client.Get(srv.URL + "/received"); err != nil {
					t.Errorf("get /received: %v", err)
					return
				}
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := getReceived(t, srv); len(got) != workers*each {
		t.Errorf("recorded %d bodies, want %d", len(got), workers*each)
	}
}
