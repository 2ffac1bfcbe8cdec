package pages

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"io"
	"net/url"
	"slices"
	"strings"

	xhtml "golang.org/x/net/html"

	"github.com/tokenwall/tokenwall/config"
)

// ReportGroup is the Reporting API group the page policy reports to (report-to).
const ReportGroup = "tokenwall-csp"

// Inventory is a page's script inventory as Rewrite looks scripts up: external scripts by
// URL, inline scripts by hash. A nil Inventory lists nothing.
type Inventory struct {
	external map[string]string // normalised URL → "sha384-…"
	inline   map[string]bool   // "sha384-…" of the text
}

// NewInventory builds the inventory of pg. Entries that config validation would refuse (a
// malformed hash, a URL that is not https) are left out, so they can never be trusted.
func NewInventory(pg config.Page) *Inventory {
	inv := &Inventory{external: map[string]string{}, inline: map[string]bool{}}
	for _, s := range pg.Scripts {
		if !config.ValidSRI(s.SHA384) {
			continue
		}
		if s.Inline() {
			inv.inline[s.SHA384] = true
			continue
		}
		if config.CheckScriptURL(s.Src) != nil {
			continue
		}
		if u, err := url.Parse(s.Src); err == nil {
			inv.external[normalURL(u)] = s.SHA384
		}
	}
	return inv
}

// External returns the integrity value of the external script at u, if it is listed.
func (inv *Inventory) External(u *url.URL) (sri string, ok bool) {
	if inv == nil || u == nil || !u.IsAbs() {
		return "", false
	}
	sri, ok = inv.external[normalURL(u)]
	return sri, ok
}

// Inline reports whether an inline script whose text hashes to sri is listed.
func (inv *Inventory) Inline(sri string) bool {
	return inv != nil && inv.inline[sri]
}

// normalURL is the form two script URLs are compared in: what the browser would fetch for
// either (host in lower case, no default port, "/" for an empty path, no fragment).
func normalURL(u *url.URL) string {
	n := *u
	n.Scheme = strings.ToLower(n.Scheme)
	n.Host = strings.ToLower(n.Host)
	if p := n.Port(); p == "" || n.Scheme == "https" && p == "443" || n.Scheme == "http" && p == "80" {
		n.Host = strings.TrimSuffix(n.Host, ":"+p)
	}
	if n.Path == "" && n.RawPath == "" && n.Opaque == "" {
		n.Path = "/"
	}
	n.Fragment, n.RawFragment = "", ""
	return n.String()
}

// sri is the Subresource Integrity form of b's SHA-384.
func sri(b []byte) string {
	sum := sha512.Sum384(b)
	return "sha384-" + base64.StdEncoding.EncodeToString(sum[:])
}

// textSRI hashes a script's text as the browser sees it: CR LF and CR as LF, NUL as U+FFFD.
func textSRI(text []byte) string {
	if !bytes.ContainsAny(text, "\r\x00") {
		return sri(text)
	}
	h := sha512.New384()
	for {
		i := bytes.IndexAny(text, "\r\x00")
		if i < 0 {
			h.Write(text)
			break
		}
		h.Write(text[:i])
		if text[i] == 0 {
			h.Write([]byte("\uFFFD"))
		} else {
			h.Write([]byte("\n"))
			if i+1 < len(text) && text[i+1] == '\n' {
				i++
			}
		}
		text = text[i+1:]
	}
	return "sha384-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// endsCleanly reports whether text, followed by "</script>" and read as markup (as the
// browser reads an SVG script), leaves that end tag a tag of its own: no comment, CDATA
// section, tag or quoted attribute value of the text runs on past it.
func endsCleanly(text []byte) bool {
	if bytes.IndexByte(text, '<') < 0 {
		return true // markup starts with "<"
	}
	z := xhtml.NewTokenizer(io.MultiReader(bytes.NewReader(text), strings.NewReader("</script>")))
	z.SetMaxBuf(maxTokenBytes)
	z.AllowCDATA(true)
	off := 0
	for off <= len(text) {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return false
		case xhtml.StartTagToken:
			z.NextIsNotRawText()
		case xhtml.EndTagToken:
			if off == len(text) && string(z.Raw()) == "</script>" {
				return true
			}
		}
		off += len(z.Raw())
	}
	return false
}

// blank reports whether b is only HTML white space.
func blank(b []byte) bool {
	return len(bytes.Trim(b, " \t\n\r\f")) == 0
}

// NewNonce returns a fresh CSP nonce: 16 random bytes, base64.
func NewNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (Go 1.24+): it crashes instead
	return base64.StdEncoding.EncodeToString(b[:])
}

// CSP returns the Content-Security-Policy of the page pg for one response: scripts run only
// with nonce (or as a listed inline script, by hash), everything else from 'self' and the
// page's own source lists, reports to reportPath and to ReportGroup. It never holds
// 'unsafe-inline' or 'strict-dynamic': a source config validation would refuse is left out,
// as are a nonce or a report path that could break out of their directive.
func CSP(pg config.Page, nonce, reportPath string) string {
	var script []string
	if validNonce(nonce) {
		script = append(script, "'nonce-"+nonce+"'")
	}
	var hashes []string
	for _, s := range pg.Scripts {
		if s.Inline() && config.ValidSRI(s.SHA384) {
			hashes = append(hashes, "'"+s.SHA384+"'")
		}
	}
	slices.Sort(hashes)
	script = append(script, slices.Compact(hashes)...)
	if len(script) == 0 {
		script = []string{"'none'"}
	}
	frame := sources(nil, pg.FrameSrc)
	if frame == "" {
		frame = "'none'"
	}
	d := []string{
		"default-src 'self'",
		"script-src " + strings.Join(script, " "),
		"style-src " + sources([]string{"'self'"}, pg.StyleSrc),
		"img-src " + sources([]string{"'self'"}, pg.ImgSrc),
		"connect-src " + sources([]string{"'self'"}, pg.ConnectSrc),
		"form-action " + sources([]string{"'self'"}, pg.FormAction),
		"frame-src " + frame,
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"object-src 'none'",
	}
	if reportPath != "" && !strings.ContainsFunc(reportPath, func(r rune) bool {
		return r <= ' ' || r >= 0x7f || r == ';' || r == ',' || r == '\'' || r == '"'
	}) {
		d = append(d, "report-uri "+reportPath)
	}
	d = append(d, "report-to "+ReportGroup)
	return strings.Join(d, "; ")
}

// sources joins fixed and the acceptable, distinct sources of list, in order; 'none' is
// dropped when any other source is there (a browser ignores it then anyway).
func sources(fixed, list []string) string {
	out := slices.Clone(fixed)
	for _, s := range list {
		if config.CheckCSPSource(s) == nil && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > 1 {
		out = slices.DeleteFunc(out, func(s string) bool { return s == "'none'" })
	}
	return strings.Join(out, " ")
}

// validNonce reports whether n can stand in a nonce source: base64 (either alphabet).
func validNonce(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for _, c := range []byte(n) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// CSPHeader is the name of the header the page's policy goes in: enforced, or reported
// only while a page is rolled out (config.PageReportOnly).
func CSPHeader(pg config.Page) string {
	if pg.Mode == config.PageReportOnly {
		return "Content-Security-Policy-Report-Only"
	}
	return "Content-Security-Policy"
}

// ReportingEndpoints returns the Reporting-Endpoints header value naming reportURL as
// ReportGroup: a structured-field string, so a quote or backslash is escaped and a byte
// outside printable ASCII is dropped.
func ReportingEndpoints(reportURL string) string {
	var b strings.Builder
	b.WriteString(ReportGroup + `="`)
	for _, c := range []byte(reportURL) {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// SecurityHeaders returns the lower-case names of the response headers that bear on a
// page's security and so go into its fingerprint.
func SecurityHeaders() []string {
	return []string{
		"content-security-policy",
		"content-security-policy-report-only",
		"permissions-policy",
		"referrer-policy",
		"x-frame-options",
		"x-content-type-options",
		"strict-transport-security",
		"cross-origin-opener-policy",
		"cross-origin-embedder-policy",
		"cross-origin-resource-policy",
		"reporting-endpoints",
	}
}
