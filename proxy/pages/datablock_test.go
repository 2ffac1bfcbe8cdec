package pages

import (
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
)

// TestDataBlocksAreNotFingerprinted: a data block (a script element of a type the browser
// does not run) carries per-request data; it gets no nonce and no hash, so two responses
// that differ only there have one fingerprint. A script type the browser runs is hashed.
func TestDataBlocksAreNotFingerprinted(t *testing.T) {
	base, _ := url.Parse("https://pay.example/checkout")
	inv := NewInventory(config.Page{Path: "/checkout"})
	run := func(page string) Result {
		res, err := Rewrite(io.Discard, strings.NewReader(page), inv, base, "n0nce", 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, typ := range []string{"application/json", "Application/LD+JSON", " text/template "} {
		a := run(`<script type="` + typ + `">{"csrf":"a1"}</script>`)
		b := run(`<script type="` + typ + `">{"csrf":"b2"}</script>`)
		if len(a.Scripts) != 1 || a.Scripts[0].SHA384 != "" || !strings.HasPrefix(a.Scripts[0].Note, NoteDataBlock) || a.Scripts[0].Nonce {
			t.Errorf("type %q: %+v; want a data block without hash or nonce", typ, a.Scripts)
		}
		if a.Scripts[0] != b.Scripts[0] {
			t.Errorf("type %q: the data changed the script's print: %+v vs %+v", typ, a.Scripts[0], b.Scripts[0])
		}
	}
	for _, typ := range []string{"text/javascript", "module", "importmap", "TEXT/JAVASCRIPT"} {
		r := run(`<script type="` + typ + `">run()</script>`)
		if len(r.Scripts) != 1 || r.Scripts[0].SHA384 == "" || r.Scripts[0].Note != "" {
			t.Errorf("type %q runs in the browser and must be hashed: %+v", typ, r.Scripts)
		}
	}
}
