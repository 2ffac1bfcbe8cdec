package scrub

import (
	"io"
	"sync"
)

// appendMask writes the redaction of f.
func (s *Scrubber) appendMask(dst []byte, f Finding) []byte {
	if f.quote {
		dst = append(dst, '"')
	}
	switch {
	case f.Kind == KindCard && f.Brand != "":
		dst = append(dst, "[card:"...)
		dst = append(dst, f.Brand...)
		dst = append(dst, ':')
		if s.mask == MaskFirst6Last4 && f.First6 != "" {
			dst = append(dst, f.First6...)
			dst = append(dst, "…"...)
		}
		dst = append(dst, f.Last4...)
		dst = append(dst, ']')
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
	fs := s.appendFindings(nil, nil, src)
	return s.apply(dst, src, fs)
}

func (s *Scrubber) apply(dst, src []byte, fs []Finding) []byte {
	last := 0
	for _, f := range fs {
		dst = append(dst, src[last:f.Start]...)
		dst = s.appendMask(dst, f)
		last = f.End
	}
	return append(dst, src[last:]...)
}

// Text returns src with every finding redacted. When src holds none it returns src itself,
// without copying or allocating.
func (s *Scrubber) Text(src []byte) []byte {
	// Not textAfter(nil, src): one call fewer on every clean log line.
	fs := s.appendFindings(nil, nil, src)
	if len(fs) == 0 {
		return src
	}
	return s.apply(make([]byte, 0, len(src)+32), src, fs)
}

// textAfter is Text on src, which follows pre (a structured scrubber's output so far): pre
// is read only by the card-context rule.
func (s *Scrubber) textAfter(pre, src []byte) []byte {
	fs := s.appendFindings(nil, pre, src)
	if len(fs) == 0 {
		return src
	}
	return s.apply(make([]byte, 0, len(src)+32), src, fs)
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

func containsPAN(src []byte, depth int) bool {
	for _, f := range std.appendFindings(nil, nil, src) {
		// A value found by key alone (card_number=abc, track2=…) has no brand: it is not a
		// card number.
		if (f.Kind == KindCard || f.Kind == KindTrack) && f.Brand != "" {
			return true
		}
		// A card under another sensitive key ("token":"4242…") is redacted as that key's
		// kind; the value alone is looked at again so the card is still seen.
		if f.Kind != KindCard && f.Kind != KindTrack && depth < maxPANDepth && f.End-f.Start >= 12 && f.End-f.Start < len(src) &&
			containsPAN(src[f.Start:f.End], depth+1) {
			return true
		}
	}
	return false
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
	if fs := w.s.appendFindings(nil, nil, p); len(fs) > 0 {
		out = w.s.apply(nil, p, fs)
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
	return std.appendMask(nil, Finding{Kind: KindCard, Brand: b, Last4: string(digits[len(digits)-4:])})
}
