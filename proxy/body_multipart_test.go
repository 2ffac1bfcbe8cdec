package proxy

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

// fileBytes is a file part's content: binary, with CRLFs and a fake boundary inside.
var fileBytes = []byte("\x89PNG\r\n\x1a\n\x00\xff\xfe--not-the-boundary\r\nrest\x00")

const mpBoundary = "tokenwall-test-boundary-42"

type mpField struct {
	name, filename, contentType string
	data                        []byte
}

// buildMultipart writes fields with mime/multipart, the way a browser would send them.
func buildMultipart(t *testing.T, fields ...mpField) []byte {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(mpBoundary); err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		h := textproto.MIMEHeader{}
		cd := `form-data; name="` + f.name + `"`
		if f.filename != "" {
			cd += `; filename="` + f.filename + `"`
		}
		h.Set("Content-Disposition", cd)
		if f.contentType != "" {
			h.Set("Content-Type", f.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readParts parses an encoded body with the standard library, as the billing app would.
func readParts(t *testing.T, body []byte, contentType string) []mpField {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var out []mpField
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("re-read encoded body: %v", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("re-read part: %v", err)
		}
		out = append(out, mpField{name: p.FormName(), filename: p.FileName(), contentType: p.Header.Get("Content-Type"), data: data})
	}
}

func testMultipartBody(t *testing.T) []byte {
	return buildMultipart(t,
		mpField{name: "amount", data: []byte("1999")},
		mpField{name: "card_number", data: []byte("4242424242424242")},
		mpField{name: "receipt", filename: "receipt.png", contentType: "image/png", data: fileBytes},
		mpField{name: "note", data: []byte("café")},
	)
}

func TestMultipartRoundTrip(t *testing.T) {
	d, err := parseMultipart(testMultipartBody(t), mpBoundary)
	if err != nil {
		t.Fatalf("parseMultipart: %v", err)
	}
	out, ct, err := d.encode()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	got := readParts(t, out, ct)
	want := []mpField{
		{name: "amount", data: []byte("1999")},
		{name: "card_number", data: []byte("4242424242424242")},
		{name: "receipt", filename: "receipt.png", contentType: "image/png", data: fileBytes},
		{name: "note", data: []byte("café")},
	}
	if len(got) != len(want) {
		t.Fatalf("%d parts after encode, want %d", len(got), len(want))
	}
	for i := range want {
		t.Run(want[i].name, func(t *testing.T) {
			g, w := got[i], want[i]
			if g.name != w.name || g.filename != w.filename || g.contentType != w.contentType {
				t.Errorf("part %d = %q %q %q, want %q %q %q", i, g.name, g.filename, g.contentType, w.name, w.filename, w.contentType)
			}
			if !bytes.Equal(g.data, w.data) {
				t.Errorf("part %d data differs (%d bytes, want %d)", i, len(g.data), len(w.data))
			}
		})
	}
}

func TestMultipartGetRemoveSet(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(d *multipartDoc)
		names []string // part names after the edit, in order
		field string
		value string
		found bool
	}{
		{name: "get a field", edit: func(*multipartDoc) {}, names: []string{"amount", "card_number", "receipt", "note"}, field: "amount", value: "1999", found: true},
		{name: "get utf-8 field", edit: func(*multipartDoc) {}, names: []string{"amount", "card_number", "receipt", "note"}, field: "note", value: "café", found: true},
		{name: "get ignores file parts", edit: func(*multipartDoc) {}, names: []string{"amount", "card_number", "receipt", "note"}, field: "receipt", found: false},
		{name: "card field removed", edit: func(d *multipartDoc) { d.remove("card_number") }, names: []string{"amount", "receipt", "note"}, field: "card_number", found: false},
		{name: "remove drops a file part too", edit: func(d *multipartDoc) { d.remove("receipt") }, names: []string{"amount", "card_number", "note"}, field: "amount", value: "1999", found: true},
		{name: "set adds a field at the end", edit: func(d *multipartDoc) { d.remove("card_number"); d.set("pm", "pm_123") }, names: []string{"amount", "receipt", "note", "pm"}, field: "pm", value: "pm_123", found: true},
		{name: "set replaces", edit: func(d *multipartDoc) { d.set("amount", "2500") }, names: []string{"card_number", "receipt", "note", "amount"}, field: "amount", value: "2500", found: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseMultipart(testMultipartBody(t), mpBoundary)
			if err != nil {
				t.Fatalf("parseMultipart: %v", err)
			}
			tc.edit(d)
			v, ok := d.get(tc.field)
			if ok != tc.found || v != tc.value {
				t.Errorf("get(%q) = %d chars, %v; want %d chars, %v", tc.field, len(v), ok, len(tc.value), tc.found)
			}
			out, ct, err := d.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			parts := readParts(t, out, ct)
			var names []string
			for _, p := range parts {
				names = append(names, p.name)
				if p.name == "receipt" && !bytes.Equal(p.data, fileBytes) {
					t.Errorf("file part changed")
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.names, ",") {
				t.Errorf("parts = %v, want %v", names, tc.names)
			}
			if tc.field == "card_number" && !tc.found && bytes.Contains(out, []byte("4242424242424242")) {
				t.Errorf("encoded body still holds the card number")
			}
		})
	}
}

func TestParseMultipartRefuses(t *testing.T) {
	good := testMultipartBody(t)
	for _, tc := range []struct {
		name     string
		body     []byte
		boundary string
	}{
		{name: "missing boundary", body: good, boundary: ""},
		{name: "wrong boundary", body: good, boundary: "other-boundary"},
		{name: "no parts", body: []byte("--" + mpBoundary + "--\r\n"), boundary: mpBoundary},
		{name: "empty body", body: nil, boundary: mpBoundary},
		{name: "garbage", body: []byte("this is not a multipart body at all"), boundary: mpBoundary},
		{name: "garbage lines", body: []byte("line one\r\nline two\r\n"), boundary: mpBoundary},
		{name: "part cut off", body: good[:len(good)/2], boundary: mpBoundary},
		{name: "invalid utf-8 field", body: buildMultipart(t, mpField{name: "note", data: []byte("\xff\xfe")}), boundary: mpBoundary},
		{name: "too many parts", body: buildMultipart(t, manyFields(maxParts+1)...), boundary: mpBoundary},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseMultipart(tc.body, tc.boundary)
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("parseMultipart error = %v, want ErrBadRequest", err)
			}
			if d != nil {
				t.Errorf("parseMultipart returned a document with an error")
			}
		})
	}
}

func manyFields(n int) []mpField {
	out := make([]mpField, n)
	for i := range out {
		out[i] = mpField{name: "f", data: []byte("x")}
	}
	return out
}

func TestParseMultipartLimits(t *testing.T) {
	d, err := parseMultipart(buildMultipart(t, manyFields(maxParts)...), mpBoundary)
	if err != nil {
		t.Fatalf("parseMultipart with %d parts: %v", maxParts, err)
	}
	if len(d.parts) != maxParts {
		t.Errorf("%d parts, want %d", len(d.parts), maxParts)
	}
	// A file part may hold any bytes.
	if _, err := parseMultipart(buildMultipart(t, mpField{name: "f", filename: "a.bin", data: []byte("\xff\xfe")}), mpBoundary); err != nil {
		t.Errorf("binary file part refused: %v", err)
	}
}

// A body that ends without its closing delimiter ("--boundary--") is truncated; it must be
// refused, not repaired and forwarded as if complete. mime/multipart reports such an end as
// an error that wraps io.EOF.
func TestParseMultipartRefusesMissingCloseDelimiter(t *testing.T) {
	part := "--" + mpBoundary + "\r\nContent-Disposition: form-data; name=\"amount\"\r\n\r\n1999"
	for _, tc := range []struct {
		name string
		body string
	}{
		{name: "ends after the next delimiter", body: part + "\r\n--" + mpBoundary},
		{name: "ends after the next delimiter line", body: part + "\r\n--" + mpBoundary + "\r\n"},
		{name: "ends inside the next part's headers", body: part + "\r\n--" + mpBoundary + "\r\nContent-Disposition: form-da"},
		{name: "close delimiter text inside a value, then cut", body: "--" + mpBoundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nsee --" + mpBoundary + "-- here\r\n--" + mpBoundary + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMultipart([]byte(tc.body), mpBoundary)
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("parseMultipart error = %v, want ErrBadRequest", err)
			}
		})
	}
}
