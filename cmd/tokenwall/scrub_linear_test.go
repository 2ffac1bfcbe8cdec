package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestScrubChainedCards (issue 12, defect 1): `tokenwall scrub` masks every card of 1 MiB of
// chained card numbers on one line (the scrubber's work is linear; see scrub's work-counter
// test).
func TestScrubChainedCards(t *testing.T) {
	in := strings.Repeat("4242-4242-4242-4242-", (1<<20)/20) + "\n"
	var out, errb bytes.Buffer
	if code := scrubFiles(context.Background(), nil, strings.NewReader(in), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if got, want := strings.Count(out.String(), "[card:visa:4242]"), (1<<20)/20; got != want || strings.Contains(out.String(), "4242-4242") {
		t.Fatalf("%d masks, want %d and no card left", got, want)
	}
}
