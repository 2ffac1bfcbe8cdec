package scrub

import (
	"strings"
	"testing"
)

// TestDetectors names each detector's hits and near-misses. want is the scrubbed text.
func TestDetectors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		// Cards in every separator style and encoding.
		{name: "card url-encoded %20", in: "q=4242%204242%204242%204242&x=1", want: "q=[card:visa:4242]&x=1"},
		{name: "card url-encoded +", in: "q=4242+4242+4242+4242", want: "q=[card:visa:4242]"},
		{name: "card 4-6-5 amex", in: "amex 3782 822463 10005 ok", want: "amex [card:amex:0005] ok"},
		{name: "card 19-digit 4-4-4-4-3", in: "pan 6205 5000 0000 0000 004", want: "pan [card:unionpay:0004]"},
		{name: "mastercard 2-series", in: "mc 2223003122003222", want: "mc [card:mastercard:3222]"},
		// Track data.
		{name: "track 1", in: "swipe %B4242424242424242^LOVELACE/ADA^34121010000000000000? end", want: "swipe [redacted:track] end"},
		{name: "track 2", in: "swipe ;4242424242424242=34121010000000000? end", want: "swipe [redacted:track] end"},
		// SSN.
		{name: "ssn", in: "ssn on file 123-45-6789.", want: "ssn on file [redacted:ssn]."},
		{name: "ssn area 000 is not one", in: "id 000-12-3456", want: "id 000-12-3456"},
		{name: "ssn area 666 is not one", in: "id 666-12-3456", want: "id 666-12-3456"},
		{name: "ssn area 9xx is not one", in: "id 912-12-3456", want: "id 912-12-3456"},
		{name: "ssn group 00 is not one", in: "id 123-00-3456", want: "id 123-00-3456"},
		{name: "ssn serial 0000 is not one", in: "id 123-45-0000", want: "id 123-45-0000"},
		{name: "date is not an ssn", in: "on 2026-11-28", want: "on 2026-11-28"},
		// IBAN.
		{name: "iban spaced", in: "pay to DE89 3704 0044 0532 0130 00 today", want: "pay to [redacted:iban] today"},
		{name: "iban compact", in: "iban=GB82WEST12345698765432", want: "iban=[redacted:iban]"},
		{name: "iban bad check digits", in: "pay to DE88 3704 0044 0532 0130 00", want: "pay to DE88 3704 0044 0532 0130 00"},
		{name: "iban wrong length", in: "DE89 3704 0044 0532 0130", want: "DE89 3704 0044 0532 0130"},
		// Routing numbers: only next to a routing key.
		{name: "routing next to key", in: "routing number 021000021 ok", want: "routing number [redacted:routing_number] ok"},
		{name: "nine digits alone", in: "order 021000021 shipped", want: "order 021000021 shipped"},
		{name: "routing bad checksum", in: "routing number 021000022", want: "routing number 021000022"},
		// Secrets by shape.
		{name: "stripe live key", in: "key sk_live_51HxAbCdEfGhIjKl used", want: "key [redacted:api_key] used"},
		{name: "stripe restricted key", in: "rk_test_abcdEFGH1234", want: "[redacted:api_key]"},
		{name: "stripe webhook secret", in: "whsec_abcdefgh12345678", want: "[redacted:secret]"},
		{name: "tokenwall api key", in: "key twk_0123456789abcdef_" + strings.Repeat("ab", 32) + " end", want: "key [redacted:api_key] end"},
		{name: "twk word too short", in: "twk_short", want: "twk_short"},
		{name: "publishable key is public", in: "pk_live_51HxAbCdEfGhIjKl", want: "pk_live_51HxAbCdEfGhIjKl"},
		{name: "vault token", in: "token hvs.CAESIJlQ3J0ZXN0aW5nLXRva2Vu ok", want: "token [redacted:token] ok"},
		{name: "bearer", in: "sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", want: "sent Bearer [redacted:token]"},
		// By key name, in every syntax.
		{name: "json cvc", in: `{"card_cvc":"123","n":1}`, want: `{"card_cvc":"[redacted:cvc]","n":1}`},
		{name: "json camelCase cvv bare number", in: `{"cardCvv":123}`, want: `{"cardCvv":"[redacted:cvc]"}`},
		{name: "form password", in: "user=ada&password=hunter2&x=1", want: "user=ada&password=[redacted:password]&x=1"},
		{name: "header authorization", in: "Authorization: Basic YWRhOmh1bnRlcjI=", want: "Authorization: [redacted:authorization]"},
		{name: "header cookie", in: "Cookie: sid=abc; theme=dark", want: "Cookie: [redacted:cookie]"},
		{name: "api key dashed", in: "X-Api-Key: abc123", want: "X-Api-Key: [redacted:api_key]"},
		{name: "expiry next to card key", in: `{"exp_month":12,"exp_year":2034}`, want: `{"exp_month":"[redacted:expiry]","exp_year":"[redacted:expiry]"}`},
		{name: "ssn by key", in: "ssn=123456789", want: "ssn=[redacted:ssn]"},
		{name: "account number by key", in: `"account_number": "000123456789"`, want: `"account_number": "[redacted:account_number]"`},
		{name: "vault token by key", in: "vault_token=s.abcdefghijklmnop", want: "vault_token=[redacted:token]"},
		{name: "gateway token id is not a secret", in: `{"token_id":"pm_1Abc","token":"pm_1AbcDEFghi"}`, want: `{"token_id":"pm_1Abc","token":"pm_1AbcDEFghi"}`},
		{name: "already redacted stays", in: `{"cvc":"[redacted:cvc]"}`, want: `{"cvc":"[redacted:cvc]"}`},
		// Not flagged.
		{name: "ms timestamp", in: `{"time":1732800000000}`, want: `{"time":1732800000000}`},
		{name: "uuid", in: "id 550e8400-e29b-41d4-a716-446655440000", want: "id 550e8400-e29b-41d4-a716-446655440000"},
		{name: "phone", in: "call +1 415 555 0132", want: "call +1 415 555 0132"},
		{name: "ip", in: "from 192.168.100.200", want: "from 192.168.100.200"},
		{name: "amount", in: "total 1234567.89 EUR", want: "total 1234567.89 EUR"},
		{name: "version", in: "go1.26.8 v4.16.0", want: "go1.26.8 v4.16.0"},
		{name: "luhn-valid digits of no issuer", in: "ref 9999999999999995", want: "ref 9999999999999995"},
		{name: "order number", in: "order 100234567890", want: "order 100234567890"},
		{name: "harmless keys", in: `{"level":"info","request_id":"abc","status":200}`, want: `{"level":"info","request_id":"abc","status":200}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Text([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("Text = %q, want %q", got, tc.want)
			}
			if again := string(Text([]byte(got))); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
}

func TestCardMaskFirst6Last4(t *testing.T) {
	s := New(Options{CardMask: MaskFirst6Last4})
	got := string(s.Text([]byte("pan 4242424242424242")))
	if got != "pan [card:visa:424242…4242]" {
		t.Fatalf("got %q", got)
	}
	if strings.Contains(string(s.Text([]byte(got))), "redacted") || string(s.Text([]byte(got))) != got {
		t.Fatal("first6/last4 mask is not stable under a second scrub")
	}
}

func TestExtraKeys(t *testing.T) {
	s := New(Options{ExtraKeys: []KeyRule{{Name: "loyalty_pin", Kind: KindPIN}}})
	if got := string(s.Text([]byte("loyaltyPin=4711"))); got != "loyaltyPin=[redacted:pin]" {
		t.Fatalf("got %q", got)
	}
	if got := string(Text([]byte("loyaltyPin=4711"))); got != "loyaltyPin=4711" {
		t.Fatalf("default scrubber took the extra key: %q", got)
	}
}
