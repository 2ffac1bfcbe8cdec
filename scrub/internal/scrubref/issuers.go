package scrubref

import "encoding/binary"

// The issuer ranges: which leading digits each card network issues, at which lengths. The
// networks are those of the IIN table of the encyclopedia article "Payment card number" (a
// summary of ISO/IEC 7812 registrations), compiled with the lengths each one issues in
// testdata/iin.csv, which the tests check this table against.

// issuerRange is a range of leading digits (as a number of digits digits) and the card
// lengths that issuer uses in that range.
type issuerRange struct {
	brand   Brand
	lo, hi  int // inclusive, on the first digits digits
	digits  int
	lengths uint32 // bit n set: length n is issued
	// context marks the lengths that count only next to a card word or under a card key
	// (cardcontext.go): numbers of that shape are too common to be taken alone.
	context uint32
	// lo8 and hi8 are lo and hi as eight-digit prefixes (lo followed by zeros, hi by nines),
	// filled in issuerIndex: a number of eight digits or more is matched with one prefix.
	lo8, hi8 int
}

func lengths(ns ...int) uint32 {
	var m uint32
	for _, n := range ns {
		m |= 1 << n
	}
	return m
}

// Lengths used by several networks, as lengths would write them.
const (
	len16     uint32 = 1 << 16
	lenGPN           = len16 | 1<<18 | 1<<19 // 16, 18, 19
	len16to19        = lenGPN | 1<<17
	len14to19        = len16to19 | 1<<14 | 1<<15
	len12to19        = len14to19 | 1<<12 | 1<<13
)

// issuers is the table of issuer ranges. Where ranges overlap, the most specific one (the
// most leading digits) that issues the number's length wins: RuPay's 6521–6522 over
// Discover's 65, Discover's 6011 over RuPay's 60, Dankort's 5019 over Maestro's 50, while a
// 17-digit number in 6521 is Discover's, since RuPay issues 16 digits only. Where the table
// gives one range to two networks (co-branded cards: RuPay on Discover's 65 and JCB's 353
// and 356, Troy on 65, GPN on 50, 56, 58, 60 and 62, RuPay on UnionPay's 81, UnionPay's
// 622126–622925 on Discover's network, Visa Electron and Dankort's 4571 on Visa), the range
// is listed once, under the brand tokenwall reported for it before when it did (testdata's
// brand column says which), and never under two brands at the same specificity
// (TestIssuerOverlapsResolved).
//
// Every number starting with 1 (UATP, GPN's 1946) and every 12-digit Maestro number needs
// card context: a 15-digit id, a timestamp in microseconds or a tweet id is one of those
// shapes far more often than a card number is.
var issuers = []issuerRange{
	{brand: Visa, lo: 4, hi: 4, digits: 1, lengths: lengths(13, 16, 19)},
	{brand: Mastercard, lo: 51, hi: 55, digits: 2, lengths: len16},
	{brand: Mastercard, lo: 2221, hi: 2720, digits: 4, lengths: len16},
	{brand: Amex, lo: 34, hi: 34, digits: 2, lengths: lengths(15)},
	{brand: Amex, lo: 37, hi: 37, digits: 2, lengths: lengths(15)},
	{brand: Discover, lo: 6011, hi: 6011, digits: 4, lengths: len16to19},
	{brand: Discover, lo: 644, hi: 649, digits: 3, lengths: len16to19},
	{brand: Discover, lo: 65, hi: 65, digits: 2, lengths: len16to19},
	{brand: JCB, lo: 3528, hi: 3589, digits: 4, lengths: len16to19},
	{brand: Diners, lo: 300, hi: 305, digits: 3, lengths: len14to19},
	{brand: Diners, lo: 3095, hi: 3095, digits: 4, lengths: len14to19},
	{brand: Diners, lo: 36, hi: 36, digits: 2, lengths: len14to19},
	{brand: Diners, lo: 38, hi: 39, digits: 2, lengths: len16to19},
	{brand: UnionPay, lo: 62, hi: 62, digits: 2, lengths: len16to19},
	{brand: UnionPay, lo: 81, hi: 81, digits: 2, lengths: len16to19},
	{brand: Maestro, lo: 50, hi: 50, digits: 2, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 56, hi: 58, digits: 2, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 5893, hi: 5893, digits: 4, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 6304, hi: 6304, digits: 4, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 6759, hi: 6759, digits: 4, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 6761, hi: 6763, digits: 4, lengths: len12to19, context: lengths(12)},
	{brand: Maestro, lo: 676770, hi: 676770, digits: 6, lengths: len12to19, context: lengths(12)}, // Maestro UK
	{brand: Maestro, lo: 676774, hi: 676774, digits: 6, lengths: len12to19, context: lengths(12)}, // Maestro UK
	{brand: Mir, lo: 2200, hi: 2204, digits: 4, lengths: len16to19},
	{brand: Borica, lo: 2205, hi: 2205, digits: 4, lengths: len16to19},
	{brand: RuPay, lo: 60, hi: 60, digits: 2, lengths: len16},
	{brand: RuPay, lo: 6521, hi: 6522, digits: 4, lengths: len16},
	{brand: RuPay, lo: 82, hi: 82, digits: 2, lengths: len16},
	{brand: RuPay, lo: 508, hi: 508, digits: 3, lengths: len16},
	{brand: Troy, lo: 9792, hi: 9792, digits: 4, lengths: len16},
	{brand: UATP, lo: 1, hi: 1, digits: 1, lengths: lengths(15), context: lengths(15)},
	{brand: InterPayment, lo: 636, hi: 636, digits: 3, lengths: len16to19},
	{brand: InstaPayment, lo: 637, hi: 639, digits: 3, lengths: len16},
	{brand: ChinaTUnion, lo: 31, hi: 31, digits: 2, lengths: lengths(19)},
	{brand: Verve, lo: 506099, hi: 506198, digits: 6, lengths: lenGPN},
	{brand: Verve, lo: 507865, hi: 507964, digits: 6, lengths: lenGPN},
	{brand: Verve, lo: 650002, hi: 650027, digits: 6, lengths: lenGPN},
	{brand: Dankort, lo: 5019, hi: 5019, digits: 4, lengths: len16},
	{brand: UkrCard, lo: 60400100, hi: 60420099, digits: 8, lengths: len16to19},
	{brand: NPSPridnestrovie, lo: 6054740, hi: 6054744, digits: 7, lengths: len16},
	{brand: LankaPay, lo: 357111, hi: 357111, digits: 6, lengths: len16},
	{brand: UzCard, lo: 8600, hi: 8600, digits: 4, lengths: len16},
	{brand: UzCard, lo: 5614, hi: 5614, digits: 4, lengths: len16},
	{brand: Humo, lo: 9860, hi: 9860, digits: 4, lengths: len16},
	{brand: Napas, lo: 9704, hi: 9704, digits: 4, lengths: lengths(16, 19)},
	{brand: AfriGo, lo: 56445600, hi: 56445600, digits: 8, lengths: lengths(18)},
	{brand: GPN, lo: 1946, hi: 1946, digits: 4, lengths: lenGPN, context: lenGPN},
	{brand: GPN, lo: 60, hi: 60, digits: 2, lengths: lengths(18, 19)}, // RuPay's at 16 digits
	{brand: GPN, lo: 61, hi: 61, digits: 2, lengths: lenGPN},
	{brand: GPN, lo: 63, hi: 63, digits: 2, lengths: lenGPN},
}

// issuerIndex holds the ranges of issuers by the first digit of their numbers, so that a
// lookup reads only the few that can match. It is built once and never changed.
var issuerIndex = func() (t [10][]issuerRange) {
	for _, r := range issuers {
		scale := 1
		for range 8 - r.digits {
			scale *= 10
		}
		r.lo8, r.hi8 = r.lo*scale, (r.hi+1)*scale-1
		lo, hi := firstDigits(r)
		for d := lo; d <= hi; d++ {
			t[d] = append(t[d], r)
		}
	}
	return t
}()

// issuerLengths marks, for each first digit, the lengths some range starting with it issues:
// a window of another length (a 13-digit millisecond timestamp's 1) is no card, without a
// lookup.
var issuerLengths = func() (t [10]uint32) {
	for _, r := range issuers {
		lo, hi := firstDigits(r)
		for d := lo; d <= hi; d++ {
			t[d] |= r.lengths
		}
	}
	return t
}()

// firstDigits returns the first digits of the numbers in r: lo to hi.
func firstDigits(r issuerRange) (lo, hi int) {
	scale := 1
	for range r.digits - 1 {
		scale *= 10
	}
	return r.lo / scale, r.hi / scale
}

// prefixValue returns the first n digits of d as a number; d must hold only ASCII digits.
func prefixValue[T ~string | ~[]byte](d T, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// lookup finds the issuer range of an all-digit number: the most specific range whose
// prefix matches and which issues the number's length.
func lookup[T ~string | ~[]byte](d T) (issuerRange, bool) {
	var best issuerRange
	found := false
	if len(d) == 0 || d[0]-'0' > 9 {
		return best, false
	}
	for _, r := range issuerIndex[d[0]-'0'] {
		if len(d) < r.digits || r.lengths&(1<<len(d)) == 0 {
			continue
		}
		if v := prefixValue(d, r.digits); v < r.lo || v > r.hi {
			continue
		}
		if !found || r.digits > best.digits {
			best, found = r, true
		}
	}
	return best, found
}

// prefixRange finds the most specific range whose prefix the leading digits of d match,
// whatever the length of d.
func prefixRange(d string) (issuerRange, bool) {
	var best issuerRange
	found := false
	if d == "" || d[0]-'0' > 9 {
		return best, false
	}
	for _, r := range issuerIndex[d[0]-'0'] {
		if len(d) < r.digits {
			continue
		}
		if v := prefixValue(d, r.digits); v >= r.lo && v <= r.hi && (!found || r.digits > best.digits) {
			best, found = r, true
		}
	}
	return best, found
}

// panRange returns the issuer range of d when d is a card number (IsPAN), so that a scanner
// can tell whether it needs card context.
func panRange[T ~string | ~[]byte](d T) (issuerRange, bool) {
	if len(d) < 12 || len(d) > 19 {
		return issuerRange{}, false
	}
	r, ok := lookup(d)
	if !ok || !Luhn(d) {
		return issuerRange{}, false
	}
	return r, true
}

// cardRange is panRange for the n digits (12 to 19) that a scanner has gathered at the start
// of d, read eight at a time. It returns the range in issuerIndex, not a copy.
func cardRange(d *[19 + 8]byte, n int) (*issuerRange, bool) {
	if n < 12 || n > 19 {
		return nil, false
	}
	// The digits' values, a byte each. A borrow from the bytes past the digits runs up, away
	// from them, and the mask drops them.
	v0 := binary.LittleEndian.Uint64(d[0:8]) - ones*'0'
	r := issuerAt(int(d[0]-'0'), digitsValue(v0), n)
	if r == nil {
		return nil, false
	}
	dbl := uint64(0x00FF00FF00FF00FF) // the Luhn check doubles the digits at even places...
	if n%2 == 1 {
		dbl = ^dbl // ...from the left when n is even, else at odd places
	}
	sum := luhnSum(v0, dbl) + luhnSum((binary.LittleEndian.Uint64(d[8:16])-ones*'0')&lowBytes(n-8), dbl)
	if n > 16 {
		sum += luhnSum((binary.LittleEndian.Uint64(d[16:24])-ones*'0')&lowBytes(n-16), dbl)
	}
	if sum%10 != 0 {
		return nil, false
	}
	return r, true
}

// luhnSum is the Luhn sum of the digit values in the bytes of v, those in the bytes of dbl
// doubled: each value once, the doubled ones once more, less 9 for each that is 5 or more
// (2d-9 when 2d > 9). The sum of a word's bytes, each small, is the top byte of its product
// with 0x0101…01.
func luhnSum(v, dbl uint64) int {
	x := v & dbl
	big := (x + ones*0x7B) & highs >> 7 // 1 in each byte of x that is 5 or more
	return int((v+x)*ones>>56) - 9*int(big*ones>>56)
}

// lowBytes returns a mask of the c low bytes of a word (all for c >= 8, none for c <= 0).
func lowBytes(c int) uint64 {
	switch {
	case c <= 0:
		return 0
	case c >= 8:
		return ^uint64(0)
	}
	return 1<<(8*c) - 1
}

// issuerAt returns the most specific range in issuerIndex that holds a number of n digits
// whose first eight are v8 (the first, first), as lookup finds it, or nil. The first digit is
// given apart, so that the ranges are read while v8 is computed.
func issuerAt(first, v8, n int) *issuerRange {
	idx := issuerIndex[first]
	var best *issuerRange
	for k := range idx {
		r := &idx[k]
		if r.lengths&(1<<n) != 0 && v8 >= r.lo8 && v8 <= r.hi8 && (best == nil || r.digits > best.digits) {
			best = r
		}
	}
	return best
}

// digitsValue returns the number that eight digits spell, x holding their values (0 to 9) as
// loaded little-endian, the first digit in the low byte: pairs, then fours, then the eight,
// in three multiplies.
func digitsValue(x uint64) int {
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
	x = (x*10000 + x>>32) & 0xFFFFFFFF
	return int(x)
}

// needsContext reports whether a card number of n digits in r counts only with card context.
func (r issuerRange) needsContext(n int) bool { return r.context&(1<<n) != 0 }
