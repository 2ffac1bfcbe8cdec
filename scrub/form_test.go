package scrub

import (
	"strings"
	"testing"
)

// checkForm runs s.Form on in, compares with want and asserts what every output holds:
// scrubbing it again changes nothing, and no key or value, decoded, holds a card number.
func checkForm(t *testing.T, s *Scrubber, in, want string) {
	t.Helper()
	got := s.Form(in)
	if got != want {
		t.Errorf("Form(%q)\n got %q\nwant %q", hidePAN(in), hidePAN(got), hidePAN(want))
	}
	if again := s.Form(got); again != got {
		t.Errorf("not idempotent: %q then %q", hidePAN(got), hidePAN(again))
	}
	if panIn([]byte(got)) {
		t.Errorf("a card number survives in %q", hidePAN(got))
	}
	for _, pair := range strings.Split(got, "&") {
		k, v, _ := strings.Cut(pair, "=")
		for _, part := range []string{k, v} {
			if dec := decodePercent(part, true); panIn([]byte(dec)) {
				t.Errorf("a card number survives decoded in %q", hidePAN(dec))
			}
		}
	}
}

func TestForm(t *testing.T) {
	const clean = "user=ada&amount=1250&note=hello+world&ref=A%2FB&empty=&flag&&x=1&name=%E5%B1%B1%E7%94%B0"
	for _, tc := range []struct {
		name, in, want string
		opts           Options
	}{
		{name: "clean body byte for byte", in: clean, want: clean},
		{name: "empty body", in: "", want: ""},
		{name: "order and untouched pairs kept", in: "a=1&card_number=4242+4242+4242+4242&b=x%2By&cvc=123&c=3",
			want: "a=1&card_number=%5Bcard%3Avisa%3A4242%5D&b=x%2By&cvc=%5Bredacted%3Acvc%5D&c=3"},
		{name: "card key failing luhn", in: "card_number=4242424242424241", want: "card_number=%5Bredacted%3Acard%5D"},
		{name: "password", in: "user=ada&password=hunter2", want: "user=ada&password=%5Bredacted%3Apassword%5D"},
		{name: "expiry", in: "exp_month=12&exp_year=2034", want: "exp_month=%5Bredacted%3Aexpiry%5D&exp_year=%5Bredacted%3Aexpiry%5D"},
		{name: "expiry not a date stays", in: "card_expiry=soon", want: "card_expiry=soon"},
		{name: "pin", in: "pin=1234", want: "pin=%5Bredacted%3Apin%5D"},
		{name: "track", in: "track2=%3B4242424242424242%3D34121010000000000%3F", want: "track2=%5Bredacted%3Atrack%5D"},
		{name: "ssn", in: "ssn=123-45-6789", want: "ssn=%5Bredacted%3Assn%5D"},
		{name: "iban", in: "iban=DE89370400440532013000", want: "iban=%5Bredacted%3Aiban%5D"},
		{name: "account and routing", in: "account_number=000123456789&routing_number=110000000",
			want: "account_number=%5Bredacted%3Aaccount_number%5D&routing_number=%5Bredacted%3Arouting_number%5D"},
		{name: "secret", in: "client_secret=abc", want: "client_secret=%5Bredacted%3Asecret%5D"},
		{name: "api key", in: "api_key=abc", want: "api_key=%5Bredacted%3Aapi_key%5D"},
		{name: "token", in: "access_token=abc", want: "access_token=%5Bredacted%3Atoken%5D"},
		{name: "gateway object id under token kept", in: "token=pm_1AbcDEFghi", want: "token=pm_1AbcDEFghi"},
		{name: "authorization and cookie", in: "authorization=Basic+abc&cookie=sid%3D1",
			want: "authorization=%5Bredacted%3Aauthorization%5D&cookie=%5Bredacted%3Acookie%5D"},
		{name: "stripe-style nested keys", in: "card[number]=4242424242424242&card[cvc]=123&card%5Bexp_month%5D=12",
			want: "card[number]=%5Bcard%3Avisa%3A4242%5D&card[cvc]=%5Bredacted%3Acvc%5D&card%5Bexp_month%5D=%5Bredacted%3Aexpiry%5D"},
		{name: "escaped key", in: "c%76c=123", want: "c%76c=%5Bredacted%3Acvc%5D"},
		{name: "empty sensitive value kept", in: "password=&cvc", want: "password=&cvc"},
		{name: "already redacted kept", in: "cvc=%5Bredacted%3Acvc%5D", want: "cvc=%5Bredacted%3Acvc%5D"},
		{name: "card in a value", in: "q=4242424242424242", want: "q=%5Bcard%3Avisa%3A4242%5D"},
		{name: "card with %20", in: "q=4242%204242%204242%204242", want: "q=%5Bcard%3Avisa%3A4242%5D"},
		{name: "card among words", in: "q=pay+4242-4242-4242-4242+now", want: "q=pay+%5Bcard%3Avisa%3A4242%5D+now"},
		{name: "card with escaped digit", in: "q=%34242424242424242", want: "q=%5Bcard%3Avisa%3A4242%5D"},
		{name: "malformed escape before a card", in: "q=%ZZ4242424242424242", want: "q=%25ZZ%5Bcard%3Avisa%3A4242%5D"},
		{name: "malformed escape after a card", in: "q=4242424242424242%", want: "q=%5Bcard%3Avisa%3A4242%5D%25"},
		{name: "short escape at the end", in: "q=%4", want: "q=%4"},
		{name: "card in a key", in: "4242424242424242=x", want: "%5Bcard%3Avisa%3A4242%5D=x"},
		{name: "escape that spells a card", in: "q=%4242+4242+4242+4242", want: "q=B42+4242+4242+4242"},
		{name: "key sensitive once scrubbed (FuzzForm)", in: "pAsswd%3A0=0", want: "pAsswd%3A%5Bredacted%3Apassword%5D=%5Bredacted%3Apassword%5D"},
		{name: "key-value text in a value", in: "msg=password%3Dhunter2", want: "msg=password%3D%5Bredacted%3Apassword%5D"},
		{name: "first6 last4", in: "card_number=4242424242424242", want: "card_number=%5Bcard%3Avisa%3A424242%E2%80%A64242%5D",
			opts: Options{CardMask: MaskFirst6Last4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkForm(t, New(tc.opts), tc.in, tc.want)
		})
	}
}

func TestDecodePercent(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		plus     bool
		want     string
	}{
		{name: "nothing to decode", in: "abc", plus: true, want: "abc"},
		{name: "escapes and plus", in: "a%20b+c%2bd", plus: true, want: "a b c+d"},
		{name: "plus kept in a path", in: "a+b%2F", plus: false, want: "a+b/"},
		{name: "malformed kept", in: "%zz%4%", plus: true, want: "%zz%4%"},
		{name: "mixed case hex", in: "%e2%80%A6", plus: true, want: "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := decodePercent(tc.in, tc.plus); got != tc.want {
				t.Errorf("decodePercent(%q, %v) = %q, want %q", tc.in, tc.plus, got, tc.want)
			}
		})
	}
}
