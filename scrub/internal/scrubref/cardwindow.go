package scrubref

import "encoding/binary"

// cardAt tries the windows of whole groups starting at group a, longest first, for a card
// number; around a card of one group that begins the run (runStart) it looks for track
// data. It returns the last group of the card it found, or -1. A number that needs card
// context (UATP, 12-digit Maestro) is taken only when cx finds it; that look is made once
// per call.
func cardAt(src []byte, groups []group, a int, runStart bool, f *Finding, cx *cardScope) int {
	// A window whose first digit starts no issuer's range at its length (a millisecond
	// timestamp's 13 digits after a 1) is no card.
	issued := issuerLengths[src[groups[a].start]-'0']
	if issued == 0 || a == len(groups)-1 && issued&(1<<(groups[a].end-groups[a].start)) == 0 {
		return -1
	}
	// The longest window from a of at most maxGroups groups and 19 digits: groups a to b-1,
	// total digits, gathered in digits. Every shorter window's digits begin the same.
	var digits [19 + 8]byte
	b, total := a, 0
	for _, g := range groups[a:min(len(groups), a+maxGroups)] {
		if total+g.end-g.start > 19 {
			break
		}
		total += gather(&digits, total, src, g)
		b++
	}
	hasContext := 0 // 1: card context found, -1: none, 0: not looked for yet
	for b--; b >= a; b-- {
		k := total
		total -= groups[b].end - groups[b].start
		if issued&(1<<k) == 0 {
			continue
		}
		r, ok := cardRange(&digits, k)
		if !ok || nextToAlnum(src, groups[a]) && InHexToken(src, groups[a].start) ||
			nextToAlnum(src, groups[b]) && InHexToken(src, groups[b].start) {
			continue
		}
		if r.needsContext(k) {
			if hasContext == 0 {
				hasContext = -1
				if cx.hasCardContext(groups[a].start) {
					hasContext = 1
				}
			}
			if hasContext < 0 {
				continue
			}
		}
		// Field by field: a composite literal is built aside and copied.
		f.Kind, f.Start, f.End, f.Brand, f.Last4 = KindCard, groups[a].start, groups[b].end, r.brand, last4(digits[k-4:k])
		f.First6, f.quote = "", false
		if !cx.noFirst6 {
			f.First6 = string(digits[:6])
		}
		if runStart && b == a {
			*f = withTrack(src, *f)
		}
		return b
	}
	return -1
}

// gather copies the digits of g to d at k, where they fit (k+len(g) <= 19), and returns how
// many there are. A group of eight digits or fewer is copied with one load and one store
// where src has the bytes: the bytes past it are overwritten by the next group, or lie
// past the digits.
func gather(d *[19 + 8]byte, k int, src []byte, g group) int {
	if s, n := uint(g.start), uint(g.end-g.start); n <= 8 && s+8 <= uint(len(src)) && uint(k) <= 19 {
		binary.LittleEndian.PutUint64(d[k:k+8], binary.LittleEndian.Uint64(src[s:s+8]))
		return int(n)
	}
	return copy(d[k:], src[g.start:g.end])
}

// fourDigits holds "0000" to "9999" in order: a finding's Last4 is a slice of it, so that
// finding a card allocates nothing.
var fourDigits = func() string {
	b := make([]byte, 0, 4*10000)
	for v := range 10000 {
		b = append(b, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	return string(b)
}()

// last4 returns the four ASCII digits d as a string, without allocating.
func last4(d []byte) string {
	v := (int(d[0]-'0')*10+int(d[1]-'0'))*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	return fourDigits[4*v : 4*v+4]
}

// maxGroups bounds how many digit groups one card number may span (4-4-4-4-3 is 5).
const maxGroups = 5
