package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/testkit"
)

// TestPagesCommands runs the operator's page commands against a real Vault and the SQLite
// store, with an app serving the payment page: misuse is refused before anything opens; a
// check without a baseline is a change; baseline, check, approve and list do what they say,
// each recorded in the trail, which still verifies.
func TestPagesCommands(t *testing.T) {
	var mu sync.Mutex
	extra := ""
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Permissions-Policy", "payment=(self)")
		_, _ = io.WriteString(w, "<!doctype html><title>Pay</title>"+extra+"<form><input name=card_number></form>")
	}))
	t.Cleanup(app.Close)
	_, _, cfg := provisioned(t)
	cfg.Upstream.URL = app.URL
	cfg.Pages = []config.Page{config.Page{Path: "/checkout"}.WithDefaults()}
	b, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(testkit.ArtifactsDir(t), "pages.yaml")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	if code, _, stderr := runCmd(t, "pages", "baseline", "/checkout", "--config", cfgPath); code != 2 || !strings.Contains(stderr, "--reason") {
		t.Fatalf("baseline without a reason: exit %d %q; want 2 naming --reason", code, stderr)
	}
	if code, stdout, _ := runCmd(t, "pages", "check", "--config", cfgPath); code != 1 || !strings.Contains(stdout, "/checkout: changed") {
		t.Fatalf("check without a baseline: exit %d %q; want 1, changed", code, stdout)
	}
	if code, stdout, stderr := runCmd(t, "pages", "baseline", "/checkout", "--reason", "launch review CHG-1", "--config", cfgPath); code != 0 ||
		!strings.Contains(stdout, "baseline recorded: /checkout") {
		t.Fatalf("baseline: exit %d %q %q", code, stdout, stderr)
	}
	if code, stdout, _ := runCmd(t, "pages", "check", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "/checkout: match") {
		t.Fatalf("check after the baseline: exit %d %q; want 0, match", code, stdout)
	}
	if code, _, stderr := runCmd(t, "pages", "approve", "/checkout", "--reason", "nothing changed", "--config", cfgPath); code != 1 ||
		!strings.Contains(stderr, "nothing to approve") {
		t.Fatalf("approve of an unchanged page: exit %d %q", code, stderr)
	}
	if code, _, stderr := runCmd(t, "pages", "baseline", "/elsewhere", "--reason", "x", "--config", cfgPath); code != 1 || !strings.Contains(stderr, "not a payment page") {
		t.Fatalf("baseline of an unknown page: exit %d %q", code, stderr)
	}
	mu.Lock()
	extra = `<script src="https://cdn.example/new.js"></script>`
	mu.Unlock()
	if code, stdout, _ := runCmd(t, "pages", "check", "--config", cfgPath); code != 1 || !strings.Contains(stdout, "script added: https://cdn.example/new.js") {
		t.Fatalf("check after a script was added: exit %d %q", code, stdout)
	}
	if code, stdout, stderr := runCmd(t, "pages", "approve", "/checkout", "--reason", "new widget CHG-2", "--config", cfgPath); code != 0 ||
		!strings.Contains(stdout, "change approved") || !strings.Contains(stdout, "script added") {
		t.Fatalf("approve: exit %d %q %q", code, stdout, stderr)
	}
	code, stdout, _ := runCmd(t, "pages", "list", "--json", "--config", cfgPath)
	var l struct {
		Path     string `json:"path"`
		Changed  bool   `json:"changed"`
		Baseline struct {
			ApprovedBy string `json:"approved_by"`
			Reason     string `json:"reason"`
		} `json:"baseline"`
		LastCheck string `json:"last_check"`
	}
	if err := json.Unmarshal([]byte(stdout), &l); code != 0 || err != nil || l.Path != "/checkout" || l.Changed ||
		l.Baseline.Reason != "new widget CHG-2" || !strings.HasPrefix(l.Baseline.ApprovedBy, "admin:cli:") || l.LastCheck == "" {
		t.Fatalf("list --json: exit %d %q (%v)", code, stdout, err)
	}
	if code, stdout, _ := runCmd(t, "pages", "list", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "matches its baseline") {
		t.Fatalf("list: exit %d %q", code, stdout)
	}
	code, stdout, _ = runCmd(t, "audit", "export", "--config", cfgPath)
	for _, ev := range []string{`"event":"page_baseline"`, `"event":"page_approved"`, `"event":"page_checked"`, `"event":"page_changed"`} {
		if code != 0 || !strings.Contains(stdout, ev) {
			t.Errorf("the trail has no %s record", ev)
		}
	}
	if code, stdout, _ := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 {
		t.Fatalf("verify: exit %d %q", code, stdout)
	}
}
