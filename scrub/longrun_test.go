package scrub

import (
	"bytes"
	"strings"
	"testing"
)

// A card after many short digit groups (a list of numbers, say) is found however long the run.
func TestTextFindsCardAfterManyGroups(t *testing.T) {
	for _, groups := range []int{0, 23, 24, 25, 100} {
		line := []byte(strings.Repeat("1 ", groups) + "4242 4242 4242 4242")
		out := Text(line)
		if bytes.Contains(out, []byte("4242 4242 4242 4242")) || !bytes.Contains(out, []byte("[card:visa:4242]")) {
			t.Errorf("%d leading groups: card not masked", groups)
		}
	}
}
