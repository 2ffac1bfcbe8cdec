package gateway

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
)

// Card is raw card data on its way to the gateway. It lives only for the duration of one
// request; its String and log forms show brand and last four only.
type Card struct {
	Number   string // digits only
	ExpMonth int
	ExpYear  int // four digits
	CVC      string
	Name     string
	Brand    scrub.Brand
}

// String masks the card.
func (c Card) String() string {
	last4 := ""
	if len(c.Number) >= 4 {
		last4 = c.Number[len(c.Number)-4:]
	}
	return fmt.Sprintf("card(%s ****%s)", c.Brand, last4)
}

// GoString masks %#v too.
func (c Card) GoString() string { return c.String() }

// Format masks every fmt verb (%d, %x, %+v, …), not only those that call String.
func (c Card) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// MarshalJSON writes the mask, so a Card logged through reflection (zerolog's Interface or
// Any) or encoded by mistake never shows the number or the CVC.
func (c Card) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// MarshalZerologObject logs brand and last four only.
func (c Card) MarshalZerologObject(e *zerolog.Event) { e.Str("card", c.String()) }

// Card error codes, as Stripe names them, which the billing app receives.
const (
	CodeIncompleteNumber = "incomplete_number"
	CodeInvalidNumber    = "invalid_number"
	CodeIncompleteExpiry = "incomplete_expiry"
	CodeInvalidExpiry    = "invalid_expiry"
	CodeExpiredCard      = "expired_card"
	CodeIncompleteCVC    = "incomplete_cvc"
	CodeInvalidCVC       = "invalid_cvc"
)

// CardError is a card that tokenwall refused before asking the gateway.
type CardError struct {
	Code   string
	Reason string // for logs; never holds card data
}

func (e *CardError) Error() string { return "card: " + e.Code + ": " + e.Reason }

func cardErr(code, reason string) *CardError { return &CardError{Code: code, Reason: reason} }

// CardInput is the card as posted: text fields, expiry either as month and year or as one
// "MM/YY" field.
type CardInput struct {
	Number, ExpMonth, ExpYear, Exp, CVC, Name string
}

// ParseCard validates in and returns the card. The checks are tokenwall's own (stripe-mock
// validates nothing): digits only after removing spaces and dashes, an issuer range of any
// network scrub knows (Visa to Mir, RuPay, Troy, UATP, 12-digit Maestro: scrub's table of
// the IIN registry) and a length that network issues, Luhn, an expiry month 1–12 not in the
// past (a card is valid to the end of its month), and a CVC of the brand's length. The brand
// is reported; whether the gateway accepts the network is the gateway's to say. A number
// typed into a card field needs no more context than the field: UATP and 12-digit Maestro
// numbers are accepted here as they are under a card key in a log.
func ParseCard(in CardInput, now time.Time) (Card, error) {
	var c Card
	num := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(in.Number))
	switch {
	case num == "":
		return c, cardErr(CodeIncompleteNumber, "number missing")
	case !digitsOnly(num):
		return c, cardErr(CodeInvalidNumber, "number has characters other than digits")
	case len(num) < 12:
		return c, cardErr(CodeIncompleteNumber, "number too short")
	case len(num) > 19:
		return c, cardErr(CodeInvalidNumber, "number too long")
	}
	prefixBrand, known := scrub.BrandPrefix(num)
	if !known {
		return c, cardErr(CodeInvalidNumber, "unknown issuer")
	}
	brand, ok := scrub.BrandOf(num)
	switch {
	case !ok && len(num) < scrub.MinLength(prefixBrand):
		return c, cardErr(CodeIncompleteNumber, "shorter than the brand's numbers")
	case !ok:
		return c, cardErr(CodeInvalidNumber, "length not issued in this range")
	}
	if !scrub.Luhn(num) {
		return c, cardErr(CodeInvalidNumber, "luhn check failed")
	}
	c.Number, c.Brand = num, brand

	month, year, err := parseExpiry(in)
	if err != nil {
		return c, err
	}
	if y, m, _ := now.UTC().Date(); year < y || (year == y && month < int(m)) {
		return c, cardErr(CodeExpiredCard, "expiry in the past")
	}
	if year > now.UTC().Year()+50 {
		return c, cardErr(CodeInvalidExpiry, "expiry year too far ahead")
	}
	c.ExpMonth, c.ExpYear = month, year

	cvc := strings.TrimSpace(in.CVC)
	switch {
	case cvc == "":
		return c, cardErr(CodeIncompleteCVC, "cvc missing")
	case !digitsOnly(cvc):
		return c, cardErr(CodeInvalidCVC, "cvc has characters other than digits")
	case len(cvc) != scrub.CVCLength(brand):
		return c, cardErr(CodeInvalidCVC, fmt.Sprintf("cvc length %d, brand %s wants %d", len(cvc), brand, scrub.CVCLength(brand)))
	}
	c.CVC = cvc
	c.Name = strings.TrimSpace(in.Name)
	return c, nil
}

// parseExpiry reads "MM/YY", "MM/YYYY" or separate month and year fields.
func parseExpiry(in CardInput) (month, year int, err error) {
	ms, ys := strings.TrimSpace(in.ExpMonth), strings.TrimSpace(in.ExpYear)
	if exp := strings.TrimSpace(in.Exp); exp != "" || (ms == "" && ys == "") {
		if exp == "" {
			return 0, 0, cardErr(CodeIncompleteExpiry, "expiry missing")
		}
		var ok bool
		ms, ys, ok = strings.Cut(strings.ReplaceAll(exp, " ", ""), "/")
		if !ok {
			return 0, 0, cardErr(CodeInvalidExpiry, "expiry not MM/YY")
		}
	}
	if ms == "" || ys == "" {
		return 0, 0, cardErr(CodeIncompleteExpiry, "expiry month or year missing")
	}
	m, err1 := strconv.Atoi(ms)
	y, err2 := strconv.Atoi(ys)
	if err1 != nil || err2 != nil || !digitsOnly(ms) || !digitsOnly(ys) || len(ms) > 2 || (len(ys) != 2 && len(ys) != 4) {
		return 0, 0, cardErr(CodeInvalidExpiry, "expiry not numeric MM and YY or YYYY")
	}
	if m < 1 || m > 12 {
		return 0, 0, cardErr(CodeInvalidExpiry, "expiry month not 1-12")
	}
	if len(ys) == 2 {
		y += 2000
	}
	return m, y, nil
}

func digitsOnly(s string) bool {
	return s != "" && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0
}
