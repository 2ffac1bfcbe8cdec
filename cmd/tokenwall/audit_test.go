package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store/sqlite"
)

// TestServeWritesAVerifiableAuditTrail runs `tokenwall serve` against a real Vault, stops it,
// and checks with `tokenwall audit verify` that its trail verifies, then that an edited row
// is caught and named.
func TestServeWritesAVerifiableAuditTrail(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx := context.Background()

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	var out, errb strings.Builder
	go func() { done <- run(runCtx, []string{"serve", "--config", cfgPath}, &out, &errb) }()
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + cfg.Admin.Addr + "/readyz"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	stop()
	if code := <-done; code != 0 || !ready {
		t.Fatalf("serve: ready=%v exit %d, stderr %q", ready, code, errb.String())
	}

	code, stdout, stderr := runCmd(t, "audit", "verify", "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, "audit trail OK") {
		t.Fatalf("verify: exit %d, %q %q", code, stdout, stderr)
	}
	exportPath := filepath.Join(t.TempDir(), "audit.jsonl")
	if code, _, stderr := runCmd(t, "audit", "export", "--config", cfgPath, "-o", exportPath); code != 0 {
		t.Fatalf("export: exit %d %q", code, stderr)
	}
	b, _ := os.ReadFile(exportPath)
	for _, ev := range []string{`"event":"startup"`, `"event":"config_loaded"`, `"event":"secret_loaded"`, `"event":"shutdown"`} {
		if !strings.Contains(string(b), ev) {
			t.Errorf("export lacks %s", ev)
		}
	}
	if code, stdout, _ := runCmd(t, "migrate", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "schema version 2") {
		t.Errorf("migrate: exit %d %q", code, stdout)
	}

	s, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RawExec(ctx, `UPDATE audit_records SET outcome = 'failure' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, stdout, _ = runCmd(t, "audit", "verify", "--config", cfgPath)
	if code != 1 || !strings.Contains(stdout, "at sequence 2") {
		t.Fatalf("tampered trail: exit %d %q, want 1 naming sequence 2", code, stdout)
	}
}
