package scrub

// Brand is a card network, named as Stripe names it ("visa", "mastercard", …).
type Brand string

// The brands tokenwall recognises.
const (
	Visa       Brand = "visa"
	Mastercard Brand = "mastercard"
	Amex       Brand = "amex"
	Discover   Brand = "discover"
	JCB        Brand = "jcb"
	Diners     Brand = "diners"
	UnionPay   Brand = "unionpay"
	Maestro    Brand = "maestro"
)

// issuerRange is a range of leading digits (as a number of Digits digits) and the card
// lengths that issuer uses in that range.
type issuerRange struct {
	brand    Brand
	lo, hi   int // inclusive, on the first digits digits
	digits   int
	lengths  uint32 // bit n set: length n is issued
	cvcLen   int
	priority int // lower wins when ranges overlap
}

func lengths(ns ...int) uint32 {
	var m uint32
	for _, n := range ns {
		m |= 1 << n
	}
	return m
}

// issuers is the table of issuer ranges. Order within a priority does not matter; Maestro's
// broad ranges have the lowest priority so that a more specific network wins.
var issuers = []issuerRange{
	{brand: Visa, lo: 4, hi: 4, digits: 1, lengths: lengths(13, 16, 19), cvcLen: 3},
	{brand: Mastercard, lo: 51, hi: 55, digits: 2, lengths: lengths(16), cvcLen: 3},
	{brand: Mastercard, lo: 2221, hi: 2720, digits: 4, lengths: lengths(16), cvcLen: 3},
	{brand: Amex, lo: 34, hi: 34, digits: 2, lengths: lengths(15), cvcLen: 4},
	{brand: Amex, lo: 37, hi: 37, digits: 2, lengths: lengths(15), cvcLen: 4},
	{brand: Discover, lo: 6011, hi: 6011, digits: 4, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: Discover, lo: 644, hi: 649, digits: 3, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: Discover, lo: 65, hi: 65, digits: 2, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: JCB, lo: 3528, hi: 3589, digits: 4, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: Diners, lo: 300, hi: 305, digits: 3, lengths: lengths(14, 15, 16, 17, 18, 19), cvcLen: 3},
	{brand: Diners, lo: 3095, hi: 3095, digits: 4, lengths: lengths(14, 15, 16, 17, 18, 19), cvcLen: 3},
	{brand: Diners, lo: 36, hi: 36, digits: 2, lengths: lengths(14, 15, 16, 17, 18, 19), cvcLen: 3},
	{brand: Diners, lo: 38, hi: 39, digits: 2, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: UnionPay, lo: 62, hi: 62, digits: 2, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: UnionPay, lo: 81, hi: 81, digits: 2, lengths: lengths(16, 17, 18, 19), cvcLen: 3},
	{brand: Maestro, lo: 50, hi: 50, digits: 2, lengths: lengths(13, 14, 15, 16, 17, 18, 19), cvcLen: 3, priority: 1},
	{brand: Maestro, lo: 56, hi: 58, digits: 2, lengths: lengths(13, 14, 15, 16, 17, 18, 19), cvcLen: 3, priority: 1},
	{brand: Maestro, lo: 6304, hi: 6304, digits: 4, lengths: lengths(13, 14, 15, 16, 17, 18, 19), cvcLen: 3, priority: 1},
	{brand: Maestro, lo: 6759, hi: 6759, digits: 4, lengths: lengths(13, 14, 15, 16, 17, 18, 19), cvcLen: 3, priority: 1},
	{brand: Maestro, lo: 6761, hi: 6763, digits: 4, lengths: lengths(13, 14, 15, 16, 17, 18, 19), cvcLen: 3, priority: 1},
}

// prefixValue returns the first n digits of d as a number; d must hold only ASCII digits.
func prefixValue[T ~string | ~[]byte](d T, n int) int {
	v := 0
	for i := 0; i < n && i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

// lookup finds the issuer range of an all-digit number; length must match too.
func lookup[T ~string | ~[]byte](d T) (issuerRange, bool) {
	var best issuerRange
	found := false
	for _, r := range issuers {
		if len(d) < r.digits || r.lengths&(1<<len(d)) == 0 {
			continue
		}
		if v := prefixValue(d, r.digits); v < r.lo || v > r.hi {
			continue
		}
		if !found || r.priority < best.priority {
			best, found = r, true
		}
	}
	return best, found
}

// BrandOf returns the brand of an all-digit card number whose prefix and length match an
// issuer range. It does not check Luhn.
func BrandOf(digits string) (Brand, bool) {
	if !allDigits(digits) {
		return "", false
	}
	r, ok := lookup(digits)
	return r.brand, ok
}

// BrandPrefix returns the brand whose ranges cover the leading digits of number, whatever
// its length, so that a wrong length can be told apart from an unknown issuer.
func BrandPrefix(digits string) (Brand, bool) {
	for _, r := range issuers {
		if len(digits) < r.digits {
			continue
		}
		if v := prefixValue(digits, r.digits); v >= r.lo && v <= r.hi {
			return r.brand, true
		}
	}
	return "", false
}

// MinLength is the shortest card number length issued for brand (0 for an unknown brand).
func MinLength(b Brand) int {
	shortest := 0
	for _, r := range issuers {
		if r.brand != b {
			continue
		}
		for n := 12; n <= 19; n++ {
			if r.lengths&(1<<n) != 0 {
				if shortest == 0 || n < shortest {
					shortest = n
				}
				break
			}
		}
	}
	return shortest
}

// CVCLength is the length of the card verification code of brand: 4 for Amex, else 3.
func CVCLength(b Brand) int {
	if b == Amex {
		return 4
	}
	return 3
}

// Luhn reports whether an all-digit string passes the Luhn (mod 10) check.
func Luhn[T ~string | ~[]byte](d T) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// IsPAN reports whether an all-digit string is a card number: 13 to 19 digits, in an issuer
// range at a length that issuer uses, and Luhn-valid.
func IsPAN[T ~string | ~[]byte](d T) (Brand, bool) {
	if len(d) < 13 || len(d) > 19 {
		return "", false
	}
	r, ok := lookup(d)
	if !ok || !Luhn(d) {
		return "", false
	}
	return r.brand, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
