package scrubref

import (
	"bytes"
	"unicode/utf8"
)

// The detectors that start at a digit: card numbers with track data around them, SSNs and
// routing numbers (IBANs, which start at their check digits, are in shapes.go).

// digits examines the run of digit groups starting at i: card numbers (with track data
// around them), IBANs, SSNs and routing numbers. It fills f when it finds one and returns
// where scanning resumes.
//
// The run is read group by group, only as far as the windows starting at the current group
// need (a card spans at most maxGroups groups and 19 digits), and a group is read once. A
// finding ends the call at the finding, so the rest of a run of chained card numbers
// ("4242-4242-…") is read by the next calls, each from where the last one stopped: the work
// stays linear in the input, whatever the run's length. r is the scan's reader: after a card
// it holds the groups read past the card (runReader.carry), and a call at the next group
// takes them up instead of reading them again.
//
// cx is what the card-context rule may read before a number (cardcontext.go).
func (s *Scrubber) digits(src []byte, i int, f *Finding, cx *cardScope, r *runReader) (int, bool) {
	from := r.j // the bytes read before this call were counted by the call that read them
	if r.at != i {
		r.reset(i)
		from = i
		if i >= 2 && isUpper(src[i-1]) {
			if g, ok := iban(src, i); ok {
				*f = g
				return g.End, true
			}
		}
	}
	r.at = -1
	// SSNs and routing numbers are whole runs of three groups and of one: the first fill,
	// of maxGroups groups, tells.
	for a := 0; ; a++ {
		if a > len(r.g)-maxGroups-1 {
			// Keep the window small: the groups before a are never looked at again.
			r.n = copy(r.g[:], r.g[a:r.n])
			a = 0
		}
		r.fill(src, a+maxGroups)
		if a >= r.n {
			break
		}
		// The groups read but no longer in the window (count-n) tell whether a begins the run.
		if b := cardAt(src, r.g[:r.n], a, a+r.count-r.n == 0, f, cx); b >= 0 {
			s.countWork(r.j - from)
			r.carry(b, f.End)
			return f.End, true
		}
		// An SSN inside a longer run ("order 7 123-45-6789"): three dash-joined groups the run's
		// other groups do not join by a dash. Found here, it is found whatever came before it
		// on the line, so a second pass over redacted text finds nothing new.
		if a+2 < r.n && ssn(src, r.g[a:a+3], f) && !dashBefore(src, r.g[a].start) && !dashAfter(src, r.g[a+2].end) {
			s.countWork(r.j - from)
			return f.End, true
		}
	}
	if r.count <= 3 && routing(src, r.g[:r.n], f) {
		s.countWork(r.j - from)
		return f.End, true
	}
	end := r.end(src)
	s.countWork(r.j - from)
	return end, false
}

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

// dashBefore and dashAfter report whether a dash joins the group starting (ending) at i to
// another group.
func dashBefore(src []byte, i int) bool { return i >= 2 && src[i-1] == '-' && isDigit(src[i-2]) }

func dashAfter(src []byte, i int) bool { return i+1 < len(src) && src[i] == '-' && isDigit(src[i+1]) }

// ssn finds a US social security number NNN-NN-NNNN: a run of exactly three groups joined
// by dashes, area not 000, 666 or 9xx, group not 00, serial not 0000.
func ssn(src []byte, groups []group, f *Finding) bool {
	if len(groups) != 3 {
		return false
	}
	g := groups
	if g[0].end-g[0].start != 3 || g[1].end-g[1].start != 2 || g[2].end-g[2].start != 4 ||
		src[g[0].end] != '-' || src[g[1].end] != '-' {
		return false
	}
	area, grp, serial := src[g[0].start:g[0].end], src[g[1].start:g[1].end], src[g[2].start:g[2].end]
	if string(area) == "000" || string(area) == "666" || area[0] == '9' || string(grp) == "00" || string(serial) == "0000" {
		return false
	}
	if g[0].start > 0 && isAlnum(src[g[0].start-1]) || g[2].end < len(src) && isAlnum(src[g[2].end]) {
		return false
	}
	*f = Finding{Kind: KindSSN, Start: g[0].start, End: g[2].end}
	return true
}

// routing finds a 9-digit ABA routing number with a valid checksum when a routing key is
// close before it ("routing", "aba", "rtn" within 40 bytes): nine digits alone are too common.
func routing(src []byte, groups []group, f *Finding) bool {
	// Nine digits inside a hex string (a hash) are not a routing number, whatever key-like
	// letters ("aba") the hex around them happens to spell.
	if len(groups) != 1 || groups[0].end-groups[0].start != 9 || InHexToken(src, groups[0].start) {
		return false
	}
	d := src[groups[0].start:groups[0].end]
	sum := 0
	for k, w := range [9]int{3, 7, 1, 3, 7, 1, 3, 7, 1} {
		sum += int(d[k]-'0') * w
	}
	if sum%10 != 0 || sum == 0 {
		return false
	}
	if !routingKeyIn(src[max(0, groups[0].start-40):groups[0].start]) {
		return false
	}
	*f = Finding{Kind: KindRouting, Start: groups[0].start, End: groups[0].end}
	return true
}

// routingKeyIn reports whether ctx holds "routing", "aba" or "rtn" in any case, as
// bytes.Contains(bytes.ToLower(ctx), key) does, without allocating: one in ten 9-digit
// numbers has a valid checksum, so this runs on clean lines. ToLower maps only ASCII
// letters and "İ" (U+0130, to "i") to the ASCII letters of the keys; every other byte
// becomes a 0, which no key holds.
func routingKeyIn(ctx []byte) bool {
	var lower [40]byte
	k := 0
	for i := 0; i < len(ctx) && k < len(lower); i++ {
		c := ctx[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c < utf8.RuneSelf:
		case c == 0xC4 && i+1 < len(ctx) && ctx[i+1] == 0xB0:
			c = 'i'
			i++
		default:
			c = 0
		}
		lower[k] = c
		k++
	}
	l := lower[:k]
	return bytes.Contains(l, []byte("routing")) || bytes.Contains(l, []byte("aba")) || bytes.Contains(l, []byte("rtn"))
}

// hexReach bounds InHexToken's look at the token around a digit group.
const hexReach = 256

// nextToAlnum reports whether a letter or digit is next to the group g. When none is, g is a
// token of digits alone, which InHexToken would not call hex: that common case reads two
// bytes, inline.
func nextToAlnum(src []byte, g group) bool {
	return g.start > 0 && alnum[src[g.start-1]] || g.end < len(src) && alnum[src[g.end]]
}

// alnum marks the ASCII letters and digits (isAlnum as a table).
var alnum = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isAlnum(byte(c))
	}
	return t
}()

func isHexLetter(c byte) bool { return c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// InHexToken reports whether the digit group at i lies in a hex string: its run of letters
// and digits holds only hex digits, at least two of them letters (after an optional "0x" or
// "x" prefix, as in "\x…" database dumps). Hashes, UUIDs and request ids are hex; a card
// number glued to other letters ("card4242…") is not.
func InHexToken(src []byte, i int) bool {
	// Looked at up to hexReach bytes on each side: a hash or an id is shorter, and a run of
	// letters and digits of any length must not cost its length for each card in it.
	l, r := i, i
	for l > 0 && i-l < hexReach && isAlnum(src[l-1]) {
		l--
	}
	for r < len(src) && r-i < hexReach && isAlnum(src[r]) {
		r++
	}
	switch {
	case l > 0 && src[l-1] == '%' && r-l >= 2:
		l += 2 // the two hex digits of a %XX escape are not part of the token
	case r-l >= 2 && src[l] == '0' && (src[l+1] == 'x' || src[l+1] == 'X'):
		l += 2
	case src[l] == 'x' || src[l] == 'X':
		l++
	}
	letters := 0
	for _, c := range src[l:r] {
		switch {
		case isHexLetter(c):
			letters++
		case c < '0' || c > '9':
			return false
		}
	}
	// Two letters at least: one could be a track-1 "B" or an escape's last digit.
	return letters >= 2
}
