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
// Most anchors in a log line are of that kind, so this loop is kept small: it reads the flags
// of eight bytes at once (byteFlags) and drops a word's short digit runs in one step
// (shortRuns), before it looks at any anchor left one by one.
func (t *keyTable) nextStop(src []byte, i, next int, prefixed bool) int {
	n := len(src)
words:
	for w := i; w < n; w += 8 {
		// f0 holds the flags of src[w:w+8], f1 those of src[w+1:w+9] (see byteFlags), zero
		// past the end of src. m marks (bit 7 of each byte) the anchors among the first eight:
		// digits, ":" and "=", and the first bytes of the pairs that begin a prefixed secret.
		var f0, f1 uint64
		if w+9 <= n {
			f0 = flagsOf(src[w : w+8])
			f1 = f0>>8 | uint64(byteFlags[src[w+8]])<<56
		} else {
			f0 = flagsTail(src[w:])
			f1 = f0 >> 8
		}
		m := f0 & highs
		if prefixed {
			m |= pairStarts(f0, f1)
		}
		// Most digit runs are short and plainly nothing; those of this word are dropped at
		// once, away from the end of src, where the rule below stops at any run.
		if d := f0 << 1 & highs; d != 0 && w+16 <= n {
			m &^= shortRuns(d, f0<<8|flagsAt(src, w-1), f0, f1)
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

// Byte flags, one byte of flags for each byte of text, so that nextStop reads the flags of
// eight bytes of text as one word (flagsOf) and finds those it wants with a mask.
const (
	flagAnchor = 0x80 // a digit, ":" or "=": bit 7, where a mask of bytes keeps its mark
	flagDigit  = 0x40
	flagUpper  = 0x20
	flagSep    = 0x10 // " " to "-": all of the digit-group separators " ", "-", "+", "%" and more
	// The two bytes of each pair that begins a prefixed secret (see prefixStart) share a
	// bit; flagSecond marks the second bytes. No byte is both a first and a second one.
	flagPairKC = 0x08 // "k_", "c_"
	flagPairHV = 0x04 // "hv"
	flagPairBE = 0x02 // "be" in any case
	flagSecond = 0x01
	flagPairs  = flagPairKC | flagPairHV | flagPairBE
)

var byteFlags = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = flagAnchor | flagDigit
	}
	t[':'], t['='] = flagAnchor, flagAnchor
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = flagUpper
	}
	for c := ' '; c <= '-'; c++ {
		t[c] = flagSep
	}
	for _, c := range "kc" {
		t[c] |= flagPairKC
	}
	t['_'] |= flagPairKC | flagSecond
	t['h'] |= flagPairHV
	t['v'] |= flagPairHV | flagSecond
	for _, c := range "bB" {
		t[c] |= flagPairBE
	}
	for _, c := range "eE" {
		t[c] |= flagPairBE | flagSecond
	}
	return t
}()

// flagsAt returns the flags of src[k], zero before src.
func flagsAt(src []byte, k int) uint64 {
	if k < 0 {
		return 0
	}
	return uint64(byteFlags[src[k]])
}

// flagsTail returns the flags of b, eight bytes or fewer at the end of a text, zero-padded.
func flagsTail(b []byte) uint64 {
	var f uint64
	for k := min(len(b), 8) - 1; k >= 0; k-- {
		f = f<<8 | uint64(byteFlags[b[k]])
	}
	return f
}

// flagsOf returns the flags of the eight bytes of b, the first byte's in the low byte.
func flagsOf(b []byte) uint64 {
	b = b[:8]
	return uint64(byteFlags[b[0]]) | uint64(byteFlags[b[1]])<<8 | uint64(byteFlags[b[2]])<<16 | uint64(byteFlags[b[3]])<<24 |
		uint64(byteFlags[b[4]])<<32 | uint64(byteFlags[b[5]])<<40 | uint64(byteFlags[b[6]])<<48 | uint64(byteFlags[b[7]])<<56
}

// pairStarts marks (bit 7) the bytes of f0 that begin a prefixed secret: exactly those where
// prefixStart holds, f1 being the flags of the bytes after them.
func pairStarts(f0, f1 uint64) uint64 {
	// A byte of shared pair bits, at most 0x0E, plus 0x7E reaches bit 7 when it is not zero,
	// and never carries into the next byte. The second byte must be a second one, the first not.
	shared := f0&f1&(ones*flagPairs) + ones*0x7E
	return shared & (f1 &^ f0 & (ones * flagSecond) << 7)
}

// shortRuns returns the bits of d, the digits of src[w:w+8], that nextStop's rule for digit
// runs would pass over one run at a time (f0 and f1 are the flags of src[w:w+8] and
// src[w+1:w+9], before those of src[w-1:w+7]). They are the runs before the first one that
// needs that rule, all of them when none does. A run needs it when it may go on past the
// word, when a separator and a digit follow it (it may join the next group) or when an
// upper-case letter precedes it (an IBAN's country code). Every other run holds seven digits
// or fewer, stands alone and so is nothing.
func shortRuns(d, before, f0, f1 uint64) uint64 {
	if d == highs {
		return 0 // eight digits in a row: the rule stops at them
	}
	// Shifting flags up k bits brings the flag 0x80>>k to bit 7 of its own byte: f1<<1 marks
	// the bytes that a digit follows, f1<<3 those that a separator follows.
	starts := d &^ (d << 8) // the first digit of each run (bit 7 of byte 0 shifts out)
	last := d &^ (f1 << 1)  // the last digit of each run
	// The flags two bytes on; those of src[w+9], past the bytes f1 covers, are taken to be
	// every flag, so that a separator at src[w+8] always marks.
	f2 := f1>>8 | 0xFF<<56
	// Each run that needs the rule is marked at a byte of it: its start (after a capital),
	// its last digit (a separator and a digit next) or the last byte of the word (it goes on).
	marks := starts&(before<<2) | last&(f1<<3)&(f2<<1) | d&^last&(1<<63)
	if marks == 0 {
		return d
	}
	return d & (firstMarked(starts, marks) - 1)
}

// firstMarked returns the bit of the start of the first marked run: the last of starts at or
// before the lowest of marks.
func firstMarked(starts, marks uint64) uint64 {
	low := marks & -marks
	return 1 << (63 - bits.LeadingZeros64(starts&(low|(low-1))))
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
	// It is kept small enough for the compiler to inline it into its callers' loops.
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
