package proxy_test

import (
	"context"
	"encoding/json"
	"github.com/tokenwall/tokenwall/apikey"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// problemOf decodes a problem+json answer and checks its media type.
func problemOf(t *testing.T, resp *http.Response, body string) (typ string, doc map[string]any) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json (body %q)", ct, body)
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("problem body %q: %v", body, err)
	}
	typ, _ = doc["type"].(string)
	return strings.TrimPrefix(typ, proxy.ProblemBase), doc
}

// TestAPIAccess: the /v1 access rules through a running tokenwall against the real Vault. Each
// refusal has its own problem type and an api_auth_failed record naming the reason; the key's
// secret appears in no log line and no audit record.
func TestAPIAccess(t *testing.T) {
	h := newHarness(t, options{api: true, webhooks: true})
	checkAccessRefusals(t, h)
	h.subtest(t, "refusals of a known key name the key", func(t *testing.T) {
		for _, ev := range h.events("api_auth_failed") {
			if ev.Reason == "scope_missing" || ev.Reason == "revoked_api_key" {
				if !strings.HasPrefix(ev.Actor, apikey.ActorPrefix) {
					t.Errorf("refusal of a known key names actor %q, want key:ID", ev.Actor)
				}
			}
		}
	})
	h.subtest(t, "unknown /v1 path is a 404 not forwarded", func(t *testing.T) {
		before := len(h.up.requests())
		resp, body := h.api(http.MethodGet, "/v1/nothing-here", "admin", nil, "")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusNotFound || typ != "not-found" {
			t.Errorf("unknown /v1 path: %d %s", resp.StatusCode, body)
		}
		if len(h.up.requests()) != before {
			t.Error("an unknown /v1 path reached the upstream")
		}
	})
	checkAdminReplay(t, h)
	h.subtest(t, "bad status filter", func(t *testing.T) {
		resp, body := h.api(http.MethodGet, "/v1/admin/webhooks?status=lost", "admin", nil, "")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusBadRequest || typ != "invalid-parameter" {
			t.Errorf("bad status filter: %d %s", resp.StatusCode, body)
		}
	})
	h.subtest(t, "log names key ids, never secrets", func(t *testing.T) {
		log := h.logText()
		for name, full := range h.keys {
			secret := full[len(full)-64:]
			if strings.Contains(log, secret) {
				t.Errorf("the log holds the secret of key %s", name)
			}
		}
		if !strings.Contains(log, `"api_key_id":"`) {
			t.Error("the request summary lines do not name the api key id")
		}
	})
}

// checkAccessRefusals sends GET /v1/admin/webhooks with each kind of bad key, one subtest
// each: each refusal has its own status and problem type and writes one api_auth_failed
// record with its reason; the admin key is let through without a record.
func checkAccessRefusals(t *testing.T, h *harness) {
	t.Helper()
	wrongSecret := "twk_" + strings.Repeat("a", 16) + "_" + strings.Repeat("a", 64)
	known := h.keys["admin"]
	forged := known[:len(known)-1] + map[bool]string{true: "0", false: "1"}[known[len(known)-1] != '0']
	tests := []struct {
		name, key  string
		status     int
		problem    string
		reason     string
		wantsAudit bool
	}{
		{"no key", "", http.StatusUnauthorized, "unauthenticated", "no_api_key", true},
		{"not bearer", "Basic YWRtaW46YWRtaW4=", http.StatusUnauthorized, "unauthenticated", "no_api_key", true},
		{"malformed key", "Bearer twk_short", http.StatusUnauthorized, "invalid-api-key", "bad_api_key", true},
		{"unknown key id", "Bearer " + wrongSecret, http.StatusUnauthorized, "invalid-api-key", "bad_api_key", true},
		{"known id, wrong secret", "Bearer " + forged, http.StatusUnauthorized, "invalid-api-key", "bad_api_key", true},
		{"revoked key", "revoked", http.StatusUnauthorized, "revoked-api-key", "revoked_api_key", true},
		{"scope missing", "payments", http.StatusForbidden, "scope-missing", "scope_missing", true},
		{"admin key", "admin", http.StatusOK, "", "", false},
	}
	for _, tc := range tests {
		h.subtest(t, tc.name, func(t *testing.T) {
			before := len(h.events("api_auth_failed"))
			resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", tc.key, nil, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.status, body)
			}
			evs := h.events("api_auth_failed")
			if !tc.wantsAudit {
				if len(evs) != before || !strings.Contains(body, `"data"`) {
					t.Errorf("%d new refusals, body %q", len(evs)-before, body)
				}
				return
			}
			if typ, _ := problemOf(t, resp, body); typ != tc.problem {
				t.Errorf("problem %q, want %q", typ, tc.problem)
			}
			if len(evs) != before+1 || evs[len(evs)-1].Reason != tc.reason {
				t.Errorf("want one more api_auth_failed with reason %s, have %d", tc.reason, len(evs)-before)
			}
		})
	}
}

// checkAdminReplay replays webhook events through the admin API, one subtest each: a dead
// event becomes pending; a replayed, a pending and an unknown event are refused. Every
// attempt is audited.
func checkAdminReplay(t *testing.T, h *harness) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"evt_api_dead", "evt_api_pending"} {
		if _, err := h.store.EnqueueOutbox(ctx, store.OutboxItem{ID: id, Type: "charge.failed", Payload: []byte(`{}`), Digest: make([]byte, 32),
			CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.store.RawExec(ctx, `UPDATE outbox SET status = 'dead' WHERE id = 'evt_api_dead'`); err != nil {
		t.Fatal(err)
	}
	replays := []struct {
		name, id string
		status   int
		problem  string
	}{
		{"replay of a dead event", "evt_api_dead", http.StatusOK, ""},
		{"replay of a replayed event", "evt_api_dead", http.StatusConflict, "event-not-dead"},
		{"replay of a pending event", "evt_api_pending", http.StatusConflict, "event-not-dead"},
		{"replay of an unknown event", "evt_unknown", http.StatusNotFound, "unknown-event"},
	}
	for _, r := range replays {
		h.subtest(t, r.name, func(t *testing.T) {
			resp, body := h.api(http.MethodPost, "/v1/admin/webhooks/"+r.id+"/replay", "admin", nil, "")
			if resp.StatusCode != r.status {
				t.Fatalf("replay %s: %d %s, want %d", r.id, resp.StatusCode, body, r.status)
			}
			if r.problem != "" {
				if typ, _ := problemOf(t, resp, body); typ != r.problem {
					t.Errorf("replay %s: problem %s, want %s", r.id, typ, r.problem)
				}
			} else if !strings.Contains(body, `"status":"pending"`) {
				t.Errorf("replay %s: %s", r.id, body)
			}
		})
	}
	if n := len(h.events("webhook_replayed")); n != 4 {
		t.Errorf("%d webhook_replayed records, want 4 (one success, three refusals)", n)
	}
}

// TestAPIRateLimit: each key has its own token bucket; past the burst a key gets 429 with
// Retry-After, audited, while another key is unaffected.
func TestAPIRateLimit(t *testing.T) {
	h := newHarness(t, options{api: true, rate: 1, burst: 3})
	for i := range 3 {
		if resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, "")
	typ, doc := problemOf(t, resp, body)
	if resp.StatusCode != http.StatusTooManyRequests || typ != "rate-limited" || resp.Header.Get("Retry-After") != "1" || doc["retry_after"] != float64(1) {
		t.Fatalf("past the burst: %d %s Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if resp, _ := h.api(http.MethodGet, "/v1/admin/webhooks", "payments", nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another key: %d, want its own bucket (403 for the scope, not 429)", resp.StatusCode)
	}
	evs := h.events("api_auth_failed")
	if len(evs) != 2 || evs[0].Reason != "rate_limited" || evs[1].Reason != "scope_missing" {
		t.Fatalf("refusals %+v", evs)
	}
}

// TestAPIKeyRevocationAfterRefresh: a key revoked in Vault (as `tokenwall keys revoke` does)
// is refused once the key set is re-read (serve re-reads it every api.keys_refresh), and a
// key created meanwhile works from then on.
func TestAPIKeyRevocationAfterRefresh(t *testing.T) {
	h := newHarness(t, options{api: true})
	ctx := context.Background()
	vc, err := vault.Dial(ctx, vault.Options{Address: h.cfg.Vault.Address, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: h.cfg.Vault.Auth.TokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	s, err := vc.ReadKV(ctx, vault.SecretAPIKeys, h.cfg.API.KeysPath)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := apikey.ParseKeySet(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.Revoke(h.keys["admin"][4:20], time.Now()); err != nil {
		t.Fatal(err)
	}
	k, fresh, err := apikey.New("new", []string{apikey.ScopeAdmin}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ks.Keys = append(ks.Keys, k)
	b, _ := ks.Marshal()
	if err := vc.WriteKVCAS(ctx, h.cfg.API.KeysPath, string(b), s.Version()); err != nil {
		t.Fatal(err)
	}
	if resp, _ := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("before the refresh the cached set still holds the key: %d", resp.StatusCode)
	}
	if err := h.cache.RefreshSecret(ctx, vault.SecretAPIKeys); err != nil {
		t.Fatal(err)
	}
	resp, body := h.api(http.MethodGet, "/v1/admin/webhooks", "admin", nil, "")
	if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusUnauthorized || typ != "revoked-api-key" {
		t.Fatalf("after the refresh: %d %s", resp.StatusCode, body)
	}
	h.keys["new"] = fresh
	if resp, _ := h.api(http.MethodGet, "/v1/admin/webhooks", "new", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("the new key: %d", resp.StatusCode)
	}
	if err := h.cache.RefreshSecret(ctx, "not_configured"); err == nil {
		t.Fatal("refreshing an unconfigured secret succeeded")
	}
}
