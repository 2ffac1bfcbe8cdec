package proxy

import (
	"errors"
	"slices"
	"testing"
)

func TestParseFormKeepsOrderAndRoundTrips(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		pairs [][2]string
	}{
		{name: "empty", body: "", pairs: nil},
		{name: "one field", body: "amount=1999", pairs: [][2]string{{"amount", "1999"}}},
		{name: "order kept", body: "z=1&a=2&m=3", pairs: [][2]string{{"z", "1"}, {"a", "2"}, {"m", "3"}}},
		{name: "duplicates kept in place", body: "tag=a&amount=5&tag=b", pairs: [][2]string{{"tag", "a"}, {"amount", "5"}, {"tag", "b"}}},
		{name: "escapes decoded", body: "note=hello+world&sym=%26%3D%25&utf=caf%C3%A9", pairs: [][2]string{{"note", "hello world"}, {"sym", "&=%"}, {"utf", "café"}}},
		{name: "escaped key", body: "card%5Bnumber%5D=x", pairs: [][2]string{{"card[number]", "x"}}},
		{name: "empty value", body: "a=&b=2", pairs: [][2]string{{"a", ""}, {"b", "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseForm([]byte(tc.body))
			if err != nil {
				t.Fatalf("parseForm: %v", err)
			}
			if !slices.Equal(d.pairs, tc.pairs) {
				t.Errorf("pairs = %q, want %q", d.pairs, tc.pairs)
			}
			out, ct, err := d.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(out) != tc.body {
				t.Errorf("encode = %q, want the input %q", out, tc.body)
			}
			if ct != "application/x-www-form-urlencoded" {
				t.Errorf("content type = %q", ct)
			}
		})
	}
}

func TestParseFormLenientShapes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		body  string
		pairs [][2]string
	}{
		{name: "empty parts skipped", body: "&a=1&&b=2&", pairs: [][2]string{{"a", "1"}, {"b", "2"}}},
		{name: "key without equals", body: "flag&a=1", pairs: [][2]string{{"flag", ""}, {"a", "1"}}},
		{name: "equals in value", body: "a=b=c", pairs: [][2]string{{"a", "b=c"}}},
		{name: "percent-20 space", body: "a=x%20y", pairs: [][2]string{{"a", "x y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseForm([]byte(tc.body))
			if err != nil {
				t.Fatalf("parseForm: %v", err)
			}
			if !slices.Equal(d.pairs, tc.pairs) {
				t.Errorf("pairs = %q, want %q", d.pairs, tc.pairs)
			}
		})
	}
}

func TestParseFormRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
	}{
		{name: "malformed escape in value", body: "a=%zz"},
		{name: "truncated escape", body: "a=1&b=%4"},
		{name: "malformed escape in key", body: "%g1=1"},
		{name: "invalid utf-8 raw", body: "a=\xff\xfe"},
		{name: "invalid utf-8 raw in key", body: "\xc3=1"},
		{name: "invalid utf-8 after unescape", body: "a=%ff"},
		{name: "invalid utf-8 key after unescape", body: "%C3%28=1"},
		{name: "overlong encoding after unescape", body: "a=%C0%AF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseForm([]byte(tc.body))
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("parseForm error = %v, want ErrBadRequest", err)
			}
			if d != nil {
				t.Errorf("parseForm returned a document with an error")
			}
		})
	}
}

func TestFormGetRemoveSet(t *testing.T) {
	const body = "number=4242424242424242&amount=1999&number=5555555555554444&note=hi"
	for _, tc := range []struct {
		name  string
		edit  func(d *formDoc)
		field string // read after the edit
		value string
		found bool
		want  string // encoded body after the edit
	}{
		{name: "get returns the first", edit: func(*formDoc) {}, field: "amount", value: "1999", found: true, want: body},
		{name: "get of a duplicate returns the first", edit: func(*formDoc) {}, field: "number", value: "4242424242424242", found: true, want: body},
		{name: "get missing", edit: func(*formDoc) {}, field: "cvc", found: false, want: body},
		{name: "get is case sensitive", edit: func(*formDoc) {}, field: "Amount", found: false, want: body},
		{name: "remove drops every duplicate", edit: func(d *formDoc) { d.remove("number") }, field: "number", found: false, want: "amount=1999&note=hi"},
		{name: "remove missing is a no-op", edit: func(d *formDoc) { d.remove("cvc") }, field: "amount", value: "1999", found: true, want: body},
		{name: "set adds a field at the end", edit: func(d *formDoc) { d.remove("number"); d.set("pm", "pm_123") }, field: "pm", value: "pm_123", found: true, want: "amount=1999&note=hi&pm=pm_123"},
		{name: "set replaces every duplicate", edit: func(d *formDoc) { d.set("number", "tok") }, field: "number", value: "tok", found: true, want: "amount=1999&note=hi&number=tok"},
		{name: "set escapes", edit: func(d *formDoc) { d.remove("number"); d.set("err", "a b&c") }, field: "err", value: "a b&c", found: true, want: "amount=1999&note=hi&err=a+b%26c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseForm([]byte(body))
			if err != nil {
				t.Fatalf("parseForm: %v", err)
			}
			tc.edit(d)
			v, ok := d.get(tc.field)
			if ok != tc.found || v != tc.value {
				t.Errorf("get(%q) = %d chars, %v; want %d chars, %v", tc.field, len(v), ok, len(tc.value), tc.found)
			}
			out, _, err := d.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if string(out) != tc.want {
				// The body holds test card numbers: compare without printing it.
				t.Errorf("encoded body differs: %d bytes, want %d", len(out), len(tc.want))
			}
		})
	}
}
