package pages

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

const (
	// maxHeaderValue bounds a header's value in a fingerprint.
	maxHeaderValue = 2 << 10
	// maxDiffLines and maxDiffLine bound what Diff returns.
	maxDiffLines = 20
	maxDiffLine  = 200
	// maxDiffValue bounds a header value quoted in a Diff line.
	maxDiffValue = 80
)

// Notes on a Script, saying why a listed script got no nonce or what else is odd about it.
const (
	// NoteHref marks a script element with an href attribute, which an SVG script loads.
	NoteHref = "nonce withheld: href attribute"
	// NoteExternalText, followed by the text's hash, marks an external script element that
	// holds text, which an SVG script would run.
	NoteExternalText = "text in an external script element: "
	// NoteMarkup marks a listed inline script whose text would not end where the tokenizer
	// ends it if the element were in SVG; the policy's hash still lets it run in HTML.
	NoteMarkup = "nonce withheld: markup in the text"
)

// Script is one script element of a page as Rewrite saw it.
type Script struct {
	// Src is the absolute URL of an external script (or of an SVG script's href), cut at
	// 2 KiB; the attribute as written if it is no URL, "(empty src)" if empty; "" inline.
	Src string
	// SHA384 is the SRI hash of an inline script's text (after the browser's newline and
	// NUL normalisation); "" for an external script, whose file the fetcher hashes.
	SHA384 string
	// Listed reports whether the script is in the page's inventory.
	Listed bool
	// Nonce reports whether Rewrite put the response's nonce on it.
	Nonce bool
	// Truncated reports an inline script longer than MaxInlineScript: not listed, whatever
	// its hash; SHA384 is of as much of its text as the tokenizer held.
	Truncated bool
	// Note is "" or one of the Note constants (NoteExternalText with a hash after it).
	Note string
}

// Result is what Rewrite saw of a page.
type Result struct {
	// Scripts are the page's first MaxScripts script elements, in page order.
	Scripts []Script
	// MoreScripts counts the script elements after those; MoreSHA384 hashes them all.
	MoreScripts int
	MoreSHA384  string
	// MetaCSP holds the content of each <meta http-equiv="content-security-policy">
	// (each cut at 2 KiB, the first 16): a policy the page sets for itself.
	MetaCSP []string
	// Unparsed reports that a token longer than the tokenizer's bound (1 MiB) stopped the
	// parse and the rest of the page went through as it was, without a nonce on any of its
	// scripts; UnparsedSHA384 hashes that rest so that a change to it is still seen.
	Unparsed       bool
	UnparsedSHA384 string
	// Bytes counts the body bytes read; Nonces the scripts given the nonce.
	Bytes  int64
	Nonces int
}

// Fingerprint is what a payment page is made of as far as its security goes: its security
// headers and its scripts. An unchanged page fingerprints alike on every response.
type Fingerprint struct {
	Headers map[string]string `json:"headers"`
	Scripts []ScriptPrint     `json:"scripts"`
}

// ScriptPrint is one script of a Fingerprint, or another entry that bears on the page's
// scripts (a meta policy, the unparsed rest of a page), told apart by its Note.
type ScriptPrint struct {
	Src    string `json:"src,omitempty"`
	SHA384 string `json:"sha384,omitempty"`
	Listed bool   `json:"listed"`
	Note   string `json:"note,omitempty"`
}

// Headers returns the SecurityHeaders present in h as a fingerprint holds them: repeated
// values joined with ", ", every 'nonce-…' as 'nonce-*' (a fresh one is no change),
// scrubbed and cut at 2 KiB.
func Headers(h http.Header) map[string]string {
	out := map[string]string{}
	for _, name := range SecurityHeaders() {
		if vs := h.Values(name); len(vs) > 0 {
			v := maskNonces(strings.Join(vs, ", "))
			out[name] = cut(string(scrub.Text([]byte(v))), maxHeaderValue)
		}
	}
	return out
}

// maskNonces replaces the value of every nonce source of a policy with "*".
func maskNonces(v string) string {
	const kw = "'nonce-"
	var b strings.Builder
	for {
		i := indexFoldASCII(v, kw)
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		b.WriteString(v[:i])
		b.WriteString("'nonce-*'")
		rest := v[i+len(kw):]
		if j := strings.IndexByte(rest, '\''); j >= 0 {
			v = rest[j+1:]
		} else if j := strings.IndexAny(rest, " \t;,"); j >= 0 {
			v = rest[j:]
		} else {
			v = ""
		}
	}
}

// indexFoldASCII is strings.Index with the ASCII letters of kw (lower case) in any case.
func indexFoldASCII(s, kw string) int {
next:
	for i := 0; i+len(kw) <= len(s); i++ {
		for j := 0; j < len(kw); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != kw[j] {
				continue next
			}
		}
		return i
	}
	return -1
}

// canonical is f with its scripts sorted and no nil map or slice, so that the same page
// always encodes alike.
func (f Fingerprint) canonical() Fingerprint {
	c := Fingerprint{Headers: f.Headers, Scripts: slices.Clone(f.Scripts)}
	if c.Headers == nil {
		c.Headers = map[string]string{}
	}
	if c.Scripts == nil {
		c.Scripts = []ScriptPrint{}
	}
	slices.SortFunc(c.Scripts, compareScripts)
	return c
}

func compareScripts(a, b ScriptPrint) int {
	return cmp.Or(strings.Compare(a.Src, b.Src), strings.Compare(a.SHA384, b.SHA384),
		compareBool(a.Listed, b.Listed), strings.Compare(a.Note, b.Note))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// JSON returns the canonical JSON of f: scripts sorted by Src, then SHA384; header names
// sorted.
func (f Fingerprint) JSON() []byte {
	b, err := json.Marshal(f.canonical())
	if err != nil {
		return nil // strings, bools and a map of strings always encode
	}
	return b
}

// Sum returns the hex SHA-256 of f's canonical JSON: the fingerprint as stored and compared.
func (f Fingerprint) Sum() string {
	sum := sha256.Sum256(f.JSON())
	return hex.EncodeToString(sum[:])
}

// ParseFingerprint decodes a fingerprint's JSON, refusing unknown fields and trailing data.
func ParseFingerprint(b []byte) (Fingerprint, error) {
	var f Fingerprint
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Fingerprint{}, fmt.Errorf("pages: fingerprint: %w", err)
	}
	if dec.More() {
		return Fingerprint{}, errors.New("pages: fingerprint: data after the document")
	}
	return f, nil
}

// Diff says in a few lines (at most 20, each at most 200 bytes, URLs and values scrubbed)
// how cur differs from old: headers first, then scripts, each in a fixed order.
func Diff(old, cur Fingerprint) []string {
	lines := diffHeaders(old.Headers, cur.Headers)
	lines = append(lines, diffScripts(old.Scripts, cur.Scripts)...)
	for i, l := range lines {
		lines[i] = cut(l, maxDiffLine)
	}
	if len(lines) > maxDiffLines {
		n := len(lines) - (maxDiffLines - 1)
		lines = append(lines[:maxDiffLines-1], fmt.Sprintf("… and %d more", n))
	}
	return lines
}

func diffHeaders(old, cur map[string]string) []string {
	var names []string
	for k := range old {
		names = append(names, k)
	}
	for k := range cur {
		if _, ok := old[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var lines []string
	for _, k := range names {
		o, inOld := old[k]
		c, inCur := cur[k]
		name := scrubbed(cut(k, maxDiffValue))
		switch {
		case !inCur:
			lines = append(lines, "header dropped: "+name)
		case !inOld:
			lines = append(lines, "header added: "+name+": "+scrubbed(cut(c, maxDiffValue)))
		case o != c:
			lines = append(lines, "header changed: "+name+": "+scrubbed(cut(o, maxDiffValue))+" → "+scrubbed(cut(c, maxDiffValue)))
		}
	}
	return lines
}

// kinds of fingerprint entries, and the notes an inline script may carry.
const (
	kindScript = "script"
	kindInline = "inline script"
	kindOther  = "entry"
)

// kindOf tells what an entry is, and what identifies it among its kind.
func kindOf(p ScriptPrint) (kind, id string) {
	switch {
	case p.Src != "":
		return kindScript, p.Src
	case p.SHA384 != "" && (p.Note == "" || p.Note == "truncated" || p.Note == NoteMarkup):
		return kindInline, p.SHA384
	}
	return kindOther, strings.TrimSpace(p.Note + " " + p.SHA384)
}

func diffScripts(old, cur []ScriptPrint) []string {
	type pair struct{ old, cur []ScriptPrint }
	groups := map[string]*pair{}
	add := func(p ScriptPrint, isOld bool) {
		kind, id := kindOf(p)
		g := groups[kind+"\x00"+id]
		if g == nil {
			g = &pair{}
			groups[kind+"\x00"+id] = g
		}
		if isOld {
			g.old = append(g.old, p)
		} else {
			g.cur = append(g.cur, p)
		}
	}
	for _, p := range old {
		add(p, true)
	}
	for _, p := range cur {
		add(p, false)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var lines []string
	for _, k := range keys {
		g := groups[k]
		slices.SortFunc(g.old, compareScripts)
		slices.SortFunc(g.cur, compareScripts)
		n := min(len(g.old), len(g.cur))
		for i := range n {
			if g.old[i] != g.cur[i] {
				lines = append(lines, changedLine(g.old[i], g.cur[i]))
			}
		}
		for _, p := range g.cur[n:] {
			lines = append(lines, presenceLine(p, "added"))
		}
		for _, p := range g.old[n:] {
			lines = append(lines, presenceLine(p, "removed"))
		}
	}
	return lines
}

// presenceLine says that p was added or removed.
func presenceLine(p ScriptPrint, what string) string {
	kind, id := kindOf(p)
	switch kind {
	case kindScript:
		id = scrubbed(p.Src)
	case kindOther:
		return what + ": " + scrubbed(id)
	}
	if what == "added" && !p.Listed {
		id += " (not in the inventory)"
	}
	return kind + " " + what + ": " + id
}

// changedLine says how an entry changed that kept its identity.
func changedLine(o, c ScriptPrint) string {
	kind, id := kindOf(c)
	if kind == kindScript {
		id = scrubbed(c.Src)
	}
	line := kind + " changed: " + id
	if state(o) != state(c) {
		line += " " + state(o) + " → " + state(c)
	}
	switch {
	case o.Listed && !c.Listed:
		line += " (no longer in the inventory)"
	case !o.Listed && c.Listed:
		line += " (now in the inventory)"
	}
	return line
}

// state is what a Diff line shows of an entry besides its identity: its hash and note.
func state(p ScriptPrint) string {
	s := p.SHA384
	if kind, _ := kindOf(p); kind != kindScript {
		s = ""
	}
	if p.Note != "" {
		s = strings.TrimSpace(s + " (" + scrubbed(p.Note) + ")")
	}
	if s == "" {
		return "-"
	}
	return s
}

// scrubbed is s without any card number or secret a page might have reflected into it.
func scrubbed(s string) string { return string(scrub.Text([]byte(s))) }

// cut returns s cut to at most n bytes, on a UTF-8 boundary, marked with "…" if cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
