package scrub

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// iinRow is one range of testdata/iin.csv, the IIN table of the card networks: written from
// the networks' registrations, independently of the package's table, which it checks.
type iinRow struct {
	network  string
	lo, hi   string // prefixes of the same length
	lengths  []int
	active   bool
	brand    Brand // what tokenwall reports; "" for an inactive row
	context  []int // lengths taken only next to a card word or under a card key
	validate string
}

// covers reports whether the row issues d: its prefix and its length.
func (r iinRow) covers(d string) bool {
	if len(d) < len(r.lo) || !slices.Contains(r.lengths, len(d)) {
		return false
	}
	p := d[:len(r.lo)]
	return p >= r.lo && p <= r.hi
}

// iinTable reads testdata/iin.csv once.
var iinTable = sync.OnceValues(func() ([]iinRow, error) {
	f, err := os.Open("testdata/iin.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("testdata/iin.csv: %w", err)
	}
	if len(recs) < 2 || strings.Join(recs[0], ",") != "network,prefix_low,prefix_high,lengths,status,validation,brand,context,note" {
		return nil, fmt.Errorf("testdata/iin.csv: unexpected header %q", recs[0])
	}
	var rows []iinRow
	for i, rec := range recs[1:] {
		r, err := parseIINRow(rec)
		if err != nil {
			return nil, fmt.Errorf("testdata/iin.csv row %d: %w", i+2, err)
		}
		rows = append(rows, r)
	}
	return rows, nil
})

func parseIINRow(rec []string) (iinRow, error) {
	r := iinRow{network: rec[0], lo: rec[1], hi: rec[2], validate: rec[5]}
	if len(r.lo) != len(r.hi) || r.lo > r.hi || !allDigits(r.lo) || !allDigits(r.hi) {
		return r, fmt.Errorf("bad prefix range %s-%s", r.lo, r.hi)
	}
	var err error
	if r.lengths, err = parseLengths(rec[3]); err != nil || len(r.lengths) == 0 {
		return r, fmt.Errorf("bad lengths %q: %v", rec[3], err)
	}
	if r.context, err = parseLengths(rec[7]); err != nil {
		return r, fmt.Errorf("bad context %q: %w", rec[7], err)
	}
	switch rec[4] {
	case "active":
		r.active, r.brand = true, Brand(rec[6])
	case "inactive":
		if rec[6] != "-" {
			return r, fmt.Errorf("inactive row with brand %q", rec[6])
		}
	default:
		return r, fmt.Errorf("bad status %q", rec[4])
	}
	return r, nil
}

// parseLengths reads "16", "16-19" or "16;18;19".
func parseLengths(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ";") {
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a > b || a < 12 || b > 19 {
			return nil, fmt.Errorf("bad length %q", part)
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	return out, nil
}

func mustIIN(t testing.TB) []iinRow {
	t.Helper()
	rows, err := iinTable()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// iinExpect is what the table says of d: the most specific active row that issues it.
// Overlapping rows of the same specificity must agree.
func iinExpect(t testing.TB, rows []iinRow, d string) (iinRow, bool) {
	t.Helper()
	var best iinRow
	found := false
	for _, r := range rows {
		if !r.active || !r.covers(d) {
			continue
		}
		switch {
		case !found || len(r.lo) > len(best.lo):
			best, found = r, true
		case len(r.lo) == len(best.lo) && (r.brand != best.brand || slices.Contains(r.context, len(d)) != slices.Contains(best.context, len(d))):
			t.Fatalf("rows %s %s-%s and %s %s-%s overlap at %d digits with different brands or context",
				best.network, best.lo, best.hi, r.network, r.lo, r.hi, len(d))
		}
	}
	return best, found
}

// iinNumber returns a Luhn-valid number of n digits starting with prefix.
func iinNumber(r *rand.Rand, prefix string, n int) string {
	b := []byte(prefix)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(append(b, luhnCheckDigit(b)))
}

// TestIINTable: for every active range of testdata/iin.csv, Luhn-valid numbers of each issued
// length at the low and the high prefix are card numbers of the brand the table gives: by
// IsPAN, masked by Text plain and grouped, and seen by ContainsPAN. A number that needs card
// context is found after "card" and left alone after "ref".
func TestIINTable(t *testing.T) {
	rows := mustIIN(t)
	r := rand.New(rand.NewPCG(2026, 1203))
	checked := 0
	for _, row := range rows {
		if !row.active {
			continue
		}
		t.Run(row.network+" "+row.lo+"-"+row.hi, func(t *testing.T) {
			for _, prefix := range []string{row.lo, row.hi} {
				for _, n := range row.lengths {
					for range 3 {
						checkIINNumber(t, rows, iinNumber(r, prefix, n))
						checked++
					}
				}
			}
		})
	}
	t.Logf("%d numbers of %d ranges checked", checked, len(rows))
}

func checkIINNumber(t *testing.T, rows []iinRow, d string) {
	t.Helper()
	want, ok := iinExpect(t, rows, d)
	if !ok {
		t.Fatalf("%s: no active row covers it", masked(d))
	}
	gated := slices.Contains(want.context, len(d))
	if got, ok := IsPAN(d); !ok || got != want.brand {
		t.Errorf("IsPAN(%s, %d digits) = %q, %v; want %q (%s %s-%s)", masked(d), len(d), got, ok, want.brand, want.network, want.lo, want.hi)
	}
	mask := "[card:" + string(want.brand) + ":" + d[len(d)-4:] + "]"
	lead := "ref "
	if gated {
		lead = "card "
	}
	for _, shown := range []string{d, grouped(d, " ")} {
		line := []byte(lead + shown + " ok")
		if got := string(Text(line)); got != lead+mask+" ok" {
			t.Errorf("Text(%q) = %q, want %q", masked(string(line)), masked(got), lead+mask+" ok")
		}
		if !ContainsPAN(line) {
			t.Errorf("ContainsPAN(%q) = false", masked(string(line)))
		}
		if gated {
			alone := []byte("ref " + shown + " ok")
			if !bytes.Equal(Text(alone), alone) || ContainsPAN(alone) {
				t.Errorf("%q: taken without card context", masked(string(alone)))
			}
		}
	}
}

// TestIINInactiveRanges: a number in an inactive range is no card of a new brand; it is what
// the active ranges make of it (Switch's 4903 is Visa's), or no card at all.
func TestIINInactiveRanges(t *testing.T) {
	rows := mustIIN(t)
	r := rand.New(rand.NewPCG(2026, 1204))
	for _, row := range rows {
		if row.active {
			continue
		}
		t.Run(row.network+" "+row.lo+"-"+row.hi, func(t *testing.T) {
			for _, prefix := range []string{row.lo, row.hi} {
				for _, n := range row.lengths {
					d := iinNumber(r, prefix, n)
					want, _ := iinExpect(t, rows, d)
					if got, _ := IsPAN(d); got != want.brand {
						t.Errorf("IsPAN(%s, %d digits) = %q, want %q", masked(d), n, got, want.brand)
					}
				}
			}
		})
	}
}

// allBrands lists the package's brands; TestIINBrands keeps it and the table in step.
var allBrands = []Brand{Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro, Mir, RuPay,
	Troy, UATP, InterPayment, InstaPayment, ChinaTUnion, Verve, Dankort, UkrCard, Borica,
	NPSPridnestrovie, LankaPay, UzCard, Humo, Napas, AfriGo, GPN}

// TestIINBrands: every brand the table names is a package brand, every package brand is in
// the table, and the issuer table of the package uses no other.
func TestIINBrands(t *testing.T) {
	inTable := map[Brand]bool{}
	for _, row := range mustIIN(t) {
		if row.active {
			inTable[row.brand] = true
			if !slices.Contains(allBrands, row.brand) {
				t.Errorf("%s %s-%s: brand %q is not a package brand", row.network, row.lo, row.hi, row.brand)
			}
		}
	}
	for _, b := range allBrands {
		if !inTable[b] {
			t.Errorf("brand %q is in no row of testdata/iin.csv", b)
		}
	}
	for _, r := range issuers {
		if !slices.Contains(allBrands, r.brand) {
			t.Errorf("issuer range %d-%d: brand %q not listed", r.lo, r.hi, r.brand)
		}
	}
}

// TestIssuerOverlapsResolved: two ranges of the package's table that overlap at the same
// specificity and share a length carry one brand and one context rule, so that which one a
// lookup meets first never matters.
func TestIssuerOverlapsResolved(t *testing.T) {
	for i, a := range issuers {
		for _, b := range issuers[i+1:] {
			if a.digits != b.digits || a.hi < b.lo || b.hi < a.lo || a.lengths&b.lengths == 0 {
				continue
			}
			shared := a.lengths & b.lengths
			if a.brand != b.brand || a.context&shared != b.context&shared {
				t.Errorf("ranges %d-%d (%s) and %d-%d (%s) overlap", a.lo, a.hi, a.brand, b.lo, b.hi, b.brand)
			}
		}
	}
}
