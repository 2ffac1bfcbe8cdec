package scrub

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
)

// chainedCards is n bytes (about) of "4242-4242-4242-4242-…": every four groups a valid
// Visa number, and the run never ends. Re-grouping the rest of the run after each finding
// made scrubbing it quadratic (issue 12, defect 1: 1 MiB took minutes).
func chainedCards(n int) string { return strings.Repeat("4242-4242-4242-4242-", n/20) }

// TestChainedCardsLinearWork: 1 MiB of chained card numbers through Text, JSON, Form, URL and
// ContainsPAN is masked whole, and the bytes the detectors examine stay within a small
// multiple of the input (a work counter, not a clock).
func TestChainedCardsLinearWork(t *testing.T) {
	const size = 1 << 20
	in := chainedCards(size)
	cards := size / 20
	var work atomic.Int64
	std.work = &work
	defer func() { std.work = nil }()
	for _, tc := range []struct {
		name string
		run  func() string
	}{
		{name: "Text", run: func() string { return string(Text([]byte(in))) }},
		{name: "JSON", run: func() string {
			out, err := std.JSONBytes([]byte(`{"note":"` + in + `"}`))
			if err != nil {
				t.Fatal(err)
			}
			return string(out)
		}},
		{name: "Form", run: func() string { return std.Form("note=" + in) }},
		{name: "URL", run: func() string { return std.URL("/orders?note=" + in) }},
		{name: "ContainsPAN", run: func() string {
			if !ContainsPAN([]byte(in)) {
				t.Error("ContainsPAN missed the cards")
			}
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work.Store(0)
			out := tc.run()
			if tc.name != "ContainsPAN" {
				// Forms and URLs carry the mask escaped.
				got := strings.Count(out, "[card:visa:4242]") + strings.Count(out, "%5Bcard%3Avisa%3A4242%5D")
				if got != cards || strings.Contains(out, "4242-4242-4242-4242") {
					t.Errorf("%d masks, want %d, and no card left", got, cards)
				}
			}
			const k = 4
			if w := work.Load(); w > k*int64(len(in)) {
				t.Errorf("the detectors examined %d bytes for %d of input: more than %dx", w, len(in), k)
			} else {
				t.Logf("examined %d bytes for %d (%.2fx)", w, len(in), float64(w)/float64(len(in)))
			}
		})
	}
}

// TestWriterWithChainedUserAgent: a log line whose user agent is a chained-card run just under
// the header limit is masked whole by the scrub writer, within the same work bound.
func TestWriterWithChainedUserAgent(t *testing.T) {
	var work atomic.Int64
	std.work = &work
	defer func() { std.work = nil }()
	ua := chainedCards(30 << 10)
	var out bytes.Buffer
	w := std.NewWriter(&out)
	line := `{"level":"info","path":"/healthz","user_agent":"` + ua + `","message":"request"}` + "\n"
	if _, err := w.Write([]byte(line)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "4242-4242-4242-4242") {
		t.Fatal("a card number got through the writer")
	}
	if wk := work.Load(); wk > 4*int64(len(line)) {
		t.Errorf("examined %d bytes for a %d-byte line", wk, len(line))
	}
}

// TestCardsInOneLongTokenLinear: card numbers glued into one long run of letters and digits
// ("4242…x4242…x…") each ask whether they sit in a hex string; that look is bounded, so 1 MiB
// of them is scrubbed in linear work and every card is masked.
func TestCardsInOneLongTokenLinear(t *testing.T) {
	in := []byte(strings.Repeat("4242424242424242g", (1<<20)/17))
	out := Text(in)
	if strings.Contains(string(out), "4242424242424242") {
		t.Fatal("a card got through")
	}
}
