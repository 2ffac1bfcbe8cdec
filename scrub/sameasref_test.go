package scrub

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/scrub/internal/scrubref"
)

// The scan of clean text was rewritten for speed; internal/scrubref is the scrubber as it was
// before. These tests hold the rewrite to byte-identical output on every entry point: the
// string literals of every test in this package, the benchmark corpora, log-like text with
// sensitive data at random offsets, and whatever the fuzzer makes.

// refPair is a Scrubber and the reference built with the same options.
type refPair struct {
	name string
	s    *Scrubber
	ref  *scrubref.Scrubber
}

var refPairs = func() []refPair {
	extra := []KeyRule{{Name: "merchant_secret", Kind: KindSecret, Suffix: true}, {Name: "x", Kind: KindToken}}
	refExtra := make([]scrubref.KeyRule, len(extra))
	for k, r := range extra {
		refExtra[k] = scrubref.KeyRule{Name: r.Name, Kind: scrubref.Kind(r.Kind), Suffix: r.Suffix}
	}
	return []refPair{
		{name: "default", s: Default(), ref: scrubref.Default()},
		{name: "first6", s: New(Options{CardMask: MaskFirst6Last4}), ref: scrubref.New(scrubref.Options{CardMask: scrubref.MaskFirst6Last4})},
		{name: "extra-keys", s: New(Options{ExtraKeys: extra}), ref: scrubref.New(scrubref.Options{ExtraKeys: refExtra})},
	}
}()

// sameAsReference reports the first entry point whose output on in differs from the
// reference's, or "".
func sameAsReference(in []byte) string {
	keep := bytes.Clone(in)
	for _, p := range refPairs {
		if got, want := p.s.Text(in), p.ref.Text(in); !bytes.Equal(got, want) {
			return fmt.Sprintf("%s: Text gives %q, the reference %q", p.name, masked(string(got)), masked(string(want)))
		}
		if got, want := fmt.Sprintf("%+v", p.s.Find(in)), fmt.Sprintf("%+v", p.ref.Find(in)); got != want {
			return fmt.Sprintf("%s: Find gives %s, the reference %s", p.name, masked(got), masked(want))
		}
		var got, want bytes.Buffer
		if _, err := p.s.NewWriter(&got).Write(in); err != nil {
			return err.Error()
		}
		if _, err := p.ref.NewWriter(&want).Write(in); err != nil {
			return err.Error()
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			return fmt.Sprintf("%s: Writer gives %q, the reference %q", p.name, masked(got.String()), masked(want.String()))
		}
		gotJ, errJ := p.s.JSONBytes(in)
		wantJ, refErrJ := p.ref.JSONBytes(in)
		if !bytes.Equal(gotJ, wantJ) || fmt.Sprint(errJ) != fmt.Sprint(refErrJ) {
			return fmt.Sprintf("%s: JSON gives %q (%v), the reference %q (%v)", p.name, masked(string(gotJ)), errJ, masked(string(wantJ)), refErrJ)
		}
		if got, want := p.s.Form(string(in)), p.ref.Form(string(in)); got != want {
			return fmt.Sprintf("%s: Form gives %q, the reference %q", p.name, masked(got), masked(want))
		}
		if got, want := p.s.URL(string(in)), p.ref.URL(string(in)); got != want {
			return fmt.Sprintf("%s: URL gives %q, the reference %q", p.name, masked(got), masked(want))
		}
	}
	if got, want := ContainsPAN(in), scrubref.ContainsPAN(in); got != want {
		return fmt.Sprintf("ContainsPAN gives %v, the reference %v", got, want)
	}
	if !bytes.Equal(in, keep) {
		return "an entry point modified its input"
	}
	return ""
}

// testLiterals returns every string literal of four bytes or more in this package's tests:
// the inputs of every table test, however it is written.
func testLiterals(t testing.TB) []string {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil && len(s) >= 4 {
					out = append(out, s)
				}
			}
			return true
		})
	}
	return out
}

// logPieces are what randomLogText builds lines from: log text, keys, and sensitive data in
// the shapes the detectors know.
var logPieces = []string{
	`{"level":"info","request_id":"`, `","route":"passthrough","path":"/orders/`, `","status":200,"latency_ms":`,
	`"time":1795880123456`, `,"message":"request"}`, "2026-11-28T15:43:02.123Z INFO ", " user=ada ip=10.0.4.12 ",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "INV-2026-004211", "trace_id=",
	"9f3a0c21d4e5b6a7", "card", "pan ", "cc:", "Karte ", "tarjeta ", "routing ", "aba ", "rtn=", "order ",
	"cvc=", `"cvc":"`, "card_number=", `"exp_month":`, "expiry: ", "pin=", "password=", `"token":"`, "api_key: ",
	"Authorization: Bearer ", "bearer ", "sk_live_", "rk_test_", "whsec_", "twk_", "hvs.", "hvb.", "cookie=",
	"%B", "^LOVELACE/ADA^", ";", "=", "?", "%20", "+", "-", " ", "  ", "\n", "\t", ":", "&", ",", "\"", "'", "[", "]",
	"{", "}", "[card:visa:4242]", "[redacted:cvc]", "DE", "GB", "IBAN ", "x", "AB", "0x", "%4", "pm_1QabcdefGHIJ",
	"4242424242424242", "4000 0566 5566 5556", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117",
	"3566 0020 2036 0505", "100000000000009", "501800000009", "1946000000000005", "6205500000000000004",
	"123-45-6789", "078-05-1120", "021000021", "011000015", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
	"DE89370400440532013000", "34121010000000000000", "sk_live_51HxAbCdEfGhIjKlMnOp", "hvs.CAESIJlQ3J0ZXN0aW5nLXRva2Vu",
	"eyJhbGciOiJIUzI1NiJ9.e30.abc", "whsec_AbCdEfGh12345678", "twk_abcdefgh_ijklmnopqrstuvwxyz",
}

// randomDigits returns n random digits in groups joined by random separators.
func randomDigits(r *rand.Rand, n int) string {
	var b strings.Builder
	for k := range n {
		if k > 0 && r.IntN(5) == 0 {
			b.WriteString([]string{" ", "-", "+", "%20", "  ", "."}[r.IntN(6)])
		}
		b.WriteByte(byte('0' + r.IntN(10)))
	}
	return b.String()
}

// randomCard returns a Luhn-valid number of 12 to 19 digits with a common issuer prefix,
// plain or grouped.
func randomCard(r *rand.Rand) string {
	prefixes := []string{"4", "51", "2221", "34", "37", "6011", "65", "3528", "36", "62", "50", "6759", "1", "1946", "2200", "9792", "31", "60"}
	b := []byte(prefixes[r.IntN(len(prefixes))])
	n := 12 + r.IntN(8)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	d := string(append(b, luhnCheckDigit(b)))
	if r.IntN(2) == 0 {
		return d
	}
	return grouped(d, []string{" ", "-", "+", "%20"}[r.IntN(4)])
}

// randomLogText returns a log-like text of pieces, digit runs and cards, with random bytes
// put in at random offsets.
func randomLogText(r *rand.Rand) []byte {
	var b []byte
	for range 1 + r.IntN(24) {
		switch r.IntN(10) {
		case 0, 1:
			b = append(b, randomDigits(r, 1+r.IntN(24))...)
		case 2:
			b = append(b, randomCard(r)...)
		case 3:
			b = append(b, benchAlnum(r, 1+r.IntN(30))...)
		default:
			b = append(b, logPieces[r.IntN(len(logPieces))]...)
		}
	}
	for range r.IntN(4) {
		at := r.IntN(len(b) + 1)
		c := byte(r.IntN(256))
		if r.IntN(2) == 0 {
			c = " -+%:=\"_0123456789ABZabkvhe"[r.IntN(27)]
		}
		b = append(b[:at], append([]byte{c}, b[at:]...)...)
	}
	return b
}

func TestSameAsReferenceOnTestCorpora(t *testing.T) {
	var inputs []string
	inputs = append(inputs, testLiterals(t)...)
	for _, lines := range [][][]byte{cleanLog()[:400], must2(benchCorpus(300, true)), must2(benchCorpus(300, false))} {
		for _, l := range lines {
			inputs = append(inputs, string(l))
		}
	}
	inputs = append(inputs, chainedCards(4096), strings.Repeat("4242424242424242g", 100))
	for _, dir := range []string{"testdata/fuzz/FuzzText", "testdata/fuzz/FuzzURL", "testdata/fuzz/FuzzSameAsReference"} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, string(b))
		}
	}
	for _, in := range inputs {
		if msg := sameAsReference([]byte(in)); msg != "" {
			t.Fatalf("on %q: %s", masked(in), msg)
		}
	}
	t.Logf("%d inputs identical on every entry point", len(inputs))
}

func must2(a, b [][]byte) [][]byte { return append(a, b...) }

// TestSameAsReferenceOnRandomLogs: log-like text with cards, SSNs, IBANs, keys and secrets
// at random offsets and with random separators.
func TestSameAsReferenceOnRandomLogs(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	r := rand.New(rand.NewPCG(7, 11))
	found := 0
	for range n {
		in := randomLogText(r)
		if msg := sameAsReference(in); msg != "" {
			t.Fatalf("on %q: %s", masked(string(in)), msg)
		}
		if len(std.Find(in)) > 0 {
			found++
		}
	}
	// The texts must hold findings, or the comparison proves little.
	if found < n/4 {
		t.Fatalf("only %d of %d random texts hold a finding", found, n)
	}
	t.Logf("%d random texts identical on every entry point, %d with findings", n, found)
}

// FuzzSameAsReference: on any input, every entry point gives what the reference gives.
func FuzzSameAsReference(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 5))
	for range 64 {
		f.Add(randomLogText(r))
	}
	for _, l := range cleanLog()[:16] {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if msg := sameAsReference(in); msg != "" {
			t.Fatalf("on %q: %s", masked(string(in)), msg)
		}
	})
}
