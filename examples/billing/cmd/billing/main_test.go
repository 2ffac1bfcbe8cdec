package main

import (
	"encoding/hex"
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
