package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
)

// serveOnce runs `tokenwall serve` until it is ready, then stops it.
func serveOnce(t *testing.T, cfgPath string, cfg config.Config) {
	t.Helper()
	runCtx, stop := context.WithCancel(context.Background())
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
}

// TestServeWritesAVerifiableAuditTrail runs `tokenwall serve` against a real Vault, stops it,
// and checks with `tokenwall audit verify` that its trail verifies, then that an edited row
// is caught and named.
func TestServeWritesAVerifiableAuditTrail(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx := context.Background()
	serveOnce(t, cfgPath, cfg)

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
	if code, stdout, _ := runCmd(t, "migrate", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "schema version 5") {
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

// TestAuditRotateKeyKeepsTheTrailVerifiable serves with key version 1, rotates the key with
// `tokenwall audit rotate-key`, serves again with version 2, and verifies: each record names
// the version that MACed it, the rotation is audited, and a record edited to name the other
// version is caught and named.
func TestAuditRotateKeyKeepsTheTrailVerifiable(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx := context.Background()
	serveOnce(t, cfgPath, cfg)
	code, stdout, stderr := runCmd(t, "audit", "rotate-key", "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, "version 1 -> 2") || !strings.Contains(stdout, "vault.refresh_interval") {
		t.Fatalf("rotate-key: exit %d, %q %q", code, stdout, stderr)
	}
	serveOnce(t, cfgPath, cfg)
	if code, stdout, stderr := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "audit trail OK") {
		t.Fatalf("verify after the rotation: exit %d, %q %q", code, stdout, stderr)
	}

	s, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[int]int{}
	var rotated []store.AuditRecord
	_ = s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		byVersion[r.KeyVersion]++
		if r.Event == audit.EventAuditKeyRotated {
			rotated = append(rotated, r)
		}
		return nil
	})
	if byVersion[1] == 0 || byVersion[2] == 0 || len(byVersion) != 2 {
		t.Errorf("records by key version: %v, want some of 1 and of 2 only", byVersion)
	}
	if len(rotated) != 1 || rotated[0].KeyVersion != 2 || rotated[0].Outcome != audit.Success ||
		!strings.HasPrefix(rotated[0].Actor, "admin:cli:") || !strings.Contains(rotated[0].Details, `"version":"2"`) {
		t.Errorf("rotation records: %+v", rotated)
	}
	// Record 2 was MACed with version 1: naming version 2 is caught there.
	if err := s.RawExec(ctx, `UPDATE audit_records SET key_version = 2 WHERE seq = 2 AND key_version = 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, stdout, _ = runCmd(t, "audit", "verify", "--config", cfgPath)
	if code != 1 || !strings.Contains(stdout, "at sequence 2") {
		t.Fatalf("record naming another key version: exit %d %q, want 1 naming sequence 2", code, stdout)
	}
}

// copyDB copies the SQLite database files at src (with its -wal and -shm files, when there
// are any) to dst: a backup, or its restore.
func copyDB(t *testing.T, src, dst string) {
	t.Helper()
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(dst + sfx)
		b, err := os.ReadFile(src + sfx)
		if os.IsNotExist(err) && sfx != "" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+sfx, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAuditRestoreAfterABackup: a database restored from a backup is behind the anchor in
// Vault, so `audit verify` fails naming the first missing record and `serve` refuses to
// start, saying what to do; `audit restore --reason` records the restore and re-anchors, after
// which both work, and a second restore is refused.
func TestAuditRestoreAfterABackup(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	serveOnce(t, cfgPath, cfg)
	backup := filepath.Join(testkit.ArtifactsDir(t), "backup.db")
	copyDB(t, cfg.Store.SQLitePath, backup)
	serveOnce(t, cfgPath, cfg)
	copyDB(t, backup, cfg.Store.SQLitePath)

	code, stdout, _ := runCmd(t, "audit", "verify", "--config", cfgPath)
	if code != 1 || !strings.Contains(stdout, "missing") {
		t.Fatalf("verify of the restored database: exit %d %q, want 1 naming missing records", code, stdout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb strings.Builder
	if code := run(ctx, []string{"serve", "--config", cfgPath}, &out, &errb); code == 0 || ctx.Err() != nil ||
		!strings.Contains(errb.String(), "behind its anchor") || !strings.Contains(errb.String(), "audit restore") {
		t.Fatalf("serve on the restored database: exit %d, stderr %q", code, errb.String())
	}
	if code, _, stderr := runCmd(t, "audit", "restore", "--config", cfgPath); code != 2 || !strings.Contains(stderr, "--reason") {
		t.Fatalf("restore without a reason: exit %d %q", code, stderr)
	}
	code, stdout, stderr := runCmd(t, "audit", "restore", "--reason", "disk failure; restored the nightly backup", "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, "restore recorded") {
		t.Fatalf("restore: exit %d %q %q", code, stdout, stderr)
	}
	if code, stdout, stderr := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 || !strings.Contains(stdout, "1 restores recorded") {
		t.Fatalf("verify after the restore: exit %d %q %q", code, stdout, stderr)
	}
	serveOnce(t, cfgPath, cfg)
	if code, stdout, _ := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 {
		t.Fatalf("verify after serving again: exit %d %q", code, stdout)
	}
	if code, _, stderr := runCmd(t, "audit", "restore", "--reason", "again", "--config", cfgPath); code != 2 || !strings.Contains(stderr, "nothing was restored") {
		t.Fatalf("a second restore: exit %d %q", code, stderr)
	}
}
