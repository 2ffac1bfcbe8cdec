package scrub

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// Byte classes of the main loop: a digit starts the digit-run detectors, ":" and "=" the
// key-value one. (Prefixed secrets start at letters: see prefixStart.)
const (
	clsDigit = 1 + iota
	clsKV
)

var classes = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	t[':'] = clsKV
	t['='] = clsKV
	return t
}()

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Find returns every finding in src, in order and not overlapping. It allocates only when
// it finds something.
func (s *Scrubber) Find(src []byte) []Finding { return s.appendFindings(nil, nil, src) }

// Contains reports whether src holds anything sensitive.
func (s *Scrubber) Contains(src []byte) bool { return len(s.appendFindings(nil, nil, src)) > 0 }

// appendFindings appends the findings in src to dst. pre is the text just before src (a
// structured scrubber's output so far), read only by the card-context rule.
func (s *Scrubber) appendFindings(dst []Finding, pre, src []byte) []Finding {
	base := len(dst)
	var hits []prefixHit
	dst = s.scanAll(dst, pre, src, &hits)
	if len(hits) > 0 {
		merged, resume := merge(dst[base:], prefixOrder(hits))
		// Where a prefixed secret won an overlap, the scan had skipped past the finding it
		// lost; the text from the secret's end to the next kept finding is scanned again, so
		// that nothing after it (the rest of a digit run: a card) goes unseen.
		for _, at := range resume {
			limit := len(src)
			for _, f := range merged {
				if f.Start >= at {
					limit = f.Start
					break
				}
			}
			if at >= limit {
				continue
			}
			// The secret ends the context, as a finding does in scanAll.
			for _, f := range s.scan(nil, nil, src[at:limit]) {
				f.Start, f.End = f.Start+at, f.End+at
				merged = append(merged, f)
			}
			slices.SortFunc(merged, func(x, y Finding) int { return x.Start - y.Start })
		}
		dst = append(dst[:base], merged...)
	}
	return dst
}

// nextStop returns the first byte at or after i that needs a detector (len(src) when there
// is none): a digit or a ":" or "=", or, when prefixed is true, the first byte of the two
// that begin every prefixed secret ("k_", "c_", "hv", "be" in any case). It passes over
// the rest itself: the digit runs that are plainly nothing and the keys the filter rejects.
// Most anchors in a log line are of that kind, so this loop is kept small.
func (t *keyTable) nextStop(src []byte, i, next int, prefixed bool) int {
	n := len(src)
words:
	for w := i; w < n; w += 8 {
		// m marks (bit 7 of each byte) the anchors in src[w:w+8]: 0x30–0x3D, digits, ":"
		// and "=" in one range, with ";" and "<" which the class lookup drops, and the
		// starts of prefixed secrets, which may be false (prefixStart decides).
		x, y := words8(src, w)
		m := between(x, 0x2F, 0x3E)
		if prefixed {
			m |= prefixStarts(x, y)
		}
		if w+8 > n {
			m &= 1<<(8*(n-w)) - 1
		}
		for m != 0 {
			j := w + bits.TrailingZeros64(m)>>3
			m &= m - 1
			switch classes[src[j]] {
			case clsDigit:
				// Most digit runs in logs are plainly nothing: fewer than nine digits in
				// groups of fewer than eight (a date, a status, part of a hex id), not after
				// two capital letters (an IBAN's country code). They are passed over here,
				// eight bytes at a time; digits examines the rest.
				if j >= 2 && isUpper(src[j-1]) && isUpper(src[j-2]) {
					return j
				}
				e, total := j, 0
				for {
					if e+8 > n {
						return j
					}
					nd := ^between(binary.LittleEndian.Uint64(src[e:]), 0x2F, 0x3A) & highs
					if nd == 0 {
						return j
					}
					g := bits.TrailingZeros64(nd) >> 3
					if total += g; total >= 9 {
						return j
					}
					e += g
					if !mayJoin[src[e]] || !joinsDigits(src, e) {
						break
					}
					e += separatorAt(src, e)
				}
				if e >= w+8 {
					w = e - 8
					continue words
				}
				m &= ^uint64(0) << (8 * (e - w) & 63)
			case clsKV:
				if j <= next {
					break
				}
				// A JSON key ending in four lower-case letters or digits ("level", "time")
				// is tested here; mayMatch reads every other key.
				if k := j - 1; k-4 >= next && src[k] == '"' {
					r := uint64(bits.ReverseBytes32(binary.LittleEndian.Uint32(src[k-4:])))
					if between(r, 0x2F, 0x3A)|between(r, 0x60, 0x7B) == 0x80808080 {
						if t.pass4(uint32(r)) {
							return j
						}
						break
					}
				}
				if t.mayMatch(src, next, j) {
					return j
				}
			default:
				if prefixed && prefixStart(src, j) {
					return j
				}
			}
		}
	}
	return n
}

// words8 returns the eight bytes of src at w and the eight at w+1, zero-padded at the end.
func words8(src []byte, w int) (x, y uint64) {
	if w+9 <= len(src) {
		return binary.LittleEndian.Uint64(src[w:]), binary.LittleEndian.Uint64(src[w+1:])
	}
	x = tail(src[w:])
	return x, x >> 8
}

// prefixStarts marks the bytes of x (eight bytes of a text, y the eight after the first)
// that may begin a prefixed secret: "k_", "c_", "hv", or "be" in any case. It may mark more
// (upper-case letters, a byte next to a match), never fewer; prefixStart decides.
func prefixStarts(x, y uint64) uint64 {
	// Lower-cased, "_" as DEL. Each (t-ones)&^t marks the zero bytes of t, and may mark the
	// byte just above one (the borrow), never miss one; the "& highs" is done once.
	// It is kept small enough for the compiler to inline it into nextStop's loop.
	const lower, kc, under = ones * 0x20, ones * 0x08, ones * 0x7F
	x, y = x|lower, y|lower
	return (zeroPair(x|kc^ones*'k', y^under) | zeroPair(x^(ones*'h'), y^(ones*'v')) | zeroPair(x^(ones*'b'), y^(ones*'e'))) & highs
}

// zeroPair marks, before the "& highs", the bytes that are zero in both a and b (and maybe the
// byte above one: see prefixStarts).
func zeroPair(a, b uint64) uint64 { return (a - ones) &^ a & (b - ones) &^ b }

// prefixStart reports whether src[j:] begins with the two bytes that begin a prefixed
// secret: "k_" ("sk_live_", "twk_"), "c_" ("whsec_"), "hv" ("hvs.") or "be" in any case
// ("Bearer ").
func prefixStart(src []byte, j int) bool {
	if j+1 >= len(src) {
		return false
	}
	c, d := src[j], src[j+1]
	return c|0x08 == 'k' && d == '_' || c == 'h' && d == 'v' || c|0x20 == 'b' && d|0x20 == 'e'
}

// prefixAnchor returns the byte prefixedAt looks around for the prefixed secret beginning at
// j: the "_" or "v" after it, or the "b" itself.
func prefixAnchor(src []byte, j int) int {
	if src[j]|0x20 == 'b' {
		return j
	}
	return j + 1
}

// tail packs the last, short word of a text into a uint64, zero-padded.
func tail(b []byte) uint64 {
	var x uint64
	for k := len(b) - 1; k >= 0; k-- {
		x = x<<8 | uint64(b[k])
	}
	return x
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// between marks (bit 7) the bytes of x in the open range (lo, hi), both below 0x80; the
// "hasbetween" trick, exact for every byte.
func between(x uint64, lo, hi uint64) uint64 {
	low := x &^ highs
	return (ones*(127+hi) - low) &^ x & (low + ones*(127-lo)) & highs
}

// mayJoin marks the bytes that may start a digit-group separator.
var mayJoin = [256]bool{' ': true, '-': true, '+': true, '%': true}

// separatorAt returns the length of a digit-group separator at src[i] (" ", "-", "+" or an
// url-encoded space "%20"), or 0.
func separatorAt(src []byte, i int) int {
	switch src[i] {
	case ' ', '-', '+':
		return 1
	case '%':
		if i+2 < len(src) && src[i+1] == '2' && src[i+2] == '0' {
			return 3
		}
	}
	return 0
}

// joinsDigits reports whether a digit-group separator at src[i] has a digit after it, so that
// the groups on either side are read as one run. It is small enough for the compiler to
// inline it into nextStop's loop.
func joinsDigits(src []byte, i int) bool {
	l := separatorAt(src, i)
	return l > 0 && i+l < len(src) && isDigit(src[i+l])
}

type group struct{ start, end int }

// bareJSONValue reports whether src[start:end] is an unquoted JSON value: after `"key":` and
// before ",", "}" or "]". Its redaction is then written as a JSON string.
func bareJSONValue(src []byte, start, end int) bool {
	p := start - 1
	for p >= 0 && src[p] == ' ' {
		p--
	}
	if p < 1 || src[p] != ':' {
		return false
	}
	for p--; p >= 0 && src[p] == ' '; p-- {
	}
	if p < 0 || src[p] != '"' {
		return false
	}
	for end < len(src) && src[end] == ' ' {
		end++
	}
	return end == len(src) || src[end] == ',' || src[end] == '}' || src[end] == ']' || src[end] == '\n'
}

// The prefixes of secrets found by their shape, in the order merge is given their findings:
// where two findings start at the same byte, merge keeps the earlier one.
const (
	patLive  = iota // "k_live_": sk_live_, rk_live_
	patTest         // "k_test_"
	patWhsec        // "whsec_"
	patTwk          // "twk_": tokenwall API keys
	patHVS          // "hvs.", "hvb.", "hvr.": Vault service, batch and recovery tokens
	patHVB
	patHVR
	patBearer // "earer " after "b" or "B"
	patBEARER // "EARER " after "b" or "B"
)

// prefixHit is a secret found by its prefix, and which prefix.
type prefixHit struct {
	pat int
	f   Finding
}

// prefixedAt looks for a prefixed secret around the anchor byte at j ("_", "v", "b" or "B")
// and appends it to hits: the whole prefix is checked here, what follows by its detector.
func prefixedAt(src []byte, j int, hits *[]prefixHit) {
	var (
		f   Finding
		ok  bool
		pat int
	)
	switch src[j] {
	case '_':
		switch {
		case j >= 1 && src[j-1] == 'k' && j+6 <= len(src) && string(src[j+1:j+6]) == "live_":
			pat = patLive
		case j >= 1 && src[j-1] == 'k' && j+6 <= len(src) && string(src[j+1:j+6]) == "test_":
			pat = patTest
		case j >= 5 && string(src[j-5:j]) == "whsec":
			pat = patWhsec
		case j >= 3 && string(src[j-3:j]) == "twk":
			pat = patTwk
		default:
			return
		}
		f, ok = stripeSecret(src, j)
	case 'v':
		if j < 1 || src[j-1] != 'h' || j+2 >= len(src) || src[j+2] != '.' {
			return
		}
		switch src[j+1] {
		case 's':
			pat = patHVS
		case 'b':
			pat = patHVB
		case 'r':
			pat = patHVR
		default:
			return
		}
		f, ok = vaultToken(src, j+2)
	case 'b', 'B':
		if j+7 > len(src) {
			return
		}
		switch string(src[j+1 : j+7]) {
		case "earer ":
			pat = patBearer
		case "EARER ":
			pat = patBEARER
		default:
			return
		}
		f, ok = bearer(src, j+6)
	}
	if ok {
		*hits = append(*hits, prefixHit{pat: pat, f: f})
	}
}

// prefixedSecrets finds Stripe secrets, Vault tokens and bearer credentials by their
// prefixes, in the order appendFindings merges them.
func prefixedSecrets(src []byte) []Finding {
	var hits []prefixHit
	for w := 0; w < len(src); w += 8 {
		x, y := words8(src, w)
		for m := prefixStarts(x, y); m != 0; m &= m - 1 {
			if j := w + bits.TrailingZeros64(m)>>3; j < len(src) && prefixStart(src, j) {
				prefixedAt(src, prefixAnchor(src, j), &hits)
			}
		}
	}
	return prefixOrder(hits)
}

// prefixOrder returns the findings of hits by prefix, then in order, as merge must be given
// them: where two findings start at one byte, merge keeps the one given first.
func prefixOrder(hits []prefixHit) []Finding {
	if len(hits) == 0 {
		return nil
	}
	slices.SortStableFunc(hits, func(a, b prefixHit) int {
		if a.pat != b.pat {
			return a.pat - b.pat
		}
		return a.f.Start - b.f.Start
	})
	out := make([]Finding, len(hits))
	for k, h := range hits {
		out[k] = h.f
	}
	return out
}

// merge combines two lists of findings into one in order, dropping any that overlaps an
// earlier one.
func merge(a, b []Finding) (out []Finding, resume []int) {
	all := append(append(make([]Finding, 0, len(a)+len(b)), a...), b...)
	slices.SortFunc(all, func(x, y Finding) int { return x.Start - y.Start })
	out = all[:0]
	end := 0
	for _, f := range all {
		if f.Start >= end {
			out = append(out, f)
			end = f.End
		} else if len(resume) == 0 || resume[len(resume)-1] != end {
			resume = append(resume, end) // f lost to the finding ending at end
		}
	}
	return out, resume
}
