package scrub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/iotest"
)

// hidePAN returns s with every run of twelve or more digits (single spaces, dashes or pluses
// between them allowed) cut to its last four, so that a failure message never prints a card
// number, even when the code under test failed to hide one. It does not use the package.
func hidePAN(s string) string {
	b := []byte(s)
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(b); {
		if !digit(b[i]) {
			i++
			continue
		}
		j, n := i, 0
		for j < len(b) && (digit(b[j]) || (b[j] == ' ' || b[j] == '-' || b[j] == '+') && j+1 < len(b) && digit(b[j+1])) {
			if digit(b[j]) {
				n++
			}
			j++
		}
		if n >= 12 {
			for k, seen := j-1, 0; k >= i; k-- {
				if digit(b[k]) {
					if seen++; seen > 4 {
						b[k] = '*'
					}
				}
			}
		}
		i = j
	}
	return string(b)
}

func TestHidePAN(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "plain", in: `{"n":4242424242424242}`, want: `{"n":************4242}`},
		{name: "grouped", in: "4242 4242-4242+4242", want: "**** ****-****+4242"},
		{name: "short run kept", in: "order 12345", want: "order 12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hidePAN(tc.in); got != tc.want {
				t.Errorf("hidePAN = %q, want %q", got, tc.want)
			}
		})
	}
}

// panIn reports whether b holds a Luhn-valid card number of a known issuer range, or track
// data around one: the findings by shape, which carry a brand. ContainsPAN also counts any
// value under a card or track key ("card_number=abc"), which is no card number; see
// TestEngineContainsPANWithoutCard.
func panIn(b []byte) bool {
	for _, f := range Default().Find(b) {
		if (f.Kind == KindCard || f.Kind == KindTrack) && f.Brand != "" {
			return true
		}
	}
	return false
}

// TestEngineContainsPANWithoutCard: ContainsPAN reports only card numbers, not values that
// are merely under a card or track key (a regression test of a bug found here).
func TestEngineContainsPANWithoutCard(t *testing.T) {
	for _, tc := range []struct{ name, in string }{
		{name: "word under card key", in: "card_number=abc"},
		{name: "escaped card mask", in: "card_number=%5Bcard%3Avisa%3A4242%5D"},
		{name: "escaped track redaction", in: "track2=%5Bredacted%3Atrack%5D"},
		{name: "json null under card key", in: `{"card_number":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if ContainsPAN([]byte(tc.in)) {
				t.Errorf("ContainsPAN(%q) = true; it holds no card number", tc.in)
			}
		})
	}
}

// TestEngineTextIdempotent: a card inside a quoted key does not hide the key, so one Text
// pass redacts its value (here a CVC) (a regression test of a bug found here).
func TestEngineTextIdempotent(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "cvc key after a card", in: `note "4242424242424242 cvc": 123`, want: `note "[card:visa:4242] cvc": "[redacted:cvc]"`},
		{name: "fuzz find", in: `0000"A4242424242424242CvC":0`, want: `0000"A[card:visa:4242]CvC":"[redacted:cvc]"`},
		{name: "form space before a card under its key", in: "CArdnumBer=+4111111111111111", want: "CArdnumBer=+[card:visa:1111]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			once := Text([]byte(tc.in))
			if string(once) != tc.want {
				t.Errorf("Text = %q, want %q", hidePAN(string(once)), tc.want)
			}
			if twice := Text(once); string(twice) != string(once) {
				t.Errorf("Text not idempotent: %q then %q", hidePAN(string(once)), hidePAN(string(twice)))
			}
		})
	}
}

// jsonOneByte runs s.JSON on in read one byte per Read, so that every token straddles the
// end of the reader's buffer.
func jsonOneByte(s *Scrubber, in []byte) ([]byte, error) {
	var out bytes.Buffer
	err := s.JSON(&out, iotest.OneByteReader(bytes.NewReader(in)))
	return out.Bytes(), err
}

// checkJSON runs s.JSONBytes on in, compares with want and asserts the properties every
// output has: valid JSON, scrubbing it again changes nothing, no card number left.
func checkJSON(t *testing.T, s *Scrubber, in, want string) {
	t.Helper()
	out, err := s.JSONBytes([]byte(in))
	if err != nil {
		t.Fatalf("JSON(%s): %v", hidePAN(in), err)
	}
	if string(out) != want {
		t.Errorf("JSON(%s)\n got %s\nwant %s", hidePAN(in), hidePAN(string(out)), hidePAN(want))
	}
	if !json.Valid(out) {
		t.Errorf("output is not valid JSON: %s", hidePAN(string(out)))
	}
	if trickled, err := jsonOneByte(s, []byte(in)); err != nil || !bytes.Equal(trickled, out) {
		t.Errorf("read a byte at a time: %s (%v)", hidePAN(string(trickled)), err)
	}
	if again, err := s.JSONBytes(out); err != nil || !bytes.Equal(again, out) {
		t.Errorf("not idempotent: %s then %s (%v)", hidePAN(string(out)), hidePAN(string(again)), err)
	}
	if panIn(out) {
		t.Errorf("a card number survives: %s", hidePAN(string(out)))
	}
}

type jsonCase struct {
	name, in, want string
	opts           Options
}

func runJSONCases(t *testing.T, cases []jsonCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkJSON(t, New(tc.opts), tc.in, tc.want)
		})
	}
}

func TestJSONByKey(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{name: "card digits masked by shape", in: `{"card_number":"4242 4242 4242 4242"}`, want: `{"card_number":"[card:visa:4242]"}`},
		{name: "card number value", in: `{"pan":4242424242424242}`, want: `{"pan":"[card:visa:4242]"}`},
		{name: "card failing luhn", in: `{"card_number":"4242424242424241"}`, want: `{"card_number":"[redacted:card]"}`},
		{name: "card not digits", in: `{"cardNumber":"four two"}`, want: `{"cardNumber":"[redacted:card]"}`},
		{name: "cvc", in: `{"cvc":"123"}`, want: `{"cvc":"[redacted:cvc]"}`},
		{name: "cvc number", in: `{"card_cvc":123}`, want: `{"card_cvc":"[redacted:cvc]"}`},
		{name: "expiry", in: `{"exp_month":12,"exp_year":"2034"}`, want: `{"exp_month":"[redacted:expiry]","exp_year":"[redacted:expiry]"}`},
		{name: "expiry not a date stays", in: `{"card_expiry":"next year"}`, want: `{"card_expiry":"next year"}`},
		{name: "pin", in: `{"pin":"1234"}`, want: `{"pin":"[redacted:pin]"}`},
		{name: "track", in: `{"track2":";4242424242424242=34121010000000000?"}`, want: `{"track2":"[redacted:track]"}`},
		{name: "ssn", in: `{"ssn":"123-45-6789"}`, want: `{"ssn":"[redacted:ssn]"}`},
		{name: "iban", in: `{"iban":"DE89370400440532013000"}`, want: `{"iban":"[redacted:iban]"}`},
		{name: "account number", in: `{"account_number":"000123456789"}`, want: `{"account_number":"[redacted:account_number]"}`},
		{name: "routing number", in: `{"routing_number":"110000000"}`, want: `{"routing_number":"[redacted:routing_number]"}`},
		{name: "password", in: `{"password":"hunter2"}`, want: `{"password":"[redacted:password]"}`},
		{name: "secret", in: `{"client_secret":"pi_1_secret_x"}`, want: `{"client_secret":"[redacted:secret]"}`},
		{name: "api key", in: `{"X-Api-Key":"abc"}`, want: `{"X-Api-Key":"[redacted:api_key]"}`},
		{name: "token", in: `{"access_token":"abc.def"}`, want: `{"access_token":"[redacted:token]"}`},
		{name: "gateway object id under token kept", in: `{"token":"tok_1AbcDEFghi"}`, want: `{"token":"tok_1AbcDEFghi"}`},
		{name: "authorization", in: `{"Authorization":"Basic YWRhOmh1bnRlcjI="}`, want: `{"Authorization":"[redacted:authorization]"}`},
		{name: "cookie", in: `{"cookie":"sid=abc; theme=dark"}`, want: `{"cookie":"[redacted:cookie]"}`},
		{name: "extra key", in: `{"loyaltyPin":4711}`, want: `{"loyaltyPin":"[redacted:pin]"}`,
			opts: Options{ExtraKeys: []KeyRule{{Name: "loyalty_pin", Kind: KindPIN}}}},
		{name: "extra key unknown to default", in: `{"loyaltyPin":4711}`, want: `{"loyaltyPin":4711}`},
		{name: "boolean redacted", in: `{"password":true}`, want: `{"password":"[redacted:password]"}`},
		{name: "null redacted", in: `{"password":null}`, want: `{"password":"[redacted:password]"}`},
		{name: "empty kept", in: `{"password":""}`, want: `{"password":""}`},
		{name: "already redacted kept", in: `{"cvc":"[redacted:cvc]","pan":"[card:visa:4242]"}`, want: `{"cvc":"[redacted:cvc]","pan":"[card:visa:4242]"}`},
		{name: "key sensitive once scrubbed (FuzzForm)", in: `{"pAsswd:0":0}`, want: `{"pAsswd:[redacted:password]":"[redacted:password]"}`},
		{name: "harmless lookalike kept", in: `{"cvc_check":"pass","level":"info"}`, want: `{"cvc_check":"pass","level":"info"}`},
	})
}

func TestJSONCards(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{name: "in a string", in: `{"note":"card 4242424242424242 ok"}`, want: `{"note":"card [card:visa:4242] ok"}`},
		{name: "grouped in a string", in: `["5555-5555-5555-4444"]`, want: `["[card:mastercard:4444]"]`},
		{name: "number", in: `{"n":4242424242424242}`, want: `{"n":"[card:visa:4242]"}`},
		{name: "negative number", in: `[-4242424242424242]`, want: `["[card:visa:4242]"]`},
		{name: "fraction digits", in: `[0.4242424242424242]`, want: `["[card:visa:4242]"]`},
		{name: "exponent digits", in: `[1e4242424242424242]`, want: `["[card:visa:4242]"]`},
		{name: "amex number", in: `[378282246310005]`, want: `["[card:amex:0005]"]`},
		{name: "numbers that are no card", in: `[4242424242424241, 1732800000000, 12.5]`, want: `[4242424242424241, 1732800000000, 12.5]`},
		{name: "in a key", in: `{"4242424242424242":1}`, want: `{"[card:visa:4242]":1}`},
		{name: "nested arrays", in: `[[["5555555555554444"]],[[5105105105105100]]]`, want: `[[["[card:mastercard:4444]"]],[["[card:mastercard:5100]"]]]`},
		{name: "escaped spaces", in: `{"note":"4242\u00204242\u00204242\u00204242"}`, want: `{"note":"[card:visa:4242]"}`},
		{name: "escaped digit", in: `{"note":"\u0034242424242424242"}`, want: `{"note":"[card:visa:4242]"}`},
		{name: "escape that spells a card", in: `{"note":"\u4242 4242 4242 4242"}`, want: "{\"note\":\"\u4242 4242 4242 4242\"}"},
		{name: "quotes and newline re-encoded", in: `{"note":"say \"4242424242424242\"\n"}`, want: `{"note":"say \"[card:visa:4242]\"\n"}`},
		{name: "track data", in: `{"swipe":"%B4242424242424242^LOVELACE/ADA^34121010000000000000?"}`, want: `{"swipe":"[redacted:track]"}`},
		{name: "json in a string", in: `{"payload":"{\"card_number\":\"4242424242424242\",\"cvc\":\"123\"}"}`,
			want: `{"payload":"{\"card_number\":\"[card:visa:4242]\",\"cvc\":\"[redacted:cvc]\"}"}`},
		{name: "card inside a quoted key in a string (FuzzJSON)", in: `{"":"0000\"A4242424242424242CvC\":0"}`,
			want: `{"":"0000\"A[card:visa:4242]CvC\":\"[redacted:cvc]\""}`},
		{name: "cvc after a card in a quoted key", in: `{"log":"note \"4242424242424242 cvc\": 123"}`,
			want: `{"log":"note \"[card:visa:4242] cvc\": \"[redacted:cvc]\""}`},
		{name: "first6 last4", in: `{"n":4242424242424242,"s":"4242424242424242"}`,
			want: `{"n":"[card:visa:424242…4242]","s":"[card:visa:424242…4242]"}`, opts: Options{CardMask: MaskFirst6Last4}},
		{name: "top-level number", in: `4242424242424242`, want: `"[card:visa:4242]"`},
		{name: "top-level string", in: ` "4000056655665556" `, want: ` "[card:visa:5556]" `},
	})
}

func TestJSONSensitiveStructures(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{name: "object under password", in: `{"password":{"old":"a","new":"b","n":1,"ok":true,"none":null}}`,
			want: `{"password":{"old":"[redacted:password]","new":"[redacted:password]","n":"[redacted:password]","ok":"[redacted:password]","none":"[redacted:password]"}}`},
		{name: "array under cvc", in: `{"cvc":["123",456,[789]]}`, want: `{"cvc":["[redacted:cvc]","[redacted:cvc]",["[redacted:cvc]"]]}`},
		{name: "array under card key", in: `{"pan":["4242424242424242","x",4000056655665556]}`,
			want: `{"pan":["[card:visa:4242]","[redacted:card]","[card:visa:5556]"]}`},
		{name: "inner key decides", in: `{"auth":{"token":"pm_1AbcDEFghi","user":"ada"}}`,
			want: `{"auth":{"token":"pm_1AbcDEFghi","user":"[redacted:authorization]"}}`},
		{name: "gateway ids in a token array", in: `{"token":["tok_1AbcDEFghi","hunter2"]}`,
			want: `{"token":["tok_1AbcDEFghi","[redacted:token]"]}`},
		{name: "expiry object", in: `{"card_expiry":{"month":12,"year":2034,"label":"soon"}}`,
			want: `{"card_expiry":{"month":"[redacted:expiry]","year":"[redacted:expiry]","label":"soon"}}`},
		{name: "empty structures", in: `{"password":{},"cvc":[]}`, want: `{"password":{},"cvc":[]}`},
		{name: "keys inside scrubbed too", in: `{"secret":{"4242424242424242":"x"}}`, want: `{"secret":{"[card:visa:4242]":"[redacted:secret]"}}`},
		{name: "siblings after unaffected", in: `{"password":["x"],"after":"y","n":[1]}`, want: `{"password":["[redacted:password]"],"after":"y","n":[1]}`},
		{name: "deep inside ordinary keys", in: `{"data":{"object":{"card":{"number":"4242424242424242","cvc":"314","exp_month":12}}}}`,
			want: `{"data":{"object":{"card":{"number":"[card:visa:4242]","cvc":"[redacted:cvc]","exp_month":"[redacted:expiry]"}}}}`},
	})
}

func TestJSONKeepsFormatting(t *testing.T) {
	pretty := "{\r\n\t\"b\" :  [ 1 ,\n  2.50e+3 , -0 ],\n  \"a\":{ } ,\"z\\/y\":\"caf\\u00e9 \\\"x\\\" \\/\",\n  \"n\" : null , \"t\":true,\"f\":false }\n"
	withCard := strings.Replace(pretty, `"a":{ }`, `"a":{ "cvc" : "123" , "q":"4242424242424242" }`, 1)
	runJSONCases(t, []jsonCase{
		{name: "clean document byte for byte", in: pretty, want: pretty},
		{name: "only the secrets change", in: withCard,
			want: strings.Replace(pretty, `"a":{ }`, `"a":{ "cvc" : "[redacted:cvc]" , "q":"[card:visa:4242]" }`, 1)},
		{name: "big numbers kept", in: `[12345678901234567890123, 1.5e-300, 0]`, want: `[12345678901234567890123, 1.5e-300, 0]`},
		{name: "escaped key kept as written", in: `{"lev\u0065l":"info"}`, want: `{"lev\u0065l":"info"}`},
	})
}

func TestJSONEscapesAndUnicode(t *testing.T) {
	runJSONCases(t, []jsonCase{
		{name: "escaped key is cvc", in: `{"c\u0076c":"123"}`, want: `{"c\u0076c":"[redacted:cvc]"}`},
		{name: "escaped underscore in card key", in: `{"card\u005fnumber":"4242424242424242"}`, want: `{"card\u005fnumber":"[card:visa:4242]"}`},
		{name: "escaped password key", in: `{"pass\u0077ord":"x"}`, want: `{"pass\u0077ord":"[redacted:password]"}`},
		{name: "unicode untouched", in: `{"名前":"山田 太郎","emoji":"😀"}`, want: `{"名前":"山田 太郎","emoji":"😀"}`},
		{name: "surrogate pair kept", in: `{"e":"\ud83d\ude00"}`, want: `{"e":"\ud83d\ude00"}`},
		{name: "lone surrogate decodes to U+FFFD", in: `{"e":"\ud800 4242424242424242"}`, want: "{\"e\":\"\uFFFD [card:visa:4242]\"}"},
		{name: "invalid UTF-8 kept", in: "[\"\xff 4242424242424242\"]", want: "[\"\xff [card:visa:4242]\"]"},
		{name: "non-ASCII key not sensitive", in: `{"パスワード":"x"}`, want: `{"パスワード":"x"}`},
		{name: "control characters re-encoded", in: `["\u0001\t4242424242424242\b\f"]`, want: `["\u0001\t[card:visa:4242]\b\f"]`},
	})
}

// jsonErrorCases are malformed documents and the offset each error must name.
var jsonErrorCases = []struct {
	name   string
	in     string
	offset int
	reason string
}{
	{name: "empty", in: "", offset: 0, reason: "unexpected end of input"},
	{name: "whitespace only", in: " \n\t", offset: 3, reason: "unexpected end of input"},
	{name: "truncated object", in: `{"a":1`, offset: 6, reason: "unexpected end of input"},
	{name: "truncated string", in: `{"a":"abc`, offset: 9, reason: "unexpected end of input"},
	{name: "truncated key", in: `{"ab`, offset: 4, reason: "unexpected end of input"},
	{name: "truncated after colon", in: `{"a":`, offset: 5, reason: "unexpected end of input"},
	{name: "truncated literal", in: `[tru`, offset: 4, reason: "unexpected end of input"},
	{name: "truncated escape", in: `["ab\`, offset: 5, reason: "unexpected end of input"},
	{name: "truncated unicode escape", in: `["\u12`, offset: 6, reason: "unexpected end of input"},
	{name: "truncated number", in: `-`, offset: 1, reason: "unexpected end of input"},
	{name: "bad escape", in: `["a\x"]`, offset: 4, reason: `invalid escape character 'x' in string`},
	{name: "bad unicode escape", in: `["\u12G4"]`, offset: 6, reason: `invalid character 'G' in \u escape`},
	{name: "trailing comma in object", in: `{"a":1,}`, offset: 7, reason: `invalid character '}' looking for object key`},
	{name: "trailing comma in array", in: `[1,2,]`, offset: 5, reason: `invalid character ']' looking for value`},
	{name: "bare word", in: `hello`, offset: 0, reason: `invalid character 'h' looking for value`},
	{name: "bare word as value", in: `{"a":hello}`, offset: 5, reason: `invalid character 'h' looking for value`},
	{name: "misspelt literal", in: `[trux]`, offset: 4, reason: `invalid character 'x' in literal true`},
	{name: "too deep", in: strings.Repeat("[", MaxJSONDepth+1) + strings.Repeat("]", MaxJSONDepth+1), offset: MaxJSONDepth, reason: "nesting deeper than 512"},
	{name: "control character in string", in: "[\"a\x01\"]", offset: 3, reason: `invalid control character '\x01' in string`},
	{name: "leading zero", in: `[01]`, offset: 2, reason: `invalid character '1' after number`},
	{name: "fraction without digits", in: `[1.]`, offset: 3, reason: `invalid character ']' in number`},
	{name: "exponent without digits", in: `[1e]`, offset: 3, reason: `invalid character ']' in number`},
	{name: "missing colon", in: `{"a" 1}`, offset: 5, reason: `invalid character '1' after object key`},
	{name: "missing comma", in: `[1 2]`, offset: 3, reason: `invalid character '2' after array element`},
	{name: "missing comma in object", in: `{"a":1 "b":2}`, offset: 7, reason: `invalid character '"' after object value`},
	{name: "trailing data", in: `{} {}`, offset: 3, reason: `invalid character '{' after top-level value`},
	{name: "single quotes", in: `{'a':1}`, offset: 1, reason: `invalid character '\'' looking for object key`},
	{name: "unquoted key", in: `{a:1}`, offset: 1, reason: `invalid character 'a' looking for object key`},
	{name: "close without open", in: `]`, offset: 0, reason: `invalid character ']' looking for value`},
}

func TestJSONInvalid(t *testing.T) {
	for _, tc := range jsonErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Default().JSONBytes([]byte(tc.in))
			if err == nil {
				t.Fatalf("JSONBytes(%q) = %q, want an error", tc.in, out)
			}
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("error %v does not wrap ErrInvalidJSON", err)
			}
			want := fmt.Sprintf("scrub: json: offset %d: invalid JSON: %s", tc.offset, tc.reason)
			if err.Error() != want {
				t.Errorf("error\n got %q\nwant %q", err, want)
			}
			if out != nil {
				t.Errorf("JSONBytes returned output with its error: %q", out)
			}
			if _, err2 := jsonOneByte(Default(), []byte(tc.in)); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("read a byte at a time: error %v, want %v", err2, err)
			}
			if tc.name != "too deep" && json.Valid([]byte(tc.in)) {
				t.Errorf("encoding/json takes %q as valid", tc.in)
			}
		})
	}
}

func TestJSONDepth(t *testing.T) {
	in := strings.Repeat(`{"a":[`, MaxJSONDepth/2) + `"4242424242424242"` + strings.Repeat(`]}`, MaxJSONDepth/2)
	want := strings.Replace(in, "4242424242424242", "[card:visa:4242]", 1)
	checkJSON(t, Default(), in, want)
}

// TestJSONPartialOutput pins what an error leaves behind: the output up to the last complete
// token, and never a piece of an unscrubbed value.
func TestJSONPartialOutput(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "bad value after scrubbed ones", in: `[1, "4242424242424242", {"cvc":"123"}, x]`, want: `[1, "[card:visa:4242]", {"cvc":"[redacted:cvc]"}, `},
		{name: "truncated card string", in: `["ok", "4242424242424242`, want: `["ok", `},
		{name: "truncated card number", in: `["ok", 4242424242424242`, want: `["ok", "[card:visa:4242]"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Default().JSON(&out, strings.NewReader(tc.in))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("err = %v, want ErrInvalidJSON", err)
			}
			if out.String() != tc.want {
				t.Errorf("written %s, want %s", hidePAN(out.String()), hidePAN(tc.want))
			}
		})
	}
}

var errStructBoom = errors.New("boom")
