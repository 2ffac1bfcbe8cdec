package scrubref

// Brand is a card network, named as Stripe names it ("visa", "mastercard", …); a network
// Stripe has no name for is named in the same style ("rupay", "china_t_union").
type Brand string

// The brands tokenwall recognises.
const (
	// Visa, with Visa Electron and the Dankort cards co-branded with Visa (4571).
	Visa Brand = "visa"
	// Mastercard, with the Diners Club cards of the United States and Canada (54, 55).
	Mastercard Brand = "mastercard"
	// Amex is American Express.
	Amex Brand = "amex"
	// Discover, with the RuPay and Troy cards co-branded on its 65 range.
	Discover Brand = "discover"
	// JCB, with the RuPay cards co-branded on its 353 and 356 ranges.
	JCB Brand = "jcb"
	// Diners is Diners Club International.
	Diners Brand = "diners"
	// UnionPay is China UnionPay.
	UnionPay Brand = "unionpay"
	// Maestro, with Maestro UK (6759, 676770, 676774).
	Maestro Brand = "maestro"
	// Mir is Russia's national card network (2200–2204).
	Mir Brand = "mir"
	// RuPay is India's national card network (60, 6521–6522, 82, 508).
	RuPay Brand = "rupay"
	// Troy is Turkey's national card network (9792).
	Troy Brand = "troy"
	// UATP is the airlines' Universal Air Travel Plan (1, 15 digits).
	UATP Brand = "uatp"
	// InterPayment (636).
	InterPayment Brand = "interpayment"
	// InstaPayment (637–639).
	InstaPayment Brand = "instapayment"
	// ChinaTUnion is China T-Union, the transit card network (31, 19 digits).
	ChinaTUnion Brand = "china_t_union"
	// Verve is Nigeria's card network (506099–506198, 507865–507964, 650002–650027).
	Verve Brand = "verve"
	// Dankort is Denmark's debit card network (5019).
	Dankort Brand = "dankort"
	// UkrCard is Ukraine's national card network (60400100–60420099).
	UkrCard Brand = "ukrcard"
	// Borica is Bulgaria's national card network (2205).
	Borica Brand = "borica"
	// NPSPridnestrovie is the Pridnestrovian national payment system (6054740–6054744).
	NPSPridnestrovie Brand = "nps_pridnestrovie"
	// LankaPay is Sri Lanka's national card network (357111).
	LankaPay Brand = "lankapay"
	// UzCard is Uzbekistan's national card network (8600, 5614).
	UzCard Brand = "uzcard"
	// Humo is Uzbekistan's second card network (9860).
	Humo Brand = "humo"
	// Napas is Vietnam's national card network (9704).
	Napas Brand = "napas"
	// AfriGo is Nigeria's national domestic card scheme (56445600, 18 digits).
	AfriGo Brand = "afrigo"
	// GPN is Indonesia's national payment gateway (1946, 61, 63, and 60 at 18 and 19 digits).
	GPN Brand = "gpn"
)

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
// its length, so that a wrong length can be told apart from an unknown issuer. Where ranges
// nest, the most specific one answers ("6011" is Discover's, "60" RuPay's).
func BrandPrefix(digits string) (Brand, bool) {
	if !allDigits(digits) {
		return "", false
	}
	r, ok := prefixRange(digits)
	return r.brand, ok
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

// IsPAN reports whether an all-digit string is a card number: 12 to 19 digits, in an issuer
// range at a length that issuer uses, and Luhn-valid. It does not ask for card context: a
// UATP number or a 12-digit Maestro number is a card number here, though the scanners take
// one only next to a card word or under a card key.
func IsPAN[T ~string | ~[]byte](d T) (Brand, bool) {
	r, ok := panRange(d)
	return r.brand, ok
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
