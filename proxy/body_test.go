package proxy

import (
	"errors"
	"testing"
)

func TestParseDocument(t *testing.T) {
	mp := "multipart/form-data; boundary=" + mpBoundary
	for _, tc := range []struct {
		name        string
		kind        string
		contentType string
		body        string
		want        error // nil: parses
		field       string
		value       string
	}{
		{name: "form", kind: kindForm, contentType: "application/x-www-form-urlencoded", body: "a=1", field: "a", value: "1"},
		{name: "form charset utf-8", kind: kindForm, contentType: "application/x-www-form-urlencoded; charset=utf-8", body: "a=1", field: "a", value: "1"},
		{name: "form charset UTF-8 quoted", kind: kindForm, contentType: `application/x-www-form-urlencoded; charset="UTF-8"`, body: "a=1", field: "a", value: "1"},
		{name: "form media type in capitals", kind: kindForm, contentType: "Application/X-WWW-Form-URLEncoded", body: "a=1", field: "a", value: "1"},
		{name: "json", kind: kindJSON, contentType: "application/json", body: `{"a":{"b":"2"}}`, field: "a.b", value: "2"},
		{name: "json charset utf-8", kind: kindJSON, contentType: "application/json; charset=utf-8", body: `{"a":"1"}`, field: "a", value: "1"},
		{name: "multipart", kind: kindMultipart, contentType: mp, body: "", field: "amount", value: "1999"},

		{name: "json body on a form route", kind: kindForm, contentType: "application/json", body: `{"a":1}`, want: ErrUnsupportedMedia},
		{name: "form body on a json route", kind: kindJSON, contentType: "application/x-www-form-urlencoded", body: "a=1", want: ErrUnsupportedMedia},
		{name: "text/plain", kind: kindJSON, contentType: "text/plain", body: `{"a":1}`, want: ErrUnsupportedMedia},
		{name: "json suffix type", kind: kindJSON, contentType: "application/problem+json", body: `{"a":1}`, want: ErrUnsupportedMedia},
		{name: "multipart/mixed", kind: kindMultipart, contentType: "multipart/mixed; boundary=" + mpBoundary, want: ErrUnsupportedMedia},
		{name: "missing content type", kind: kindForm, contentType: "", body: "a=1", want: ErrUnsupportedMedia},
		{name: "malformed content type", kind: kindForm, contentType: "application/x-www-form-urlencoded; charset", body: "a=1", want: ErrUnsupportedMedia},
		{name: "charset latin1", kind: kindForm, contentType: "application/x-www-form-urlencoded; charset=latin1", body: "a=1", want: ErrUnsupportedMedia},
		{name: "charset iso-8859-1 json", kind: kindJSON, contentType: "application/json; charset=iso-8859-1", body: `{"a":1}`, want: ErrUnsupportedMedia},
		{name: "charset utf8 without dash", kind: kindJSON, contentType: "application/json; charset=utf8", body: `{"a":1}`, want: ErrUnsupportedMedia},
		{name: "multipart without boundary", kind: kindMultipart, contentType: "multipart/form-data", want: ErrBadRequest},
		{name: "malformed form body", kind: kindForm, contentType: "application/x-www-form-urlencoded", body: "a=%zz", want: ErrBadRequest},
		{name: "malformed json body", kind: kindJSON, contentType: "application/json", body: `{"a":`, want: ErrBadRequest},
		{name: "json too deep", kind: kindJSON, contentType: "application/json", body: `{"a":{"b":{"c":{"d":{"e":1}}}}}`, want: ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			if tc.kind == kindMultipart && tc.body == "" {
				body = testMultipartBody(t)
			}
			d, err := parseDocument(tc.kind, tc.contentType, body, 4)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Errorf("parseDocument error = %v, want %v", err, tc.want)
				}
				if tc.want == ErrUnsupportedMedia && errors.Is(err, ErrBadRequest) {
					t.Errorf("media type error also matches ErrBadRequest")
				}
				return
			}
			if err != nil {
				t.Fatalf("parseDocument: %v", err)
			}
			if v, ok := d.get(tc.field); !ok || v != tc.value {
				t.Errorf("get(%q) = %q, %v; want %q", tc.field, v, ok, tc.value)
			}
			_, ct, err := d.encode()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if ct != mediaTypes[tc.kind] && !(tc.kind == kindMultipart && len(ct) > len(mediaTypes[tc.kind])) {
				t.Errorf("encode content type = %q, want %q", ct, mediaTypes[tc.kind])
			}
		})
	}
}
