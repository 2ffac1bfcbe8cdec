package pages

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Security-Policy", "script-src 'nonce-AbC+/=' 'NONCE-xyz' 'self'; style-src 'nonce-q")
	h.Add("permissions-policy", "payment=(self)")
	h.Add("Permissions-Policy", "camera=()")
	h.Set("Referrer-Policy", "no-referrer 4242424242424242")
	h.Set("X-Frame-Options", strings.Repeat("x", 3000))
	h.Set("Set-Cookie", "session=secret")
	h.Set("Server", "nginx")
	got := Headers(h)
	want := map[string]string{
		"content-security-policy": "script-src 'nonce-*' 'nonce-*' 'self'; style-src 'nonce-*'",
		"permissions-policy":      "payment=(self), camera=()",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != 4 {
		t.Errorf("headers %v: want the four security headers only", got)
	}
	if strings.Contains(got["referrer-policy"], "4242424242424242") {
		t.Errorf("card number kept: %q", got["referrer-policy"])
	}
	if xfo := got["x-frame-options"]; len(xfo) > maxHeaderValue || !strings.HasSuffix(xfo, "…") {
		t.Errorf("x-frame-options is %d bytes", len(xfo))
	}
	if len(Headers(nil)) != 0 {
		t.Error("headers of nothing")
	}
}

func sampleFingerprint() Fingerprint {
	return Fingerprint{
		Headers: map[string]string{"content-security-policy": "default-src 'self'", "referrer-policy": "no-referrer"},
		Scripts: []ScriptPrint{
			{Src: stripeJS, SHA384: stripeSRI, Listed: true},
			{SHA384: sri([]byte(inlineText)), Listed: true},
			{Src: "https://evil.example/x.js", Note: NoteUnlisted},
			{Note: "meta csp: script-src 'self'"},
		},
	}
}

func TestFingerprintSum(t *testing.T) {
	a := sampleFingerprint()
	b := sampleFingerprint()
	b.Scripts[0], b.Scripts[3] = b.Scripts[3], b.Scripts[0]
	b.Scripts[1], b.Scripts[2] = b.Scripts[2], b.Scripts[1]
	if a.Sum() != b.Sum() {
		t.Error("Sum depends on the scripts' order")
	}
	if len(a.Sum()) != 64 {
		t.Errorf("Sum %q is not hex SHA-256", a.Sum())
	}
	c := sampleFingerprint()
	c.Scripts[0].SHA384 = appSRI
	if a.Sum() == c.Sum() {
		t.Error("Sum misses a changed script")
	}
	if (Fingerprint{}).Sum() != (Fingerprint{Headers: map[string]string{}, Scripts: []ScriptPrint{}}).Sum() {
		t.Error("nil and empty fingerprints differ")
	}
	parsed, err := ParseFingerprint(a.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Sum() != a.Sum() {
		t.Error("Sum changed over JSON and back")
	}
	if !strings.HasPrefix(string(a.JSON()), `{"headers":{"content-security-policy":`) {
		t.Errorf("JSON %s", a.JSON())
	}
	for _, bad := range []string{`{"headers":{},"scripts":[],"extra":1}`, `{"headers":{}} {}`, `[`, ``} {
		if _, err := ParseFingerprint([]byte(bad)); err == nil {
			t.Errorf("ParseFingerprint(%q) accepted", bad)
		}
	}
}

func TestDiff(t *testing.T) {
	old := sampleFingerprint()
	cases := []struct {
		name   string
		change func(f *Fingerprint)
		want   []string
	}{{
		name:   "nothing",
		change: func(f *Fingerprint) {},
		want:   nil,
	}, {
		name: "script added",
		change: func(f *Fingerprint) {
			f.Scripts = append(f.Scripts, ScriptPrint{Src: "https://skimmer.example/s.js", Note: NoteUnlisted})
		},
		want: []string{"script added: https://skimmer.example/s.js (not in the inventory)"},
	}, {
		name:   "inline script added",
		change: func(f *Fingerprint) { f.Scripts = append(f.Scripts, ScriptPrint{SHA384: sri([]byte("x()"))}) },
		want:   []string{"inline script added: " + sri([]byte("x()")) + " (not in the inventory)"},
	}, {
		name:   "script removed",
		change: func(f *Fingerprint) { f.Scripts = f.Scripts[1:] },
		want:   []string{"script removed: " + stripeJS},
	}, {
		name:   "script changed",
		change: func(f *Fingerprint) { f.Scripts[0].SHA384 = appSRI },
		want:   []string{"script changed: " + stripeJS + " " + stripeSRI + " → " + appSRI},
	}, {
		name:   "script fetch failed",
		change: func(f *Fingerprint) { f.Scripts[0].SHA384, f.Scripts[0].Note = "", NoteFetchFailed },
		want:   []string{"script changed: " + stripeJS + " " + stripeSRI + " → (fetch failed)"},
	}, {
		name:   "script no longer listed",
		change: func(f *Fingerprint) { f.Scripts[1].Listed = false },
		want:   []string{"inline script changed: " + sri([]byte(inlineText)) + " (no longer in the inventory)"},
	}, {
		name:   "meta policy changed",
		change: func(f *Fingerprint) { f.Scripts[3].Note = "meta csp: script-src *" },
		want:   []string{"removed: meta csp: script-src 'self'", "added: meta csp: script-src *"},
	}, {
		name: "headers",
		change: func(f *Fingerprint) {
			f.Headers = map[string]string{"content-security-policy": "default-src *", "permissions-policy": "payment=()"}
		},
		want: []string{"header changed: content-security-policy: default-src 'self' → default-src *",
			"header added: permissions-policy: payment=()", "header dropped: referrer-policy"},
	}, {
		name: "a reflected card number is scrubbed",
		change: func(f *Fingerprint) {
			f.Scripts = append(f.Scripts, ScriptPrint{Src: "https://shop.example/t.js?card=4242424242424242"})
		},
		want: []string{"script added: https://shop.example/t.js?card=[card:visa:4242] (not in the inventory)"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cur := sampleFingerprint()
			tc.change(&cur)
			got := Diff(old, cur)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Diff\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDiffBounded(t *testing.T) {
	var cur Fingerprint
	for i := range 30 {
		cur.Scripts = append(cur.Scripts, ScriptPrint{Src: fmt.Sprintf("https://x.example/%02d/%s", i, strings.Repeat("a", 300))})
	}
	got := Diff(Fingerprint{}, cur)
	if len(got) != maxDiffLines || got[maxDiffLines-1] != "… and 11 more" {
		t.Fatalf("%d lines, last %q", len(got), got[len(got)-1])
	}
	for _, l := range got {
		if len(l) > maxDiffLine {
			t.Errorf("line of %d bytes", len(l))
		}
	}
}
