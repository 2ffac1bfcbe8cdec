package scrub

import (
	"bytes"
	"io"
	"sync"
)

// maxGroups bounds how many digit groups one candidate card number may span (4-4-4-4-3 is 5).
const maxGroups = 5

// Mask is the redaction of a card number: brand and last four, as "[card:visa:4242]".
func Mask(b Brand, digits []byte) []byte {
	out := make([]byte, 0, 24)
	out = append(out, "[card:"...)
	out = append(out, b...)
	out = append(out, ':')
	out = append(out, digits[len(digits)-4:]...)
	return append(out, ']')
}

// span is a run of bytes in the input that is a card number.
type span struct {
	start, end int
	brand      Brand
	digits     []byte
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// findPANs returns the card numbers in src, plain or grouped with single spaces or dashes.
func findPANs(src []byte) []span {
	var out []span
	i := 0
	for i < len(src) {
		if !isDigit(src[i]) {
			i++
			continue
		}
		// Collect the groups of a run: digits separated by one space or dash.
		type group struct{ start, end int }
		var buf [24]group
		groups := buf[:0] // on the stack unless a run has more than 24 groups
		j := i
		for {
			gs := j
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			groups = append(groups, group{gs, j})
			if j+1 < len(src) && (src[j] == ' ' || src[j] == '-') && isDigit(src[j+1]) {
				j++
				continue
			}
			break
		}
		runEnd, n := j, len(groups)
		// Try windows of whole groups, longest first from each starting group.
		var digits [19]byte
		for a := 0; a < n; a++ {
			if a > 0 && groups[a].start > 0 && !isGroupStart(src, groups[a].start) {
				continue
			}
			for b := min(n-1, a+maxGroups-1); b >= a; b-- {
				total := 0
				for g := a; g <= b; g++ {
					total += groups[g].end - groups[g].start
				}
				if total < 13 || total > 19 {
					continue
				}
				k := 0
				for g := a; g <= b; g++ {
					k += copy(digits[k:], src[groups[g].start:groups[g].end])
				}
				if brand, ok := IsPAN(digits[:k]); ok {
					out = append(out, span{start: groups[a].start, end: groups[b].end, brand: brand, digits: append([]byte(nil), digits[:k]...)})
					a = b
					break
				}
			}
		}
		i = runEnd
	}
	return out
}

func isGroupStart(src []byte, at int) bool { return at == 0 || !isDigit(src[at-1]) }

// ContainsPAN reports whether src holds a card number.
func ContainsPAN(src []byte) bool { return len(findPANs(src)) > 0 }

// Text returns src with every card number replaced by its mask. When src holds none, it
// returns src itself without copying.
func Text(src []byte) []byte {
	spans := findPANs(src)
	if len(spans) == 0 {
		return src
	}
	var buf bytes.Buffer
	buf.Grow(len(src))
	last := 0
	for _, s := range spans {
		buf.Write(src[last:s.start])
		buf.Write(Mask(s.brand, s.digits))
		last = s.end
	}
	buf.Write(src[last:])
	return buf.Bytes()
}

// Writer scrubs everything written through it before passing it on. It is the backstop under
// every logger: each Write is scrubbed as a whole, so callers should write whole lines (zerolog
// does). It is safe for concurrent use when the underlying writer is.
type Writer struct {
	mu  sync.Mutex
	dst io.Writer
}

// NewWriter returns a Writer that scrubs into dst.
func NewWriter(dst io.Writer) *Writer { return &Writer{dst: dst} }

// Write scrubs p and writes the result. It reports len(p) written on success, as callers of a
// transforming writer expect.
func (w *Writer) Write(p []byte) (int, error) {
	out := Text(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.dst.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
