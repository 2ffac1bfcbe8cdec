package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/testkit"
)

// TestReportCommand runs `tokenwall serve`, then `tokenwall report` in every format against
// it and `tokenwall report verify` on each file: every one verifies, and a one-byte edit makes
// verification fail (exit 1). The TLS evidence comes from probing the running listener.
func TestReportCommand(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx := context.Background()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	var errb strings.Builder
	go func() { done <- run(runCtx, []string{"serve", "--config", cfgPath}, &strings.Builder{}, &errb) }()
	defer func() {
		stop()
		<-done
	}()
	ready := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get("http://" + cfg.Admin.Addr + "/readyz"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	if !ready {
		t.Fatalf("serve did not become ready: %s", errb.String())
	}
	dir := testkit.ArtifactsDir(t)
	for _, format := range []string{"json", "html", "pdf"} {
		out := filepath.Join(dir, "report."+format)
		code, stdout, stderr := runCmd(t, "report", "--format", format, "-o", out, "--config", cfgPath)
		if code != 0 || !strings.Contains(stdout, "written to "+out) {
			t.Fatalf("report --format %s: exit %d\n%s\n%s", format, code, stdout, stderr)
		}
		if code, stdout, stderr := runCmd(t, "report", "verify", "--config", cfgPath, out); code != 0 || !strings.Contains(stdout, "OK: signed by Vault transit key") {
			t.Fatalf("verify %s: exit %d %s %s", format, code, stdout, stderr)
		}
		b, _ := os.ReadFile(out)
		edited := filepath.Join(dir, "edited."+format)
		i := bytes.Index(b, []byte("report"))
		if format == "json" { // inside the signed report, not the envelope's key
			i = bytes.Index(b, []byte(`"format_version":1`)) + len(`"format_version":`)
		}
		b[i] ^= 0x02
		if err := os.WriteFile(edited, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"report", "verify", "--config", cfgPath, edited}
		if format == "pdf" {
			args = []string{"report", "verify", "--sig", out + ".sig", "--config", cfgPath, edited}
		}
		if code, stdout, _ := runCmd(t, args...); code != 1 || !strings.Contains(stdout, "FAILED verification") {
			t.Fatalf("edited %s: exit %d %q, want 1", format, code, stdout)
		}
		if format == "json" {
			b, _ := os.ReadFile(out)
			r, err := report.ParseJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range r.Requirements {
				if q.ID == "4.2.1" && q.Status != report.Pass {
					t.Errorf("4.2.1 against the running listener: %s %v", q.Status, q.Evidence)
				}
			}
			if r.Summary.Startups != 1 {
				t.Errorf("startups in the report: %d", r.Summary.Startups)
			}
		}
	}
	for _, bad := range [][]string{
		{"report", "--format", "docx", "-o", filepath.Join(dir, "x"), "--config", cfgPath},
		{"report", "--from", "2026-13-01", "-o", filepath.Join(dir, "x"), "--config", cfgPath},
		{"report", "--config", cfgPath},
	} {
		if code, _, _ := runCmd(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad[1:3], code)
		}
	}
}
