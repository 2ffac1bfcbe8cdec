package devstack

import (
	"bytes"
	"strings"
	"testing"
)

func TestChildLogScrubsAcrossWrites(t *testing.T) {
	var out bytes.Buffer
	l := newChildLog(&out)
	// The pipe may hand the number over in two reads.
	for _, p := range []string{"Request data = card:4242 4242 42", "42 4242 cvc:123\nnext line\npartial 5555555555554444"} {
		if n, err := l.Write([]byte(p)); err != nil || n != len(p) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if strings.Contains(out.String(), "partial") {
		t.Error("a line without its newline was passed on before Flush")
	}
	l.Flush()
	want := "Request data = card:[card:visa:4242] cvc:[redacted:cvc]\nnext line\npartial [card:mastercard:4444]"
	if out.String() != want {
		t.Errorf("log = %q; want %q", out.String(), want)
	}
	if l.Tail() != want {
		t.Errorf("tail = %q; want %q", l.Tail(), want)
	}
}

func TestChildLogCutsLongLinesOutsideNumbers(t *testing.T) {
	var out bytes.Buffer
	l := newChildLog(&out)
	// The second write overflows the pending line in the middle of the number: the cut must
	// fall before the number, not after the half of it written so far.
	for _, p := range []string{strings.Repeat("x", maxPending-5), " 42424242", "42424242 and the rest\n"} {
		_, _ = l.Write([]byte(p))
	}
	l.Flush()
	if strings.Contains(out.String(), "4242424242424242") || !strings.Contains(out.String(), "[card:visa:4242]") {
		t.Error("a card number at the cut of an over-long line was not scrubbed")
	}
	if len(l.Tail()) > tailSize {
		t.Errorf("tail holds %d bytes; want at most %d", len(l.Tail()), tailSize)
	}
}
