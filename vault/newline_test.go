package vault_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/vault"
)

// TestReadKVRefusesATrailingNewline: a secret written with a trailing "\n" or "\r\n" (as
// `vault kv put path value=@file` stores a file) is refused by ReadKV and ReadKVVersion with
// ErrNewline, an error that names the path and says how to fix it but never shows the value;
// a newline inside a value, or none, reads as written.
func TestReadKVRefusesATrailingNewline(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, v.Token)}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, value string
		refused           bool
	}{
		{name: "newline", path: "tokenwall/lf", value: "sk_test_newlineSECRETvalue\n", refused: true},
		{name: "crlf", path: "tokenwall/crlf", value: "sk_test_crlfSECRETvalue\r\n", refused: true},
		{name: "two newlines", path: "tokenwall/lflf", value: "whsec_twoSECRETnewlines\n\n", refused: true},
		{name: "none", path: "tokenwall/plain", value: "sk_test_plainSECRETvalue"},
		{name: "inside only", path: "tokenwall/inner", value: "line one\nline two"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vaultAPI(t, v, http.MethodPost, "secret/data/"+tc.path, map[string]any{"data": map[string]any{"value": tc.value}})
			s, err := c.ReadKV(ctx, "test", tc.path)
			sv, errV := c.ReadKVVersion(ctx, "test", tc.path, 1)
			if !tc.refused {
				if err != nil || string(s.Reveal()) != tc.value || errV != nil || string(sv.Reveal()) != tc.value {
					t.Fatalf("read: %v / %v", err, errV)
				}
				return
			}
			for _, e := range []error{err, errV} {
				if !errors.Is(e, vault.ErrNewline) {
					t.Fatalf("err = %v, want ErrNewline", e)
				}
				msg := e.Error()
				if !strings.Contains(msg, "secret/"+tc.path) || !strings.Contains(msg, "without the trailing newline") {
					t.Errorf("the error does not name the path and the fix: %q", msg)
				}
				if strings.Contains(msg, "SECRET") {
					t.Errorf("the error shows the value: %q", msg)
				}
			}
			if !s.IsZero() || !sv.IsZero() {
				t.Error("a refused secret came back with a value")
			}
		})
	}
}

// TestCacheKeepsTheOldValueWhenANewlineIsWritten: a cache that loaded a good value keeps
// serving it when the secret is rewritten with a trailing newline, and reports the refresh
// as failed with ErrNewline; Load refuses to start on such a secret.
func TestCacheKeepsTheOldValueWhenANewlineIsWritten(t *testing.T) {
	v := startVault(t)
	ctx := context.Background()
	c, err := vault.Dial(ctx, vault.Options{Address: v.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: writeFile(t, v.Token)}, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_good"}})
	var last error
	cache := vault.NewCache(c, vault.CacheOptions{Paths: map[string]string{vault.SecretStripeKey: "tokenwall/stripe"},
		RefreshInterval: time.Minute, MaxAge: time.Hour, OnRefresh: func(_ string, err error) { last = err }})
	if err := cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	vaultAPI(t, v, http.MethodPost, "secret/data/tokenwall/stripe", map[string]any{"data": map[string]any{"value": "sk_test_bad\n"}})
	if err := cache.Refresh(ctx); !errors.Is(err, vault.ErrNewline) || !errors.Is(last, vault.ErrNewline) {
		t.Fatalf("refresh: %v (reported %v), want ErrNewline", err, last)
	}
	if s, err := cache.Get(vault.SecretStripeKey); err != nil || string(s.Reveal()) != "sk_test_good" {
		t.Fatalf("after a refused refresh: %v", err)
	}
	fresh := vault.NewCache(c, vault.CacheOptions{Paths: map[string]string{vault.SecretStripeKey: "tokenwall/stripe"},
		RefreshInterval: time.Minute, MaxAge: time.Hour})
	if err := fresh.Load(ctx); !errors.Is(err, vault.ErrNewline) {
		t.Fatalf("load: %v, want ErrNewline", err)
	}
}
