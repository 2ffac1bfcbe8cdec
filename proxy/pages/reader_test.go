package pages_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy/pages"
)

type chunky struct {
	r   io.Reader
	rng *rand.Rand
}

func (c chunky) Read(b []byte) (int, error) {
	if len(b) > 1 {
		b = b[:1+c.rng.IntN(len(b))]
	}
	return c.r.Read(b)
}

func readAll(r io.Reader, rng *rand.Rand) ([]byte, error) {
	var out []byte
	for i := 0; i < 1<<22; i++ {
		b := make([]byte, rng.IntN(70))
		if rng.IntN(4) == 0 {
			b = make([]byte, 1+rng.IntN(40000))
		}
		n, err := r.Read(b)
		out = append(out, b[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("too many reads")
}

// checkReader compares the Reader with Rewrite on in.
func checkReader(t *testing.T, in []byte, seed uint64, max int64) {
	u, _ := url.Parse("https://shop.example/pay")
	inv := pages.NewInventory(config.Page{})
	var want bytes.Buffer
	wres, werr := pages.Rewrite(&want, bytes.NewReader(in), inv, u, "abc", max)
	rng := rand.New(rand.NewPCG(seed, 7))
	var gres pages.Result
	var gerr error
	calls := 0
	r := pages.NewReader(io.NopCloser(chunky{bytes.NewReader(in), rng}), inv, u, "abc", max, func(res pages.Result, err error) { gres, gerr = res, err; calls++ })
	got, err := readAll(r, rng)
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("input %q: got %q want %q", in, got, want.Bytes())
	}
	if (err == nil) != (werr == nil) || (gerr == nil) != (werr == nil) || calls != 1 {
		t.Fatalf("input %q: errs %v %v %v calls %d", in, err, gerr, werr, calls)
	}
	if gres.Bytes != wres.Bytes || len(gres.Scripts) != len(wres.Scripts) || gres.Unparsed != wres.Unparsed || gres.Nonces != wres.Nonces {
		t.Fatalf("input %q: results %+v %+v", in, gres, wres)
	}
}

// readerPage is a checkout page with external, inline, data-block and SVG scripts between
// ordinary markup.
func readerPage() string {
	var b strings.Builder
	b.WriteString(`<!doctype html><html><head><title>Pay</title><script src="https://cdn.example/a.js"></script>` +
		`<script>window.x = 1;</script><script type="application/json">{"k":"v"}</script></head><body>`)
	for i := 0; b.Len() < 20<<10; i++ {
		b.WriteString(`<section class="item"><h2>Plan</h2><p>Billed yearly &amp; monthly.</p><a href="/plans/x?y=1">Details</a></section>`)
		if i%40 == 0 {
			b.WriteString(`<svg><script href="/s.js"></script></svg><!-- <script>old()</script> -->`)
		}
	}
	b.WriteString(`<form><input name="card_number"></form></body></html>`)
	return b.String()
}

// TestReaderSame: the Reader gives Rewrite's bytes and Result whatever the read sizes, also
// past the page bound.
func TestReaderSame(t *testing.T) {
	p := readerPage()
	for seed := range uint64(200) {
		checkReader(t, []byte(p), seed, 4<<20)
		checkReader(t, []byte(p), seed, int64(1+seed*150))
	}
	big := strings.Repeat("<p>x</p><script>"+strings.Repeat("y", 1<<20)+"</script>", 3)
	checkReader(t, []byte(big), 1, 8<<20)
}

// FuzzReaderSame is TestReaderSame for any page, read size and bound.
func FuzzReaderSame(f *testing.F) {
	f.Add([]byte(readerPage()), uint64(1), uint16(1000))
	f.Add([]byte("<script src=x>a</script><p>"), uint64(2), uint16(0))
	f.Fuzz(func(t *testing.T, in []byte, seed uint64, max uint16) {
		m := int64(max)
		if m == 0 {
			m = 1 << 20
		}
		checkReader(t, in, seed, m)
	})
}
