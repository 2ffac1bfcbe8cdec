package scrub

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
)

// TestCardRangeAgreesWithPanRange: cardRange, which reads the gathered digits eight at a
// time, answers as panRange does for every length and issuer range, whatever bytes lie past
// the digits.
func TestCardRangeAgreesWithPanRange(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 1))
	check := func(d []byte) {
		t.Helper()
		var buf [19 + 8]byte
		copy(buf[:], d)
		for k := len(d); k < len(buf); k++ {
			buf[k] = byte(r.IntN(256)) // what gather leaves past the digits
		}
		want, wantOK := panRange(d)
		got, ok := cardRange(&buf, len(d))
		if ok != wantOK || ok && (got.brand != want.brand || got.lo != want.lo || got.digits != want.digits) {
			t.Fatalf("%s: cardRange %v %+v, panRange %v %+v", d, ok, got, wantOK, want)
		}
	}
	for _, ir := range issuers {
		for n := 12; n <= 19; n++ {
			for range 20 {
				// A prefix in the range, then random digits: a Luhn check digit half the time.
				d := []byte(strings.Repeat("0", ir.digits))
				v := ir.lo + r.IntN(ir.hi-ir.lo+1)
				for k := ir.digits - 1; k >= 0; k-- {
					d[k], v = byte('0'+v%10), v/10
				}
				for len(d) < n-1 {
					d = append(d, byte('0'+r.IntN(10)))
				}
				if r.IntN(2) == 0 {
					d = append(d, luhnCheckDigit(d))
				} else {
					d = append(d, byte('0'+r.IntN(10)))
				}
				check(d)
			}
		}
	}
	for range 20000 {
		d := make([]byte, 12+r.IntN(8))
		for k := range d {
			d[k] = byte('0' + r.IntN(10))
		}
		check(d)
	}
}

// TestChainedShapesLinearWork: chained card numbers of each grouping (4-4-4-4, Amex's 4-6-5,
// 19 digits' 4-4-4-4-3, no groups) and each one-byte separator are masked one by one, read
// once: the scan carries the groups read past one card over to the next.
func TestChainedShapesLinearWork(t *testing.T) {
	var work atomic.Int64
	s := New(Options{})
	s.work = &work
	for _, card := range []string{"4242424242424242", "378282246310005", "6205500000000000004", "2223003122003222"} {
		for _, sep := range []string{" ", "-", "+"} {
			for _, one := range []string{grouped(card, sep), card} {
				in := strings.Repeat(one+sep, (64<<10)/(len(one)+1))
				cards := strings.Count(in, one)
				work.Store(0)
				out := string(s.Text([]byte(in)))
				if got := strings.Count(out, "[card:"); got != cards || ContainsPAN([]byte(out)) {
					t.Errorf("%q chained: %d masks for %d cards", one, got, cards)
				}
				if w := work.Load(); w > 2*int64(len(in)) {
					t.Errorf("%q chained: the detectors examined %d bytes for %d", one, w, len(in))
				}
			}
		}
	}
}

// TestCardAfterManyGroups: the reader keeps a small window of groups and drops those it is
// done with; a card, an SSN or track data after many short groups is found as at the start.
func TestCardAfterManyGroups(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{name: "card", in: "1 2 3 4 5 6 7 8 9 4242424242424242 ok", want: "1 2 3 4 5 6 7 8 9 [card:visa:4242] ok"},
		{name: "grouped card", in: "1 2 3 4 5 6 7 4242 4242 4242 4242 ok", want: "1 2 3 4 5 6 7 [card:visa:4242] ok"},
		{name: "ssn", in: "1 2 3 4 5 6 7 123-45-6789 ok", want: "1 2 3 4 5 6 7 [redacted:ssn] ok"},
		{name: "track 2 at the start", in: ";4242424242424242=34121010000000000? ok", want: "[redacted:track] ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Text([]byte(tc.in))); got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestContainsPANWithPrefixedSecrets: ContainsPAN returns at the first card while the text
// holds no prefixed secret; with one, the findings are merged first, as Text merges them.
func TestContainsPANWithPrefixedSecrets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{in: "4242 4242 4242 4242 then sk_live_abcdefgh", want: true},
		{in: "sk_live_abcdefgh then 4242 4242 4242 4242", want: true},
		{in: "Authorization: Bearer 4242-4242-4242-4242", want: true},
		{in: "Authorization: Bearer abcdefghijklmnop", want: false},
		{in: "vault hvs.CAESIJlQ3J0ZXN0aW5nLXRva2Vu order 4111", want: false},
		{in: strings.Repeat("4242-4242-4242-4242-", 1000) + "Bearer x", want: true},
	} {
		if got := ContainsPAN([]byte(tc.in)); got != tc.want {
			t.Errorf("ContainsPAN(%.60q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
