package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
)

// parseNow is the fixed clock of the expiry cases: 28 November 2026.
var parseNow = time.Date(2026, time.November, 28, 15, 4, 5, 0, time.UTC)

// last4 is how a test names a card number in a message.
func last4(s string) string {
	if len(s) < 4 {
		return s
	}
	return "…" + s[len(s)-4:]
}

func TestParseCardValid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       CardInput
		number   string // the digits ParseCard must keep
		brand    scrub.Brand
		month    int
		year     int
		cvc      string
		cardName string
	}{
		{name: "visa exp field", in: CardInput{Number: "4242424242424242", Exp: "12/34", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa month and 4-digit year", in: CardInput{Number: "4242424242424242", ExpMonth: "12", ExpYear: "2034", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa month and 2-digit year", in: CardInput{Number: "4242424242424242", ExpMonth: "12", ExpYear: "34", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa exp MM/YYYY", in: CardInput{Number: "4242424242424242", Exp: "12/2034", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa exp with spaces", in: CardInput{Number: "4242424242424242", Exp: " 12 / 34 ", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa one-digit month", in: CardInput{Number: "4242424242424242", ExpMonth: "1", ExpYear: "2034", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 1, year: 2034, cvc: "123"},
		{name: "visa debit", in: CardInput{Number: "4000056655665556", Exp: "12/34", CVC: "123"}, number: "4000056655665556", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa 13", in: CardInput{Number: "4222222222222", Exp: "12/34", CVC: "123"}, number: "4222222222222", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "visa 19", in: CardInput{Number: "4000000000000000006", Exp: "12/34", CVC: "123"}, number: "4000000000000000006", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "mastercard", in: CardInput{Number: "5555555555554444", Exp: "12/34", CVC: "123"}, number: "5555555555554444", brand: scrub.Mastercard, month: 12, year: 2034, cvc: "123"},
		{name: "mastercard 2-series", in: CardInput{Number: "2223003122003222", ExpMonth: "12", ExpYear: "2034", CVC: "123"}, number: "2223003122003222", brand: scrub.Mastercard, month: 12, year: 2034, cvc: "123"},
		{name: "mastercard debit", in: CardInput{Number: "5200828282828210", ExpMonth: "12", ExpYear: "34", CVC: "123"}, number: "5200828282828210", brand: scrub.Mastercard, month: 12, year: 2034, cvc: "123"},
		{name: "amex 4-digit cvc", in: CardInput{Number: "378282246310005", Exp: "12/34", CVC: "1234"}, number: "378282246310005", brand: scrub.Amex, month: 12, year: 2034, cvc: "1234"},
		{name: "amex second", in: CardInput{Number: "371449635398431", ExpMonth: "12", ExpYear: "2034", CVC: "1234"}, number: "371449635398431", brand: scrub.Amex, month: 12, year: 2034, cvc: "1234"},
		{name: "discover", in: CardInput{Number: "6011111111111117", Exp: "12/34", CVC: "123"}, number: "6011111111111117", brand: scrub.Discover, month: 12, year: 2034, cvc: "123"},
		{name: "discover second", in: CardInput{Number: "6011000990139424", ExpMonth: "12", ExpYear: "34", CVC: "123"}, number: "6011000990139424", brand: scrub.Discover, month: 12, year: 2034, cvc: "123"},
		{name: "diners 16", in: CardInput{Number: "3056930009020004", Exp: "12/34", CVC: "123"}, number: "3056930009020004", brand: scrub.Diners, month: 12, year: 2034, cvc: "123"},
		{name: "diners 14", in: CardInput{Number: "36227206271667", ExpMonth: "12", ExpYear: "2034", CVC: "123"}, number: "36227206271667", brand: scrub.Diners, month: 12, year: 2034, cvc: "123"},
		{name: "jcb", in: CardInput{Number: "3566002020360505", Exp: "12/34", CVC: "123"}, number: "3566002020360505", brand: scrub.JCB, month: 12, year: 2034, cvc: "123"},
		{name: "unionpay 16", in: CardInput{Number: "6200000000000005", Exp: "12/34", CVC: "123"}, number: "6200000000000005", brand: scrub.UnionPay, month: 12, year: 2034, cvc: "123"},
		{name: "unionpay 19", in: CardInput{Number: "6205500000000000004", ExpMonth: "12", ExpYear: "34", CVC: "123"}, number: "6205500000000000004", brand: scrub.UnionPay, month: 12, year: 2034, cvc: "123"},
		{name: "spaces removed", in: CardInput{Number: " 4242 4242 4242 4242 ", Exp: "12/34", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123"},
		{name: "dashes removed", in: CardInput{Number: "3782-822463-10005", Exp: "12/34", CVC: "1234"}, number: "378282246310005", brand: scrub.Amex, month: 12, year: 2034, cvc: "1234"},
		{name: "current month still valid", in: CardInput{Number: "4242424242424242", Exp: "11/26", CVC: "123"}, number: "4242424242424242", brand: scrub.Visa, month: 11, year: 2026, cvc: "123"},
		{name: "cvc and name trimmed", in: CardInput{Number: "4242424242424242", Exp: "12/34", CVC: " 123 ", Name: "  Ada Lovelace "}, number: "4242424242424242", brand: scrub.Visa, month: 12, year: 2034, cvc: "123", cardName: "Ada Lovelace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCard(tc.in, parseNow)
			if err != nil {
				t.Fatalf("ParseCard: %v", err)
			}
			if c.Number != tc.number {
				t.Errorf("Number = %s, want %s", last4(c.Number), last4(tc.number))
			}
			if c.Brand != tc.brand {
				t.Errorf("Brand = %q, want %q", c.Brand, tc.brand)
			}
			if c.ExpMonth != tc.month || c.ExpYear != tc.year {
				t.Errorf("expiry = %d/%d, want %d/%d", c.ExpMonth, c.ExpYear, tc.month, tc.year)
			}
			if c.CVC != tc.cvc {
				t.Errorf("CVC length %d, want %d", len(c.CVC), len(tc.cvc))
			}
			if c.Name != tc.cardName {
				t.Errorf("Name = %q, want %q", c.Name, tc.cardName)
			}
		})
	}
}

// TestParseCardNetworks: a Luhn-valid test number of each network scrub knows besides those
// above, including the lengths only one network issues (UATP's 15 digits after a 1, Maestro's
// 12, China T-Union's 19), is accepted with its brand: the checkout field is card context.
func TestParseCardNetworks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		number string
		brand  scrub.Brand
	}{
		{name: "mir", number: "2200000000000004", brand: scrub.Mir},
		{name: "mir 19 digits", number: "2204000000000000006", brand: scrub.Mir},
		{name: "borica", number: "2205000000000009", brand: scrub.Borica},
		{name: "rupay 60", number: "6000000000000007", brand: scrub.RuPay},
		{name: "rupay 6521", number: "6521000000000007", brand: scrub.RuPay},
		{name: "rupay 508", number: "5085000000000007", brand: scrub.RuPay},
		{name: "rupay 82", number: "8200000000000001", brand: scrub.RuPay},
		{name: "troy", number: "9792000000000003", brand: scrub.Troy},
		{name: "uatp 15 digits", number: "100000000000009", brand: scrub.UATP},
		{name: "interpayment", number: "6360000000000001", brand: scrub.InterPayment},
		{name: "instapayment", number: "6370000000000009", brand: scrub.InstaPayment},
		{name: "china t-union 19 digits", number: "3100000000000000005", brand: scrub.ChinaTUnion},
		{name: "maestro 12 digits", number: "501800000009", brand: scrub.Maestro},
		{name: "maestro uk 676770", number: "6767700000000005", brand: scrub.Maestro},
		{name: "maestro uk 12 digits", number: "676774000001", brand: scrub.Maestro},
		{name: "verve", number: "5060990000000008", brand: scrub.Verve},
		{name: "dankort", number: "5019000000000008", brand: scrub.Dankort},
		{name: "ukrcard", number: "6040010000000008", brand: scrub.UkrCard},
		{name: "nps pridnestrovie", number: "6054740000000003", brand: scrub.NPSPridnestrovie},
		{name: "lankapay", number: "3571110000000000", brand: scrub.LankaPay},
		{name: "uzcard", number: "8600000000000007", brand: scrub.UzCard},
		{name: "humo", number: "9860000000000000", brand: scrub.Humo},
		{name: "napas 19 digits", number: "9704000000000000008", brand: scrub.Napas},
		{name: "afrigo 18 digits", number: "564456000000000004", brand: scrub.AfriGo},
		{name: "gpn 1946", number: "1946000000000005", brand: scrub.GPN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCard(CardInput{Number: tc.number, Exp: "12/34", CVC: "123"}, parseNow)
			if err != nil {
				t.Fatalf("ParseCard(%s): %v", last4(tc.number), err)
			}
			if c.Number != tc.number || c.Brand != tc.brand {
				t.Errorf("ParseCard(%s) = %s, %q; want %q", last4(tc.number), last4(c.Number), c.Brand, tc.brand)
			}
		})
	}
}

func TestParseCardRefused(t *testing.T) {
	const visa, amex = "4242424242424242", "378282246310005"
	for _, tc := range []struct {
		name string
		in   CardInput
		code string
	}{
		{name: "empty number", in: CardInput{Exp: "12/34", CVC: "123"}, code: CodeIncompleteNumber},
		{name: "blank number", in: CardInput{Number: "  - - ", Exp: "12/34", CVC: "123"}, code: CodeIncompleteNumber},
		{name: "letters", in: CardInput{Number: "4242abcd42424242", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "dots", in: CardInput{Number: "4242.4242.4242.4242", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "too short", in: CardInput{Number: "4242 4242", Exp: "12/34", CVC: "123"}, code: CodeIncompleteNumber},
		{name: "25 digits", in: CardInput{Number: "4000000000000000000000006", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "20 digits", in: CardInput{Number: "40000000000000000002", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "luhn invalid", in: CardInput{Number: "4242424242424241", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "luhn invalid amex", in: CardInput{Number: "378282246310006", Exp: "12/34", CVC: "1234"}, code: CodeInvalidNumber},
		{name: "unknown issuer", in: CardInput{Number: "9111111111111110", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "visa 15 digits", in: CardInput{Number: "424242424242424", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "amex 16 digits", in: CardInput{Number: "3782822463100052", Exp: "12/34", CVC: "1234"}, code: CodeInvalidNumber},
		{name: "mir luhn invalid", in: CardInput{Number: "2200000000000005", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "uatp 16 digits", in: CardInput{Number: "1000000000000008", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "uatp 13 digits", in: CardInput{Number: "1000000000009", Exp: "12/34", CVC: "123"}, code: CodeIncompleteNumber},
		{name: "rupay 60 17 digits", in: CardInput{Number: "60000000000000004", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},
		{name: "troy 15 digits", in: CardInput{Number: "979200000000003", Exp: "12/34", CVC: "123"}, code: CodeIncompleteNumber},
		{name: "inactive solo 6767", in: CardInput{Number: "6767000000000000", Exp: "12/34", CVC: "123"}, code: CodeInvalidNumber},

		{name: "month 13", in: CardInput{Number: visa, Exp: "13/30", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "month 00", in: CardInput{Number: visa, Exp: "00/30", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "month field 13", in: CardInput{Number: visa, ExpMonth: "13", ExpYear: "2030", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "exp without slash", in: CardInput{Number: visa, Exp: "1234", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "exp letters", in: CardInput{Number: visa, Exp: "ab/cd", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "exp 3-digit year", in: CardInput{Number: visa, Exp: "12/034", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "exp 3-digit month", in: CardInput{Number: visa, Exp: "012/34", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "year too far ahead", in: CardInput{Number: visa, ExpMonth: "12", ExpYear: "2099", CVC: "123"}, code: CodeInvalidExpiry},
		{name: "last month expired", in: CardInput{Number: visa, Exp: "10/26", CVC: "123"}, code: CodeExpiredCard},
		{name: "last year expired", in: CardInput{Number: visa, ExpMonth: "12", ExpYear: "2025", CVC: "123"}, code: CodeExpiredCard},
		{name: "missing expiry", in: CardInput{Number: visa, CVC: "123"}, code: CodeIncompleteExpiry},
		{name: "month without year", in: CardInput{Number: visa, ExpMonth: "12", CVC: "123"}, code: CodeIncompleteExpiry},
		{name: "year without month", in: CardInput{Number: visa, ExpYear: "2034", CVC: "123"}, code: CodeIncompleteExpiry},
		{name: "exp slash only", in: CardInput{Number: visa, Exp: "/", CVC: "123"}, code: CodeIncompleteExpiry},

		{name: "visa cvc 2 digits", in: CardInput{Number: visa, Exp: "12/34", CVC: "12"}, code: CodeInvalidCVC},
		{name: "visa cvc 4 digits", in: CardInput{Number: visa, Exp: "12/34", CVC: "1234"}, code: CodeInvalidCVC},
		{name: "amex cvc 3 digits", in: CardInput{Number: amex, Exp: "12/34", CVC: "123"}, code: CodeInvalidCVC},
		{name: "cvc missing", in: CardInput{Number: visa, Exp: "12/34"}, code: CodeIncompleteCVC},
		{name: "cvc blank", in: CardInput{Number: visa, Exp: "12/34", CVC: "   "}, code: CodeIncompleteCVC},
		{name: "cvc letters", in: CardInput{Number: visa, Exp: "12/34", CVC: "1a3"}, code: CodeInvalidCVC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCard(tc.in, parseNow)
			var ce *CardError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseCard error = %v, want a *CardError %s", err, tc.code)
			}
			if ce.Code != tc.code {
				t.Errorf("code = %s (%s), want %s", ce.Code, ce.Reason, tc.code)
			}
			if got := Code(err); got != tc.code {
				t.Errorf("Code(err) = %s, want %s", got, tc.code)
			}
			digits := strings.NewReplacer(" ", "", "-", "").Replace(tc.in.Number)
			if len(digits) >= 12 && strings.Contains(err.Error(), digits) {
				t.Errorf("error text holds the card number")
			}
			if tc.in.CVC != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in.CVC)) && tc.code == CodeInvalidCVC {
				t.Errorf("error text holds the cvc")
			}
		})
	}
}

// Only Maestro issues 12 digits: a 12-digit number of another network is as incomplete as an
// 8-digit one (TestParseCardValid has the 12-digit Maestro numbers).
func TestParseCardTwelveDigitsIncomplete(t *testing.T) {
	for _, tc := range []struct {
		name   string
		number string
	}{
		{name: "12-digit visa prefix", number: "424242424242"},
		{name: "12-digit mastercard prefix", number: "555555555555"},
		{name: "12-digit mir prefix", number: "220000000004"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCard(CardInput{Number: tc.number, Exp: "12/34", CVC: "123"}, parseNow)
			if got := Code(err); got != CodeIncompleteNumber {
				t.Errorf("Code = %q (%v), want %q", got, err, CodeIncompleteNumber)
			}
		})
	}
}

// strconv.Atoi accepts a sign, so "+1" or "-034" would pass as digits.
func TestParseCardSignedExpiryRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   CardInput
	}{
		{name: "plus month", in: CardInput{Number: "4242424242424242", ExpMonth: "+1", ExpYear: "2034", CVC: "123"}},
		{name: "plus 4-char year", in: CardInput{Number: "4242424242424242", ExpMonth: "12", ExpYear: "+034", CVC: "123"}},
		{name: "minus year in exp", in: CardInput{Number: "4242424242424242", Exp: "12/-034", CVC: "123"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCard(tc.in, parseNow)
			if got := Code(err); got != CodeInvalidExpiry {
				t.Errorf("Code = %q (%v), want %q", got, err, CodeInvalidExpiry)
			}
		})
	}
}

func TestParseCardMonthBoundary(t *testing.T) {
	// A card is valid to the end of its month, in UTC.
	for _, tc := range []struct {
		name string
		now  time.Time
		exp  string
		code string
	}{
		{name: "last second of the month", now: time.Date(2026, time.November, 30, 23, 59, 59, 0, time.UTC), exp: "11/26", code: ""},
		{name: "first second of next month", now: time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC), exp: "11/26", code: CodeExpiredCard},
		{name: "clock in another zone is read as UTC", now: time.Date(2026, time.December, 1, 0, 30, 0, 0, time.FixedZone("UTC+1", 3600)), exp: "11/26", code: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCard(CardInput{Number: "4242424242424242", Exp: tc.exp, CVC: "123"}, tc.now)
			if got := Code(err); got != tc.code {
				t.Errorf("Code = %q (%v), want %q", got, err, tc.code)
			}
		})
	}
}

func testCard(t *testing.T) Card {
	t.Helper()
	c, err := ParseCard(CardInput{Number: "4242424242424242", Exp: "12/34", CVC: "987", Name: "Ada"}, parseNow)
	if err != nil {
		t.Fatalf("ParseCard: %v", err)
	}
	return c
}

func TestCardFormatsMask(t *testing.T) {
	c := testCard(t)
	for _, tc := range []struct {
		name   string
		format string
		arg    any
		last4  bool // the output shows the last four
	}{
		{name: "String", format: "%s", arg: c.String(), last4: true},
		{name: "GoString", format: "%s", arg: c.GoString(), last4: true},
		{name: "v", format: "%v", arg: c, last4: true},
		{name: "plus v", format: "%+v", arg: c, last4: true},
		{name: "sharp v", format: "%#v", arg: c, last4: true},
		{name: "s", format: "%s", arg: c, last4: true},
		{name: "q", format: "%q", arg: c, last4: true},
		{name: "pointer v", format: "%v", arg: &c, last4: true},
		{name: "pointer plus v", format: "%+v", arg: &c, last4: true},
		{name: "pointer sharp v", format: "%#v", arg: &c, last4: true},
		{name: "in a struct plus v", format: "%+v", arg: struct{ Card Card }{c}, last4: true},
		{name: "in a struct sharp v", format: "%#v", arg: struct{ Card Card }{c}, last4: true},
		{name: "in a slice", format: "%v", arg: []Card{c}, last4: true},
		{name: "x", format: "%x", arg: c},
		{name: "d", format: "%d", arg: c},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := fmt.Sprintf(tc.format, tc.arg)
			if strings.Contains(out, c.Number) {
				t.Errorf("%s output holds the card number", tc.format)
			}
			if strings.Contains(out, c.CVC) {
				t.Errorf("%s output holds the cvc", tc.format)
			}
			if tc.last4 && !strings.Contains(out, "****4242") {
				t.Errorf("%s output = %q, want the mask ****4242", tc.format, out)
			}
		})
	}
}

func TestCardStringShortNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		card Card
		want string
	}{
		{name: "zero card", card: Card{}, want: "card( ****)"},
		{name: "three digits", card: Card{Number: "424", Brand: scrub.Visa}, want: "card(visa ****)"},
		{name: "four digits", card: Card{Number: "4242", Brand: scrub.Visa}, want: "card(visa ****4242)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.card.String(); got != tc.want {
				t.Errorf("String = %q, want %q", got, tc.want)
			}
		})
	}
}

// STYLE.md: every type that holds a secret hides it in its log forms too. A Card logged
// with zerolog's Interface or Any goes through encoding/json.
func TestCardLogFormsMask(t *testing.T) {
	c := testCard(t)
	for _, tc := range []struct {
		name string
		log  func(l zerolog.Logger)
	}{
		{name: "Interface", log: func(l zerolog.Logger) { l.Info().Interface("card", c).Msg("x") }},
		{name: "Any", log: func(l zerolog.Logger) { l.Info().Any("card", c).Msg("x") }},
		{name: "Any pointer", log: func(l zerolog.Logger) { l.Info().Any("card", &c).Msg("x") }},
		{name: "Stringer", log: func(l zerolog.Logger) { l.Info().Stringer("card", c).Msg("x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(zerolog.New(&buf))
			out := buf.String()
			if strings.Contains(out, c.Number) {
				t.Errorf("log line holds the card number")
			}
			if strings.Contains(out, `"`+c.CVC+`"`) {
				t.Errorf("log line holds the cvc")
			}
			if !strings.Contains(out, "4242") {
				t.Errorf("log line lacks the last four")
			}
		})
	}
}

func TestCardJSONMasks(t *testing.T) {
	c := testCard(t)
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if bytes.Contains(out, []byte(c.Number)) {
		t.Errorf("json.Marshal(Card) holds the card number")
	}
	if bytes.Contains(out, []byte(`"`+c.CVC+`"`)) {
		t.Errorf("json.Marshal(Card) holds the cvc")
	}
}
