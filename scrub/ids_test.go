package scrub

import (
	"strings"
	"testing"
)

// TestLetterID: letters only (so no digit run a scan could take for a card), two per byte,
// distinct bytes give distinct ids, and IsLetterID accepts exactly that shape.
func TestLetterID(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	id := LetterID(all)
	if len(id) != 512 || strings.ContainsAny(id, "0123456789") || !IsLetterID(id, 512) {
		t.Fatalf("LetterID of every byte: %q", id[:40])
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
		if IsLetterID(bad, 4) {
			t.Errorf("IsLetterID(%q) = true", bad)
		}
	}
	if got := NewLetterID(16); !IsLetterID(got, 32) {
		t.Errorf("NewLetterID(16) = %q", got)
	}
	if Default().Contains([]byte(LetterID(all))) {
		t.Error("the scrubber redacts a letter id")
	}
}
