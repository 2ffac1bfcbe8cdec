package proxy

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type guardCase struct {
	name    string
	target  string
	headers map[string]string
	body    string
	want    string
}

func runGuardCases(t *testing.T, cases []guardCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			// The request holds test card numbers: report only where, never what.
			if got := CardEscape(r, []byte(tc.body)); got != tc.want {
				t.Errorf("cardEscape = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCardEscape(t *testing.T) {
	const formCT = "application/x-www-form-urlencoded"
	runGuardCases(t, []guardCase{
		{name: "query raw", target: "/orders?pan=4242424242424242", want: "query"},
		{name: "query dashes", target: "/orders?pan=4242-4242-4242-4242", want: "query"},
		{name: "query percent-20 separators", target: "/orders?pan=4242%204242%204242%204242", want: "query"},
		{name: "query plus separators", target: "/orders?pan=4242+4242+4242+4242", want: "query"},
		{name: "query amex percent-20", target: "/orders?a=1&pan=3782%20822463%2010005&b=2", want: "query"},
		{name: "query escaped digits", target: "/orders?pan=%34%32%34%32%34%32%34%32%34%32%34%32%34%32%34%32", want: "query"},
		{name: "header value", target: "/orders", headers: map[string]string{"X-Note": "card 4242 4242 4242 4242"}, want: "header"},
		{name: "cookie header", target: "/orders", headers: map[string]string{"Cookie": "last=5555555555554444"}, want: "header"},
		{name: "query wins over header", target: "/orders?pan=4242424242424242", headers: map[string]string{"X-Note": "5555555555554444"}, want: "query"},
		{name: "json body raw", target: "/orders", headers: map[string]string{"Content-Type": "application/json"}, body: `{"note":"4242424242424242"}`, want: "body"},
		{name: "json body number", target: "/orders", headers: map[string]string{"Content-Type": "application/json"}, body: `{"note":6011111111111117}`, want: "body"},
		{name: "text body grouped", target: "/orders", headers: map[string]string{"Content-Type": "text/plain"}, body: "pay with 3566 0020 2036 0505", want: "body"},
		{name: "form body plus separators", target: "/orders", headers: map[string]string{"Content-Type": formCT}, body: "note=4242+4242+4242+4242", want: "body"},
		{name: "form body percent-20 separators", target: "/orders", headers: map[string]string{"Content-Type": formCT}, body: "note=4242%204242%204242%204242", want: "body"},
		{name: "form body with charset", target: "/orders", headers: map[string]string{"Content-Type": formCT + "; charset=utf-8"}, body: "note=4242+4242+4242+4242", want: "body"},

		{name: "clean request", target: "/orders?page=2&ts=1732800000000", headers: map[string]string{"X-Request-ID": "550e8400-e29b-41d4-a716-446655440000", "Content-Type": "application/json"}, body: `{"amount":1999,"phone":"+1 415 555 0132"}`, want: ""},
		{name: "clean empty", target: "/", want: ""},
		{name: "luhn-invalid number", target: "/orders?n=4242424242424241", want: ""},
		{name: "plus separators in a json body are not a card", target: "/orders", headers: map[string]string{"Content-Type": "application/json"}, body: `{"n":"4242+4242+4242+4241"}`, want: ""},
		{name: "malformed escape in clean query", target: "/orders?x=%zz&page=2", want: ""},
	})
}

// A malformed %-escape anywhere in the query or form body makes url.QueryUnescape fail for
// the whole string, and the unescaped check is skipped; the receiving server (net/http's
// ParseQuery, echo's QueryParams) still decodes every well-formed pair and sees the card.
func TestCardEscapeMalformedEscapeDoesNotHideCard(t *testing.T) {
	runGuardCases(t, []guardCase{
		{name: "query", target: "/orders?x=%zz&pan=4242+4242+4242+4242", want: "query"},
		{name: "query percent-20", target: "/orders?pan=4242%204242%204242%204242&x=%", want: "query"},
		{name: "form body", target: "/orders", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "x=%zz&note=4242+4242+4242+4242", want: "body"},
	})
}

// Media types are case-insensitive (RFC 9110 8.3.1); net/http's ParseForm lowercases them,
// so the billing app decodes this body as a form and gets the card.
func TestCardEscapeFormContentTypeCaseInsensitive(t *testing.T) {
	runGuardCases(t, []guardCase{
		{name: "capitalised form type", target: "/orders", headers: map[string]string{"Content-Type": "Application/X-WWW-Form-Urlencoded"}, body: "note=4242+4242+4242+4242", want: "body"},
	})
}

func TestErrCardEscape(t *testing.T) {
	err := errCardEscape("query")
	if !errors.Is(err, ErrCardEscape) {
		t.Errorf("errors.Is(err, ErrCardEscape) = false")
	}
	if !strings.Contains(err.Error(), "query") {
		t.Errorf("error %q does not say where", err)
	}
	if p := kindOf(err); p.status != http.StatusBadRequest || strings.Contains(p.message, "query") {
		t.Errorf("kindOf = %d %q", p.status, p.message)
	}
}
