package vault

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEnvironmentCannotWeakenTLS (issue 12): VAULT_SKIP_VERIFY and VAULT_CACERT in the
// environment do not make tokenwall trust a Vault its config does not; only vault.ca_cert_file
// does. The server is a TLS listener answering the health check: what is tested is the
// client's handshake, before any Vault API.
func TestEnvironmentCannotWeakenTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/sys/health" {
			_, _ = w.Write([]byte(`{"initialized":true,"sealed":false,"standby":false}`))
			return
		}
		http.Error(w, `{"errors":["permission denied"]}`, http.StatusForbidden)
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokenFile, []byte("hvs.test"), 0o600)
	t.Setenv("VAULT_SKIP_VERIFY", "true")
	t.Setenv("VAULT_CACERT", caFile)
	t.Setenv("VAULT_ADDR", srv.URL)
	dial := func(ca string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := Dial(ctx, Options{Address: srv.URL, CACertFile: ca, Timeout: 2 * time.Second, KVMount: "secret",
			Auth: Auth{Method: "token", TokenFile: tokenFile}})
		return err
	}
	if err := dial(""); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without vault.ca_cert_file: %v, want a certificate error despite VAULT_SKIP_VERIFY and VAULT_CACERT", err)
	}
	if err := dial(caFile); err == nil || errors.Is(err, ErrUnreachable) {
		t.Fatalf("with vault.ca_cert_file: %v, want the handshake to pass (and the fake's token lookup to fail)", err)
	}
}
