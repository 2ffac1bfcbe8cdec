package scrubref

import (
	"io"
	"sync"
)

// appendMask writes the redaction of f.
func (s *Scrubber) appendMask(dst []byte, f *Finding) []byte {
	if f.quote {
		dst = append(dst, '"')
	}
	switch {
	case f.Kind == KindCard && f.Brand != "":
		// Bytes, not strings, where they are short and known: no call to copy them.
		dst = append(dst, '[', 'c', 'a', 'r', 'd', ':')
		dst = append(dst, f.Brand...)
		dst = append(dst, ':')
		if s.mask == MaskFirst6Last4 && f.First6 != "" {
			dst = append(dst, f.First6...)
			dst = append(dst, "…"...)
		}
		if l := f.Last4; len(l) == 4 {
			dst = append(dst, l[0], l[1], l[2], l[3], ']')
		} else {
			dst = append(dst, l...)
			dst = append(dst, ']')
		}
	default:
		dst = append(dst, "[redacted:"...)
		dst = append(dst, f.Kind...)
		dst = append(dst, ']')
	}
	if f.quote {
		dst = append(dst, '"')
	}
	return dst
}

// AppendText appends src to dst with every finding redacted.
func (s *Scrubber) AppendText(dst, src []byte) []byte {
	if out, ok := s.appendScrubbed(dst, nil, src); ok {
		return out
	}
	return append(dst, src...)
}

func (s *Scrubber) apply(dst, src []byte, fs []Finding) []byte {
	last := 0
	for _, f := range fs {
		dst = append(dst, src[last:f.Start]...)
		dst = s.appendMask(dst, &f)
		last = f.End
	}
	return append(dst, src[last:]...)
}

// appendScrubbed appends src, which follows pre (read only by the card-context rule), to dst
// with every finding redacted, and reports whether there was any. When there was none, dst
// is returned as it was: src is not copied.
//
// Each finding is written out as the scan returns it, so a text that holds many (a run of
// chained card numbers) never has a list of them, and a card costs no allocation. That is
// exact while the text holds no prefixed secret, as every finding of the scan is then final.
// A prefixed secret (rare) is decided by merge with every other finding (appendFindings):
// at the first one, the text is done again that way.
func (s *Scrubber) appendScrubbed(dst, pre, src []byte) ([]byte, bool) {
	var hits []prefixHit
	base, last, found := len(dst), 0, false
	var sc scanner // filled field by field: a literal would be built aside and copied
	sc.src, sc.hits, sc.run.at = src, &hits, -1
	sc.cx.pre, sc.cx.src, sc.cx.keys, sc.cx.noFirst6 = pre, src, s.keys, s.mask != MaskFirst6Last4
	var f Finding
	for {
		ok := s.scanNext(&sc, &f)
		if len(hits) > 0 {
			fs := s.appendFindings(nil, pre, src)
			return s.apply(dst[:base], src, fs), len(fs) > 0
		}
		if !ok {
			break
		}
		if !found && dst == nil {
			dst = make([]byte, 0, len(src)+32)
		}
		found = true
		dst = append(dst, src[last:f.Start]...)
		dst = s.appendMask(dst, &f)
		last = f.End
	}
	if !found {
		return dst, false
	}
	return append(dst, src[last:]...), true
}

// Text returns src with every finding redacted. When src holds none it returns src itself,
// without copying or allocating.
func (s *Scrubber) Text(src []byte) []byte { return s.textAfter(nil, src) }

// textAfter is Text on src, which follows pre (a structured scrubber's output so far): pre
// is read only by the card-context rule.
func (s *Scrubber) textAfter(pre, src []byte) []byte {
	if out, ok := s.appendScrubbed(nil, pre, src); ok {
		return out
	}
	return src
}

// Text redacts src with the default Scrubber.
func Text(src []byte) []byte { return std.Text(src) }

// ContainsPAN reports whether src holds a card number (or track data), in any of the forms
// the detector knows: plain, grouped, url-encoded separators. A number of a shape that needs
// card context (UATP, GPN's 1946, 12-digit Maestro) counts only after a card word or under a
// card key, as Text masks it.
func ContainsPAN(src []byte) bool { return containsPAN(src, 0) }

// maxPANDepth bounds how many keys deep containsPAN looks again inside a redacted value:
// "token":"password=…" nested a thousand times must not cost a thousand scans.
const maxPANDepth = 3

// containsPAN takes the findings as the scan makes them, and returns at the first that
// tells: a run of chained card numbers costs one card. They are final while no prefixed
// secret has turned up (appendScrubbed); after one, merge decides, over all of them.
func containsPAN(src []byte, depth int) bool {
	var hits []prefixHit
	var sc scanner // filled field by field: a literal would be built aside and copied
	sc.src, sc.hits, sc.run.at = src, &hits, -1
	sc.cx.src, sc.cx.keys, sc.cx.noFirst6 = src, std.keys, true
	var f Finding
	for std.scanNext(&sc, &f) && len(hits) == 0 {
		if panFinding(src, &f, depth) {
			return true
		}
	}
	if len(hits) == 0 {
		return false
	}
	for _, f := range std.appendFindings(nil, nil, src) {
		if panFinding(src, &f, depth) {
			return true
		}
	}
	return false
}

// panFinding reports whether f, a finding in src, is a card number or holds one.
func panFinding(src []byte, f *Finding, depth int) bool {
	// A value found by key alone (card_number=abc, track2=…) has no brand: it is not a card
	// number.
	if (f.Kind == KindCard || f.Kind == KindTrack) && f.Brand != "" {
		return true
	}
	// A card under another sensitive key ("token":"4242…") is redacted as that key's kind;
	// the value alone is looked at again so the card is still seen.
	return f.Kind != KindCard && f.Kind != KindTrack && depth < maxPANDepth && f.End-f.Start >= 12 && f.End-f.Start < len(src) &&
		containsPAN(src[f.Start:f.End], depth+1)
}

// Writer scrubs everything written through it before passing it on. It is the backstop under
// every logger: each Write is scrubbed as a whole, so callers write whole lines (zerolog
// does). It is safe for concurrent use when the underlying writer is: lines are scrubbed
// concurrently, outside the lock, which only orders the writes, so one slow line (a long
// header) never holds up another.
type Writer struct {
	s   *Scrubber
	mu  sync.Mutex
	dst io.Writer
}

// NewWriter returns a Writer that scrubs into dst with the default Scrubber.
func NewWriter(dst io.Writer) *Writer { return std.NewWriter(dst) }

// NewWriter returns a Writer that scrubs into dst.
func (s *Scrubber) NewWriter(dst io.Writer) *Writer { return &Writer{s: s, dst: dst} }

// Write scrubs p and writes the result. It reports len(p) written on success, as callers of a
// transforming writer expect.
func (w *Writer) Write(p []byte) (int, error) {
	out := p
	if scrubbed, ok := w.s.appendScrubbed(nil, nil, p); ok {
		out = scrubbed
	}
	w.mu.Lock()
	_, err := w.dst.Write(out)
	w.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Mask is the default redaction of a card number: brand and last four, "[card:visa:4242]".
func Mask(b Brand, digits []byte) []byte {
	if len(digits) < 4 {
		return []byte("[redacted:card]")
	}
	return std.appendMask(nil, &Finding{Kind: KindCard, Brand: b, Last4: string(digits[len(digits)-4:])})
}
