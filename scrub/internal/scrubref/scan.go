package scrubref

import "math/bits"

// scan is the main detector loop over digits (cards, track data, IBANs, SSNs, routing
// numbers) and key-value separators, without the prefixed secrets.
func (s *Scrubber) scan(dst []Finding, pre, src []byte) []Finding {
	return s.scanAll(dst, pre, src, nil)
}

// scanAll runs the detectors where nextStop finds work, and when hits is not nil looks for
// the prefixed secrets (Stripe keys, Vault tokens, bearer credentials) in the same pass.
func (s *Scrubber) scanAll(dst []Finding, pre, src []byte, hits *[]prefixHit) []Finding {
	var sc scanner // filled field by field: a literal would be built aside and copied
	sc.src, sc.hits, sc.run.at = src, hits, -1
	sc.cx.pre, sc.cx.src, sc.cx.keys = pre, src, s.keys
	var f Finding
	for s.scanNext(&sc, &f) {
		dst = append(dst, f)
	}
	return dst
}

// scanner is a scan of src in progress, which scanNext carries on from where it stopped.
type scanner struct {
	src  []byte
	hits *[]prefixHit
	i    int // where the scan goes on
	next int // the first byte not yet covered by a finding; detectors never start before it
	cx   cardScope
	run  runReader // the run of digit groups the last card finding ended in (digits)
}

// scanNext carries the scan on to its next finding and writes it to f, or returns false at
// the end of src. The caller keeps one Finding for all: a text with many findings (a run of
// chained card numbers) costs no list and no copy of each.
func (s *Scrubber) scanNext(sc *scanner, f *Finding) bool {
	// The position is kept in locals, not in sc, on this loop that every log line runs.
	src, hits, i, next := sc.src, sc.hits, sc.i, sc.next
	for i < len(src) {
		j := sc.run.at
		if j != i+1 {
			// Not the next group of a run a card ended in, one separator byte after it,
			// which is where nextStop would stop (or which it would pass over, a run too
			// short to hold anything that digits would find nothing in).
			if j = s.keys.nextStop(src, i, next, hits != nil); j >= len(src) {
				break
			}
		}
		ok, inRun := false, false
		end := j + 1
		switch classes[src[j]] {
		case clsDigit:
			if escapedSpace(src, j) {
				// "%20" then digits: the 2 and 0 are the escape's, not the number's
				// ("q=foo%204242%20…" holds a card starting after them).
				j += 2
			}
			sc.cx.next = next
			end, ok = s.digits(src, j, f, &sc.cx, &sc.run)
			if ok {
				// bareJSONValue wants a ":" before, spaces aside: most numbers have neither.
				p := f.Start - 1
				f.quote = p > 0 && (src[p] == ':' || src[p] == ' ') && bareJSONValue(src, f.Start, f.End)
				inRun = f.Kind == KindCard || f.Kind == KindSSN || f.Kind == KindRouting
			}
		case clsKV:
			*f, ok = s.keyValue(src, j, next)
		default:
			prefixedAt(src, prefixAnchor(src, j), hits)
		}
		if !ok {
			i = end
			continue
		}
		kept := f.Start >= next
		if kept {
			next = f.End
			end = max(end, f.End)
		}
		// The loop passes over what the finding covers: a prefixed secret there is still
		// looked for, as merge decides between overlapping findings. A finding inside a
		// digit run covers digits and separators only, where none begins.
		if hits != nil && !inRun {
			prefixesIn(src, j+1, end, hits)
		}
		if i = end; kept {
			sc.i, sc.next = i, next
			return true
		}
	}
	sc.i, sc.next = len(src), next
	return false
}

// prefixesIn looks for the prefixed secrets beginning in src[from:to], eight bytes at a time.
func prefixesIn(src []byte, from, to int, hits *[]prefixHit) {
	for w := from; w < to; w += 8 {
		x, y := words8(src, w)
		m := prefixStarts(x, y)
		if w+8 > to {
			m &= 1<<(8*(to-w)) - 1
		}
		for ; m != 0; m &= m - 1 {
			if p := w + bits.TrailingZeros64(m)>>3; prefixStart(src, p) {
				prefixedAt(src, prefixAnchor(src, p), hits)
			}
		}
	}
}

// escapedSpace reports whether the digits at src[j] are the "20" of a URL-escaped space with
// a digit after it: the run of digits that matters starts two bytes on.
func escapedSpace(src []byte, j int) bool {
	return j > 0 && src[j-1] == '%' && j+2 < len(src) && src[j] == '2' && src[j+1] == '0' && isDigit(src[j+2])
}
