package pages

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

// The work of a rewrite grows linearly with the page: measured without a clock, as the
// bytes this package's code goes over, the allocations and the bytes allocated (which
// take in the tokenizer's buffer), for a page of n and of 8n.
func TestRewriteLinear(t *testing.T) {
	manyAttrs := func(n int) string { // distinct names: the tokenizer keeps them all
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, ` a%d="v&amp;%d"`, i, i)
		}
		return b.String()
	}
	cases := []struct {
		name string
		page func(n int) string
		n    int
	}{{
		name: "many script elements",
		page: func(n int) string {
			return strings.Repeat(`<script src="https://js.stripe.com/v3/"></script><script>`+inlineText+
				`</script><script src="/x.js" nonce=a></script><p>x</p>`, n)
		},
		n: 250,
	}, {
		name: "one script tag with a huge attribute list",
		page: func(n int) string { return `<script src="/static/app.js"` + manyAttrs(n) + `></script>` },
		n:    1500,
	}, {
		name: "huge attribute list, then many tags",
		page: func(n int) string {
			return `<div` + manyAttrs(n) + `>` + strings.Repeat(`<b x><script a=b></script>`, n)
		},
		n: 800,
	}, {
		name: "many script tags with many attributes",
		page: func(n int) string {
			return strings.Repeat(`<script src="/static/app.js"`+manyAttrs(50)+`></script>`, n)
		},
		n: 40,
	}, {
		name: "comments and text full of script openers",
		page: func(n int) string {
			return strings.Repeat(`<!-- <script> --> a <scrip <script>/*<!--<script>*/</script>`, n)
		},
		n: 1000,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			small, large := tc.page(tc.n), tc.page(8*tc.n)
			ws, as, bs := measure(t, small)
			wl, al, bl := measure(t, large)
			ratio := float64(len(large)) / float64(len(small))
			for _, m := range []struct {
				what         string
				small, large float64
			}{{"work", ws, wl}, {"allocations", as, al}, {"bytes allocated", bs, bl}} {
				t.Logf("%s: %.0f → %.0f (%.1f× for %.1f× the page)", m.what, m.small, m.large, m.large/m.small, ratio)
				if m.large > 1.5*ratio*m.small+64 {
					t.Errorf("%s: %.0f for %d bytes, %.0f for %d: grows %.1f× for %.1f× the page",
						m.what, m.small, len(small), m.large, len(large), m.large/m.small, ratio)
				}
			}
		})
	}
}

// measure rewrites page and returns the work counted, the allocations and the bytes
// allocated.
func measure(t *testing.T, page string) (work, allocs, allocated float64) {
	t.Helper()
	inv, base := NewInventory(testPage()), mustURL(testPageURL)
	run := func() *rewriter {
		rw := newRewriter(io.Discard, strings.NewReader(page), inv, base, testNonce, 16<<20)
		if _, err := rw.run(); err != nil {
			t.Fatal(err)
		}
		return rw
	}
	rw := run()
	if rw.res.Unparsed {
		t.Fatal("the page was not parsed to its end")
	}
	work = float64(rw.work)
	allocs = testing.AllocsPerRun(1, func() { run() })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const runs = 2
	for range runs {
		run()
	}
	runtime.ReadMemStats(&after)
	return work, allocs, float64(after.TotalAlloc-before.TotalAlloc) / runs
}
