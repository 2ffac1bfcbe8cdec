package main

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	k1 := strings.Repeat("ab", 32)
	k2 := strings.Repeat("cd", 32)
	short := strings.Repeat("ef", 16)
	tests := []struct {
		name     string
		value    string
		wantKeys int
		wantErr  string
	}{
		{name: "one key", value: k1, wantKeys: 1},
		{name: "key roll", value: k1 + ", " + k2, wantKeys: 2},
		{name: "unset", value: " ", wantErr: "not set"},
		{name: "not hex", value: "zz" + k1[2:], wantErr: "key 1 is not valid hex"},
		{name: "too short", value: k1 + "," + short, wantErr: "key 2 is 16 bytes, want at least 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseKeys(tc.value)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				// The key material must never reach a log line through the error.
				for _, part := range strings.Split(tc.value, ",") {
					if p := strings.TrimSpace(part); len(p) > 8 && strings.Contains(err.Error(), p) {
						t.Errorf("error %q contains the key", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKeys: %v", err)
			}
			if len(keys) != tc.wantKeys {
				t.Fatalf("got %d keys, want %d", len(keys), tc.wantKeys)
			}
			if hex.EncodeToString(keys[0]) != k1 {
				t.Errorf("first key decoded wrongly")
			}
		})
	}
}

// TestLoadKeysFromFile: the file holds the key as Vault does (here the hex string a setup script
// generates), and its bytes as they are are the key, as tokenwall signs with them.
func TestLoadKeysFromFile(t *testing.T) {
	dir := t.TempDir()
	value := strings.Repeat("3f", 32) // 64 characters, as deploy/vault/setup.sh generates
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", value)
	tests := []struct {
		name    string
		file    string
		hex     string
		wantErr string
	}{
		{name: "as in vault", file: good},
		{name: "trailing newline", file: write("newline", value+"\n"), wantErr: "ends with a newline"},
		{name: "too short", file: write("short", "0123456789"), wantErr: "holds 10 bytes, want at least 32"},
		{name: "missing", file: filepath.Join(dir, "none"), wantErr: "no such file"},
		{name: "both set", file: good, hex: strings.Repeat("ab", 32), wantErr: "both set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := loadKeys(tc.file, tc.hex)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), value) {
					t.Errorf("error %q contains the key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || string(keys[0]) != value {
				t.Fatalf("got %d keys; want the file's bytes as the one key", len(keys))
			}
		})
	}
}
