package scrub

import (
	"bytes"
	"encoding/binary"
	"slices"
)

// Byte classes of the detector's main loop: only these bytes can start a finding, and the
// loop skips every other byte with one table load.
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

// Find returns every finding in src, in order and not overlapping. It allocates only when
// it finds something.
func (s *Scrubber) Find(src []byte) []Finding { return s.appendFindings(nil, src) }

// Contains reports whether src holds anything sensitive.
func (s *Scrubber) Contains(src []byte) bool { return len(s.appendFindings(nil, src)) > 0 }

func (s *Scrubber) appendFindings(dst []Finding, src []byte) []Finding {
	// Secrets with a literal prefix are found by memchr-speed searches, so that the main loop
	// below need stop only at digits, ":" and "=".
	prefixed := prefixedSecrets(src)
	base := len(dst)
	dst = s.scan(dst, src)
	if len(prefixed) > 0 {
		dst = append(dst[:base], merge(dst[base:], prefixed)...)
	}
	return dst
}

// scan is the main detector loop over digits (cards, track data, IBANs, SSNs, routing
// numbers) and key-value separators.
func (s *Scrubber) scan(dst []Finding, src []byte) []Finding {
	n := len(src)
	// next is the first byte not yet covered by a finding; detectors never start before it.
	next := 0
	var f Finding
	for i := 0; i < n; {
		// The hot loop: most bytes are none of the anchors. Eight at a time while none is.
		for i+8 <= n && !anchorIn(binary.LittleEndian.Uint64(src[i:])) {
			i += 8
		}
		for i < n && classes[src[i]] == 0 {
			i++
		}
		if i >= n {
			break
		}
		ok := false
		end := i + 1
		switch classes[src[i]] {
		case clsDigit:
			end, ok = s.digits(src, i, &f)
			if ok {
				f.quote = bareJSONValue(src, f.Start, f.End)
			}
		case clsKV:
			if i > next && s.keys.mayMatch(src, next, i) {
				f, ok = s.keyValue(src, i, next)
			}
		}
		if ok && f.Start >= next {
			dst = append(dst, f)
			next = f.End
			end = max(end, f.End)
		}
		i = max(end, i+1)
	}
	return dst
}

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

type group struct{ start, end int }

// digits examines the run of digit groups starting at i: card numbers (with track data
// around them), IBANs, SSNs and routing numbers. It fills f when it finds one and returns
// where scanning resumes.
func (s *Scrubber) digits(src []byte, i int, f *Finding) (int, bool) {
	n := len(src)
	// Fast path: count the run's digits first. No card (13 digits), SSN or routing number
	// (9) fits in fewer than 9, and most digit runs in logs are short.
	j, total := i, 0
	for j < n {
		if c := src[j]; c >= '0' && c <= '9' {
			total++
			j++
			continue
		}
		if l := separatorAt(src, j); l > 0 && j+l < n && src[j+l] >= '0' && src[j+l] <= '9' {
			j += l
			continue
		}
		break
	}
	runEnd := j
	if i >= 2 && isUpper(src[i-1]) {
		if g, ok := iban(src, i); ok {
			*f = g
			return g.End, true
		}
	}
	if total < 9 {
		return runEnd, false
	}
	var buf [24]group
	groups := buf[:0]
	for j = i; j < runEnd; {
		gs := j
		for j < runEnd && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		groups = append(groups, group{gs, j})
		if j < runEnd {
			j += separatorAt(src, j)
		}
	}
	var g Finding
	var ok bool
	if g, ok = cardInGroups(src, groups); !ok {
		if g, ok = ssn(src, groups); !ok {
			g, ok = routing(src, groups)
		}
	}
	if ok {
		*f = g
		return g.End, true
	}
	return runEnd, false
}

// cardInGroups tries windows of whole groups, longest first from each starting group, for a
// card number; around one it looks for track data.
func cardInGroups(src []byte, groups []group) (Finding, bool) {
	var digits [19]byte
	for a := 0; a < len(groups); a++ {
		for b := min(len(groups)-1, a+maxGroups-1); b >= a; b-- {
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
			brand, ok := IsPAN(digits[:k])
			if !ok {
				continue
			}
			f := Finding{Kind: KindCard, Start: groups[a].start, End: groups[b].end, Brand: brand,
				First6: string(digits[:6]), Last4: string(digits[k-4 : k])}
			if a == 0 && b == 0 {
				f = withTrack(src, f)
			}
			return f, true
		}
	}
	return Finding{}, false
}

// maxGroups bounds how many digit groups one card number may span (4-4-4-4-3 is 5).
const maxGroups = 5

// withTrack widens a card finding to the whole magnetic-stripe track around it: track 1
// ("%B" PAN "^" NAME "^" YYMM … "?") or track 2 (";" PAN "=" YYMM … "?").
func withTrack(src []byte, f Finding) Finding {
	start, end := f.Start, f.End
	switch {
	case end < len(src) && src[end] == '^' && start >= 1 && src[start-1] == 'B':
		// Track 1: name between carets, then expiry and discretionary data.
		j := bytes.IndexByte(src[end+1:min(len(src), end+1+27)], '^')
		if j < 0 {
			return f
		}
		k := end + 1 + j + 1
		for k < len(src) && k < end+80 && src[k] != '?' && src[k] != '\n' && src[k] != '"' {
			k++
		}
		if k < len(src) && src[k] == '?' {
			k++
		}
		if start >= 2 && src[start-2] == '%' {
			start -= 2
		} else {
			start--
		}
		return Finding{Kind: KindTrack, Start: start, End: k, Brand: f.Brand, Last4: f.Last4}
	case end+5 < len(src) && src[end] == '=' && isDigitRun(src[end+1:end+5]):
		// Track 2: expiry and service code after "=".
		k := end + 1
		for k < len(src) && k < end+40 && src[k] >= '0' && src[k] <= '9' {
			k++
		}
		if k < len(src) && src[k] == '?' {
			k++
		}
		if start >= 1 && src[start-1] == ';' {
			start--
		}
		return Finding{Kind: KindTrack, Start: start, End: k, Brand: f.Brand, Last4: f.Last4}
	}
	return f
}

func isDigitRun(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// ssn finds a US social security number NNN-NN-NNNN: a run of exactly three groups joined
// by dashes, area not 000, 666 or 9xx, group not 00, serial not 0000.
func ssn(src []byte, groups []group) (Finding, bool) {
	if len(groups) != 3 {
		return Finding{}, false
	}
	g := groups
	if g[0].end-g[0].start != 3 || g[1].end-g[1].start != 2 || g[2].end-g[2].start != 4 ||
		src[g[0].end] != '-' || src[g[1].end] != '-' {
		return Finding{}, false
	}
	area, grp, serial := src[g[0].start:g[0].end], src[g[1].start:g[1].end], src[g[2].start:g[2].end]
	if string(area) == "000" || string(area) == "666" || area[0] == '9' || string(grp) == "00" || string(serial) == "0000" {
		return Finding{}, false
	}
	if g[0].start > 0 && isAlnum(src[g[0].start-1]) || g[2].end < len(src) && isAlnum(src[g[2].end]) {
		return Finding{}, false
	}
	return Finding{Kind: KindSSN, Start: g[0].start, End: g[2].end}, true
}

// routing finds a 9-digit ABA routing number with a valid checksum when a routing key is
// close before it ("routing", "aba", "rtn" within 40 bytes): nine digits alone are too common.
func routing(src []byte, groups []group) (Finding, bool) {
	if len(groups) != 1 || groups[0].end-groups[0].start != 9 {
		return Finding{}, false
	}
	d := src[groups[0].start:groups[0].end]
	sum := 0
	for k, w := range [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1} {
		sum += int(d[k]-'0') * w
	}
	if sum%10 != 0 || sum == 0 {
		return Finding{}, false
	}
	ctx := bytes.ToLower(src[max(0, groups[0].start-40):groups[0].start])
	if !bytes.Contains(ctx, []byte("routing")) && !bytes.Contains(ctx, []byte("aba")) && !bytes.Contains(ctx, []byte("rtn")) {
		return Finding{}, false
	}
	return Finding{Kind: KindRouting, Start: groups[0].start, End: groups[0].end}, true
}

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

// prefixedSecrets finds Stripe secrets, Vault tokens and bearer credentials by searching for
// their prefixes.
func prefixedSecrets(src []byte) []Finding {
	var out []Finding
	find := func(pat string, at int, detect func([]byte, int) (Finding, bool)) {
		for off := 0; ; {
			j := bytes.Index(src[off:], []byte(pat))
			if j < 0 {
				return
			}
			if f, ok := detect(src, off+j+at); ok {
				out = append(out, f)
			}
			off += j + 1
		}
	}
	find("k_live_", 1, stripeSecret)
	find("k_test_", 1, stripeSecret)
	find("whsec_", 5, stripeSecret)
	find("hvs.", 3, vaultToken)
	find("hvb.", 3, vaultToken)
	find("hvr.", 3, vaultToken)
	find("earer ", 5, bearer)
	find("EARER ", 5, bearer)
	return out
}

// merge combines two lists of findings into one in order, dropping any that overlaps an
// earlier one.
func merge(a, b []Finding) []Finding {
	all := append(append(make([]Finding, 0, len(a)+len(b)), a...), b...)
	slices.SortFunc(all, func(x, y Finding) int { return x.Start - y.Start })
	out := all[:0]
	end := 0
	for _, f := range all {
		if f.Start >= end {
			out = append(out, f)
			end = f.End
		}
	}
	return out
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// anchorIn reports whether any of the eight bytes in x may be an anchor of the main loop: a
// digit or ":" (0x30–0x3A, one range) or "=". Bytes at or above 0x80 (UTF-8) count as
// anchors too, which only costs a byte-wise look; false positives are fine, misses are not.
func anchorIn(x uint64) bool {
	// Bytes in (0x2F, 0x3B): the "hasbetween" bit trick for 7-bit bytes.
	const m, n = 0x2F, 0x3B
	low := x &^ highs
	between := (ones*(127+n) - low) &^ x & (low + ones*(127-m)) & highs
	eq := x ^ (ones * '=')
	zero := (eq - ones) &^ eq & highs
	return between|zero|(x&highs) != 0
}
