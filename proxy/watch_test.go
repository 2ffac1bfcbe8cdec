package proxy

import (
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/scrub"
)

// countReports counts what a panWatch reports.
type countReports struct{ n int }

func (c *countReports) cardFound() { c.n++ }

// watchChunks feeds body to a fresh panWatch in chunks of the given sizes (the last size
// repeats) and returns how many times it reported a card.
func watchChunks(body []byte, sizes ...int) int {
	var tail [2 * watchTail]byte
	r := &countReports{}
	w := panWatch{buf: tail[:0], to: r}
	for i, k := 0, 0; i < len(body); k++ {
		n := min(sizes[min(k, len(sizes)-1)], len(body)-i)
		w.write(body[i : i+n])
		i += n
	}
	return r.n
}

// TestPanWatchAcrossChunks: a card number is reported once however the response is cut into
// reads, one split at any of its bytes included, and a clean response is never reported;
// the first read is looked at in place and later ones with the kept tail, as the whole body
// would be.
func TestPanWatchAcrossChunks(t *testing.T) {
	const card = "4242 4242 4242 4242" // Stripe's test Visa, Luhn-valid
	clean := []byte(strings.Repeat(`<li class="order">Order 1001, 19.99 EUR, 2026-12-03</li>`+"\n", 40))
	withCard := []byte(string(clean[:700]) + "card " + card + " on file" + string(clean[700:]))
	cardStart := strings.Index(string(withCard), card)

	for _, sizes := range [][]int{{len(withCard)}, {1}, {7}, {64}, {65}, {4096}, {cardStart + 1, 1}, {cardStart + 9, 4096}} {
		if got := watchChunks(withCard, sizes...); got != 1 {
			t.Errorf("chunks %v: %d reports, want 1", sizes, got)
		}
		if got := watchChunks(clean, sizes...); got != 0 {
			t.Errorf("clean body, chunks %v: %d reports, want 0", sizes, got)
		}
	}
	for cut := cardStart - 1; cut <= cardStart+len(card); cut++ {
		if got := watchChunks(withCard, cut, len(withCard)); got != 1 {
			t.Errorf("cut at byte %d (card at %d): %d reports, want 1", cut, cardStart, got)
		}
	}
	r := rand.New(rand.NewPCG(16, 2))
	for range 200 {
		body := withCard
		if r.IntN(2) == 0 {
			body = clean
		}
		sizes := []int{1 + r.IntN(200), 1 + r.IntN(200), 1 + r.IntN(3000)}
		want := 0
		if scrub.ContainsPAN(body) {
			want = 1
		}
		if got := watchChunks(body, sizes...); got != want {
			t.Fatalf("chunks %v: %d reports, the whole body %d", sizes, got, want)
		}
	}
}

// TestAcceptedEncodings: the app is asked only for encodings the card watch decodes; a list
// of those alone, on one line, is sent on as the client wrote it, without an allocation.
func TestAcceptedEncodings(t *testing.T) {
	tests := []struct {
		name string
		in   []string // the client's Accept-Encoding lines
		want []string // what the app gets; nil: no header
	}{
		{name: "none", in: nil, want: nil},
		{name: "gzip alone", in: []string{"gzip"}, want: []string{"gzip"}},
		{name: "decodable, as written", in: []string{"gzip;q=1.0,  deflate , identity"}, want: []string{"gzip;q=1.0,  deflate , identity"}},
		{name: "any case", in: []string{"GZip, X-GZIP"}, want: []string{"GZip, X-GZIP"}},
		{name: "a browser's", in: []string{"gzip, deflate, br, zstd"}, want: []string{"gzip, deflate"}},
		{name: "only undecodable", in: []string{"br, zstd"}, want: []string{"identity"}},
		{name: "empty items", in: []string{"gzip,,deflate"}, want: []string{"gzip, deflate"}},
		{name: "a name that only begins like one", in: []string{"gzipx, deflate"}, want: []string{"deflate"}},
		{name: "second line with br", in: []string{"gzip", "br"}, want: []string{"gzip"}},
		{name: "wildcard", in: []string{"*"}, want: []string{"identity"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.in != nil {
				h["Accept-Encoding"] = append([]string(nil), tc.in...)
			}
			acceptedEncodings(h)
			if got := h["Accept-Encoding"]; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Accept-Encoding %q became %q; want %q", tc.in, got, tc.want)
			}
		})
	}
	h := http.Header{"Accept-Encoding": {"gzip, deflate"}}
	if n := testing.AllocsPerRun(100, func() { acceptedEncodings(h) }); n != 0 {
		t.Errorf("a decodable list cost %v allocations; want 0", n)
	}
}
