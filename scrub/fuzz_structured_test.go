package scrub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// jsonSeeds are documents with card numbers and sensitive keys in every place JSON allows.
var jsonSeeds = []string{
	`{"card_number":"4242424242424242","cvc":"123","exp_month":12,"exp_year":2034}`,
	`{"data":{"object":{"card":{"number":"4000 0566 5566 5556","cvc":314},"token":"tok_1AbcDEFghi"}}}`,
	`[4242424242424242, -5555555555554444, 3.78282246310005e14, "6011-1111-1111-1117"]`,
	`{"4242424242424242":{"password":["a",{"x":true},null,[1.5]]}}`,
	`{"note":"4242\u00204242\u00204242\u00204242","k\u0065y":"\ud83d\ude00 \u4242 4242 4242 4242"}`,
	`{"payload":"{\"card_number\":\"4242424242424242\",\"cvc\":\"123\"}","swipe":"%B4242424242424242^ADA/L^3412101?"}`,
	"{\r\n\t\"iban\" : \"DE89370400440532013000\" ,\n \"ssn\": \"123-45-6789\", \"routing\": 110000000 }\n",
	`"pay with 378282246310005 please"`,
	`[[[[[["5105105105105100"]]]]]]`,
	`{"authorization":"Bearer abc.def","cookie":{"sid":"x"},"api_key":"sk_live_abcdEFGH1234"}`,
	`{"card":"100000000000009","cc":501800000009,"id":1946000000000005,"pan":"1000 000000 00009"}`,
	`["card",100000000000009,"[card:visa:4242]",100000000000009]`,
}

// FuzzJSON checks JSON on any input: it never panics; it accepts exactly what encoding/json
// accepts (bar the depth limit); however the input is cut into reads, the result is the
// same; and its output is valid JSON, unchanged by a second pass, with no card number left
// in it.
func FuzzJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, tc := range jsonErrorCases {
		f.Add([]byte(tc.in))
	}
	scrubbers := []*Scrubber{Default(), New(Options{CardMask: MaskFirst6Last4})}
	f.Fuzz(func(t *testing.T, in []byte) {
		valid := json.Valid(in)
		for _, s := range scrubbers {
			out, err := s.JSONBytes(in)
			trickled, err2 := jsonOneByte(s, in)
			if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || err == nil && !bytes.Equal(out, trickled) {
				t.Fatalf("read a byte at a time, %q gives %q (%v), not %q (%v)", hidePAN(string(in)), hidePAN(string(trickled)), err2, hidePAN(string(out)), err)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalidJSON) {
					t.Fatalf("error %v does not wrap ErrInvalidJSON", err)
				}
				if valid && !strings.Contains(err.Error(), "nesting deeper than") {
					t.Fatalf("valid JSON %q rejected: %v", hidePAN(string(in)), err)
				}
				continue
			}
			if !valid {
				t.Fatalf("invalid JSON %q accepted", hidePAN(string(in)))
			}
			if !json.Valid(out) {
				t.Fatalf("output %q of %q is not valid JSON", hidePAN(string(out)), hidePAN(string(in)))
			}
			again, err := s.JSONBytes(out)
			if err != nil || !bytes.Equal(again, out) {
				t.Fatalf("not idempotent on %q: %q then %q (%v)", hidePAN(string(in)), hidePAN(string(out)), hidePAN(string(again)), err)
			}
			if panIn(out) {
				t.Fatalf("a card number survives in %q", hidePAN(string(out)))
			}
		}
	})
}

// FuzzForm checks Form on any body: it never panics, a second pass changes nothing, and no
// key or value of the output holds a card number, decoded or not.
func FuzzForm(f *testing.F) {
	for _, s := range []string{
		"card_number=4242424242424242&cvc=123&exp_month=12",
		"a=1&q=4242+4242+4242+4242&b=%34242424242424242&c=4242%204242%204242%204242",
		"card[number]=4000056655665556&card%5Bcvc%5D=314&token=pm_1AbcDEFghi",
		"q=%ZZ4242424242424242&r=%4242+4242+4242+4242&%&&=&x",
		"msg=password%3Dhunter2&4242424242424242=x&n=%E2%80%A6",
		"note=card&x=100000000000009&pan=501800000009&id=1946000000000005",
		"x:pan=100000000000009&card=%31000+000000+00009",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := Default()
		out := s.Form(body)
		if again := s.Form(out); again != out {
			t.Fatalf("not idempotent on %q: %q then %q", hidePAN(body), hidePAN(out), hidePAN(again))
		}
		if panIn([]byte(out)) {
			t.Fatalf("a card number survives in %q", hidePAN(out))
		}
		for _, pair := range strings.Split(out, "&") {
			k, v, _ := strings.Cut(pair, "=")
			for _, part := range []string{k, v} {
				if dec := decodePercent(part, true); panIn([]byte(dec)) {
					t.Fatalf("a card number survives decoded in %q (output %q)", hidePAN(dec), hidePAN(out))
				}
			}
		}
	})
}

// FuzzURL checks URL on any string: it never panics, a second pass changes nothing, and no
// card number is left in the output.
func FuzzURL(f *testing.F) {
	for _, s := range []string{
		"https://ada:hunter2@shop.example:8443/v1/cards/4242424242424242?cvc=123&q=4242+4242+4242+4242#access_token=abc",
		"/cards/4242%204242%204242%204242?card%5Bnumber%5D=4000056655665556",
		"mailto:4242424242424242@example.com",
		"//cdn.example/a/%34242424242424242.png#4242424242424242",
		"http://[::1]:80/x?#",
		"http://h/a%zz?card=4242424242424242",
		"https://h/card/100000000000009?cc=501800000009#pan=1946000000000005",
		"card:100000000000009",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		s := Default()
		out := s.URL(raw)
		if again := s.URL(out); again != out {
			t.Fatalf("not idempotent on %q: %q then %q", hidePAN(raw), hidePAN(out), hidePAN(again))
		}
		if panIn([]byte(out)) {
			t.Fatalf("a card number survives in %q (input %q)", hidePAN(out), hidePAN(raw))
		}
	})
}
