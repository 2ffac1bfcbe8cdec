package devstack_test

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// vaultDo sends one request to Vault with the root token and returns the status and body.
func vaultDo(t *testing.T, client *http.Client, method, url, token, body string) (int, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func TestVault(t *testing.T) {
	v, home := startVault(t)
	client := newClient(t, 10*time.Second)
	secret := v.Addr + "/v1/secret/data/x"

	if !strings.HasPrefix(v.Addr, "http://127.0.0.1:") {
		t.Errorf("Addr = %q; want a loopback URL", v.Addr)
	}
	if len(v.Token) != 24 {
		t.Errorf("root token has %d characters; want 24", len(v.Token))
	}

	status, body, err := vaultDo(t, client, http.MethodPost, secret, v.Token, `{"data":{"value":"v"}}`)
	if err != nil || status != http.StatusOK {
		t.Fatalf("write secret: %d %s %v", status, body, err)
	}
	status, body, err = vaultDo(t, client, http.MethodGet, secret, v.Token, "")
	if err != nil || status != http.StatusOK {
		t.Fatalf("read secret: %d %s %v", status, body, err)
	}
	var got struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("read secret: %v", err)
	}
	if got.Data.Data["value"] != "v" {
		t.Errorf("secret value = %q; want %q", got.Data.Data["value"], "v")
	}
	if status, _, _ := vaultDo(t, client, http.MethodGet, secret, "wrong-token", ""); status != http.StatusForbidden {
		t.Errorf("read with a wrong token: status %d; want 403", status)
	}

	if err := v.Kill(); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	if _, _, err := vaultDo(t, client, http.MethodGet, v.Addr+"/v1/sys/health", "", ""); err == nil {
		t.Fatal("Vault still answers after Kill")
	}
	addr := v.Addr
	if err := v.Restart(t.Context()); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	if v.Addr != addr {
		t.Errorf("Addr after Restart = %q; want %q", v.Addr, addr)
	}
	// A dev server keeps nothing across a restart; the same root token works again.
	if status, body, err := vaultDo(t, client, http.MethodGet, secret, v.Token, ""); err != nil || status != http.StatusNotFound {
		t.Errorf("read after Restart: %d %s %v; want 404", status, body, err)
	}
	if status, body, err := vaultDo(t, client, http.MethodPost, secret, v.Token, `{"data":{"value":"w"}}`); err != nil || status != http.StatusOK {
		t.Errorf("write after Restart: %d %s %v", status, body, err)
	}

	if err := v.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	if err := v.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, ".vault-token")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Vault wrote a token file in its HOME: %v", err)
	}
}
