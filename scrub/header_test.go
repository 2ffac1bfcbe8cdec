package scrub

import (
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestHeader(t *testing.T) {
	in := http.Header{
		"Accept":          {"application/json"},
		"Content-Type":    {"application/x-www-form-urlencoded"},
		"Authorization":   {"Bearer abc.def.ghi"},
		"Cookie":          {"sid=1; theme=dark"},
		"X-Api-Key":       {"k_123"},
		"User-Agent":      {"curl/8 card 4242424242424242"},
		"Referer":         {"https://shop.example/pay?card_number=4242424242424242&ok=1"},
		"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"},
		"X-Secret-Thing":  {"s"},
		"x-request-id":    {"req-1"}, // not canonical: set directly, not with Set
		"X-Payment-Token": {"pm_1AbcDEFghi"},
		"X-Card-Number":   {"4000 0566 5566 5556"},
	}
	snapshot := http.Header{}
	for k, v := range in {
		snapshot[k] = slices.Clone(v)
	}
	allowSnapshot := slices.Clone(DefaultHeaderAllowlist)

	for _, tc := range []struct {
		name  string
		allow []string
		want  http.Header
	}{
		{name: "default allowlist", allow: DefaultHeaderAllowlist, want: http.Header{
			"Accept":          {"application/json"},
			"Content-Type":    {"application/x-www-form-urlencoded"},
			"User-Agent":      {"curl/8 card [card:visa:4242]"},
			"Referer":         {"https://shop.example/pay?card_number=%5Bcard%3Avisa%3A4242%5D&ok=1"},
			"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"},
			"x-request-id":    {"req-1"},
		}},
		{name: "allowed but sensitive", allow: []string{"authorization", "COOKIE", "X-API-KEY", "X-Payment-Token", "X-Card-Number"}, want: http.Header{
			"Authorization":   {"[redacted:authorization]"},
			"Cookie":          {"[redacted:cookie]"},
			"X-Api-Key":       {"[redacted:api_key]"},
			"X-Payment-Token": {"pm_1AbcDEFghi"},
			"X-Card-Number":   {"[card:visa:5556]"},
		}},
		{name: "case-insensitive names", allow: []string{"content-type", "X-REQUEST-ID"}, want: http.Header{
			"Content-Type": {"application/x-www-form-urlencoded"},
			"x-request-id": {"req-1"},
		}},
		{name: "nil allowlist keeps nothing", allow: nil, want: http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Default().Header(in, tc.allow)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Header\n got %v\nwant %v", hidePAN(headerString(got)), hidePAN(headerString(tc.want)))
			}
			for name, vals := range got {
				for _, v := range vals {
					if panIn([]byte(v)) {
						t.Errorf("%s: a card number survives in %q", name, hidePAN(v))
					}
				}
				vals[0] = "changed" // must not reach the input
			}
			if !reflect.DeepEqual(in, snapshot) {
				t.Error("Header changed its argument")
			}
		})
	}
	if !slices.Equal(DefaultHeaderAllowlist, allowSnapshot) {
		t.Error("DefaultHeaderAllowlist changed")
	}
}

func headerString(h http.Header) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		fmt.Fprintf(&b, "%s: %q\n", k, h[k])
	}
	return b.String()
}
