package proxy

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const jsonBody = `{"amount":1999,"currency":"eur","card":{"number":"4242424242424242","exp_month":12,"exp":{"year":"2034"}},"items":[{"sku":"a"}],"flag":true,"none":null}`

func mustParseJSON(t *testing.T, body string) *jsonDoc {
	t.Helper()
	d, err := parseJSON([]byte(body), 8)
	if err != nil {
		t.Fatalf("parseJSON: %v", err)
	}
	return d
}

func TestJSONGet(t *testing.T) {
	d := mustParseJSON(t, jsonBody)
	for _, tc := range []struct {
		name  string
		field string
		value string
		found bool
	}{
		{name: "top-level string", field: "currency", value: "eur", found: true},
		{name: "top-level number", field: "amount", value: "1999", found: true},
		{name: "nested string", field: "card.number", value: "4242424242424242", found: true},
		{name: "nested number", field: "card.exp_month", value: "12", found: true},
		{name: "two levels deep", field: "card.exp.year", value: "2034", found: true},
		{name: "object is not text", field: "card", found: false},
		{name: "array is not text", field: "items", found: false},
		{name: "bool is not text", field: "flag", found: false},
		{name: "null is not text", field: "none", found: false},
		{name: "missing", field: "cvc", found: false},
		{name: "missing nested", field: "card.cvc", found: false},
		{name: "path through a string", field: "currency.code", found: false},
		{name: "path through a missing object", field: "billing.name", found: false},
		{name: "path into an array", field: "items.0", found: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := d.get(tc.field)
			if ok != tc.found || v != tc.value {
				t.Errorf("get(%q) = %d chars, %v; want %d chars, %v", tc.field, len(v), ok, len(tc.value), tc.found)
			}
		})
	}
}

func TestJSONNumberKeptExactly(t *testing.T) {
	// UseNumber: no float64 round trip, so big or decimal numbers reach the billing app as sent.
	d := mustParseJSON(t, `{"big":12345678901234567890,"price":19.90,"exp":1e3}`)
	for _, tc := range []struct {
		name, field, want string
	}{
		{name: "beyond float64 precision", field: "big", want: "12345678901234567890"},
		{name: "trailing zero", field: "price", want: "19.90"},
		{name: "exponent", field: "exp", want: "1e3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if v, ok := d.get(tc.field); !ok || v != tc.want {
				t.Errorf("get(%q) = %q, %v; want %q", tc.field, v, ok, tc.want)
			}
		})
	}
	out, _, err := d.encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if want := `{"big":12345678901234567890,"exp":1e3,"price":19.90}`; string(out) != want {
		t.Errorf("encode = %s, want %s", out, want)
	}
}

func TestJSONRemoveSetEncode(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(d *jsonDoc)
		want string // JSON the encoded body must equal (as a value)
	}{
		{name: "unchanged", edit: func(*jsonDoc) {}, want: jsonBody},
		{name: "remove nested", edit: func(d *jsonDoc) { d.remove("card.number") }, want: `{"amount":1999,"currency":"eur","card":{"exp_month":12,"exp":{"year":"2034"}},"items":[{"sku":"a"}],"flag":true,"none":null}`},
		{name: "remove whole object", edit: func(d *jsonDoc) { d.remove("card") }, want: `{"amount":1999,"currency":"eur","items":[{"sku":"a"}],"flag":true,"none":null}`},
		{name: "remove missing is a no-op", edit: func(d *jsonDoc) { d.remove("billing.name"); d.remove("nothing") }, want: jsonBody},
		{name: "set replaces", edit: func(d *jsonDoc) { d.set("currency", "usd") }, want: `{"amount":1999,"currency":"usd","card":{"number":"4242424242424242","exp_month":12,"exp":{"year":"2034"}},"items":[{"sku":"a"}],"flag":true,"none":null}`},
		{name: "set into existing object", edit: func(d *jsonDoc) { d.remove("card"); d.set("items_count", "1") }, want: `{"amount":1999,"currency":"eur","items":[{"sku":"a"}],"flag":true,"none":null,"items_count":"1"}`},
		{name: "set creates intermediate objects", edit: func(d *jsonDoc) { d.remove("card"); d.set("payment.method.id", "pm_1") }, want: `{"amount":1999,"currency":"eur","items":[{"sku":"a"}],"flag":true,"none":null,"payment":{"method":{"id":"pm_1"}}}`},
		{name: "set keeps siblings", edit: func(d *jsonDoc) { d.remove("card.number"); d.set("card.token", "pm_1") }, want: `{"amount":1999,"currency":"eur","card":{"token":"pm_1","exp_month":12,"exp":{"year":"2034"}},"items":[{"sku":"a"}],"flag":true,"none":null}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := mustParseJSON(t, jsonBody)
			tc.edit(d)
			out, ct, err := d.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if ct != "application/json" {
				t.Errorf("content type = %q", ct)
			}
			if strings.HasSuffix(string(out), "\n") {
				t.Errorf("encoded body ends with a newline")
			}
			var got, want any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("encoded body is not JSON: %v", err)
			}
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatalf("bad test: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("encoded body differs from the expected value (%d bytes, want %d)", len(out), len(tc.want))
			}
		})
	}
}

func TestJSONEncodeDoesNotEscapeHTML(t *testing.T) {
	d := mustParseJSON(t, `{"url":"https://shop.example/a?b=1&c=<2>"}`)
	out, _, err := d.encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if want := `{"url":"https://shop.example/a?b=1&c=<2>"}`; string(out) != want {
		t.Errorf("encode = %s, want %s", out, want)
	}
}

func TestJSONDepth(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{name: "flat object", body: `{"a":1}`, want: 1},
		{name: "nested objects", body: `{"a":{"b":{"c":1}}}`, want: 3},
		{name: "arrays count", body: `{"a":[[1,[2]]]}`, want: 4},
		{name: "siblings do not add", body: `{"a":{"x":1},"b":{"y":2},"c":[1]}`, want: 2},
		{name: "brackets in a string", body: `{"a":"[[[[{{{{"}`, want: 1},
		{name: "closing brackets in a string", body: `{"a":"]]]]}}}}","b":{"c":1}}`, want: 2},
		{name: "escaped quote in a string", body: `{"a":"\"[[[[","b":1}`, want: 1},
		{name: "escaped backslash before the closing quote", body: `{"a":"\\","b":[[1]]}`, want: 3},
		{name: "key with brackets", body: `{"[{[{":{"x":1}}`, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonDepth([]byte(tc.body)); got != tc.want {
				t.Errorf("jsonDepth(%s) = %d, want %d", tc.body, got, tc.want)
			}
		})
	}
}

func TestParseJSONDepthLimit(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		maxDepth int
		ok       bool
	}{
		{name: "at the limit", body: `{"a":{"b":{"c":1}}}`, maxDepth: 3, ok: true},
		{name: "over the limit", body: `{"a":{"b":{"c":1}}}`, maxDepth: 2, ok: false},
		{name: "arrays count toward the limit", body: `{"a":[[[1]]]}`, maxDepth: 3, ok: false},
		{name: "brackets in strings do not count", body: `{"a":"[[[[[[[[[[{{{{{{{{"}`, maxDepth: 1, ok: true},
		{name: "escaped quote does not end the string", body: `{"a":"\"[[[[[[[[","b":1}`, maxDepth: 1, ok: true},
		{name: "deep attack", body: strings.Repeat(`{"a":`, 1000) + "1" + strings.Repeat("}", 1000), maxDepth: 32, ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseJSON([]byte(tc.body), tc.maxDepth)
			if tc.ok && err != nil {
				t.Errorf("parseJSON: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrBadRequest) {
				t.Errorf("parseJSON error = %v, want ErrBadRequest", err)
			}
		})
	}
}

func TestParseJSONRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{name: "empty", body: ``},
		{name: "whitespace", body: "  \n"},
		{name: "array", body: `[{"a":1}]`},
		{name: "string", body: `"4242"`},
		{name: "number", body: `1999`},
		{name: "null", body: `null`},
		{name: "truncated", body: `{"a":1`},
		{name: "second object", body: `{"a":1} {"b":2}`},
		{name: "trailing garbage", body: `{"a":1}x`},
		{name: "trailing bracket", body: `{"a":1}]`},
		{name: "trailing comma", body: `{"a":1},`},
		{name: "invalid utf-8 in a string", body: "{\"a\":\"\xff\"}"},
		{name: "invalid utf-8 in a key", body: "{\"\xc3\":1}"},
		{name: "invalid utf-8 after the object", body: "{\"a\":1}\xff"},
		{name: "single quotes", body: `{'a':1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseJSON([]byte(tc.body), 8)
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("parseJSON(%q) error = %v, want ErrBadRequest", tc.body, err)
			}
			if d != nil {
				t.Errorf("parseJSON returned a document with an error")
			}
		})
	}
}

func TestParseJSONAcceptsTrailingWhitespace(t *testing.T) {
	d, err := parseJSON([]byte("{\"a\":\"b\"}\r\n\t "), 8)
	if err != nil {
		t.Fatalf("parseJSON: %v", err)
	}
	if v, ok := d.get("a"); !ok || v != "b" {
		t.Errorf("get(a) = %q, %v", v, ok)
	}
}
