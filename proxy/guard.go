package proxy

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

// CardEscape looks for a card number in a request that is not on a tokenization route: in
// the path, in the query (raw and unescaped), in header values, and in the body (raw, and
// unescaped when it is a form). It returns where it found one, or "".
func CardEscape(r *http.Request, body []byte) string {
	if containsPANEscaped(r.URL.EscapedPath()) {
		return "path"
	}
	if q := r.URL.RawQuery; q != "" && containsPANEscaped(q) {
		return "query"
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if scrub.ContainsPAN([]byte(v)) {
				return "header"
			}
		}
	}
	if len(body) > 0 {
		if scrub.ContainsPAN(body) {
			return "body"
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil &&
			strings.EqualFold(mt, mediaTypes[kindForm]) && containsPANEscaped(string(body)) {
			return "body"
		}
	}
	return ""
}

// containsPANEscaped looks for a card in s as it is and once url-decoded. The decoding is
// lenient: one malformed escape elsewhere must not hide a card.
func containsPANEscaped(s string) bool {
	if scrub.ContainsPAN([]byte(s)) {
		return true
	}
	if u := lenientUnescape(s); u != s {
		return scrub.ContainsPAN([]byte(u))
	}
	return false
}

// lenientUnescape decodes "+" and valid %XX escapes and leaves anything else as it is.
func lenientUnescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// escapeError is ErrCardEscape with where the card was: path, query, header, body,
// tokenization_body.
type escapeError struct{ where string }

func (e *escapeError) Error() string { return fmt.Sprintf("%v: found in %s", ErrCardEscape, e.where) }

// Unwrap makes errors.Is(err, ErrCardEscape) hold.
func (e *escapeError) Unwrap() error { return ErrCardEscape }

func errCardEscape(where string) error { return &escapeError{where: where} }

// escapeWhere is where an ErrCardEscape found its card ("" when err is none).
func escapeWhere(err error) string {
	var e *escapeError
	if errors.As(err, &e) {
		return e.where
	}
	return ""
}
