package proxy

import (
	"strings"
	"testing"
)

// TestLetterID: letters only (so no digit run a scan could take for a card), two per byte,
// distinct bytes give distinct ids, and isLetterID accepts exactly that shape.
func TestLetterID(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	id := letterID(all)
	if len(id) != 512 || strings.ContainsAny(id, "0123456789") || !isLetterID(id, 512) {
		t.Fatalf("letterID of every byte: %q", id[:40])
	}
	seen := map[string]bool{}
	for i := range all {
		s := id[2*i : 2*i+2]
		if seen[s] {
			t.Fatalf("byte %d encodes like another", i)
		}
		seen[s] = true
	}
	for _, bad := range []string{"abcq", "ABCD", "ab1d", "abc"} {
		if isLetterID(bad, 4) {
			t.Errorf("isLetterID(%q) = true", bad)
		}
	}
	if rid := newRequestID(); !isLetterID(rid, 32) || !validRequestID.MatchString(rid) {
		t.Errorf("request id %q", rid)
	}
}
