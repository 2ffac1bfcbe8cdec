package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Page is one payment page: a page on which a customer enters a card, served by the billing
// app through tokenwall (PCI DSS 6.4.3 and 11.6.1). On every response of the page tokenwall
// replaces the app's Content-Security-Policy with one that lets only the scripts of the
// inventory run (a fresh nonce per response, SRI on each external script), and compares a
// fingerprint of the page as served with the approved baseline.
type Page struct {
	// Path is the page's URL path, matched exactly ("/checkout").
	Path string `yaml:"path"`
	// Mode is "enforce" (the browser runs only the inventory's scripts; the default) or
	// "report-only" (to roll out: every script runs, and those outside the inventory are
	// reported).
	Mode string `yaml:"mode"`
	// OnChange is what a change of the page against its approved baseline does: "alert" (an
	// audit record, a metric and an alert; the default) or "block" (the same, and the page is
	// answered 503 until an operator approves the change or the page is back to its
	// baseline).
	OnChange string `yaml:"on_change"`
	// Scripts is the page's script inventory: every script the page may run, each with why
	// it is there and who authorised it.
	Scripts []PageScript `yaml:"scripts"`
	// ConnectSrc, ImgSrc, StyleSrc, FormAction and FrameSrc are the CSP source expressions
	// the page needs beyond 'self' ('none' for frames when empty): https origins, or
	// keywords such as 'self'. Neither 'unsafe-inline' nor 'strict-dynamic' nor a bare
	// wildcard is accepted.
	ConnectSrc []string `yaml:"connect_src,omitempty"`
	ImgSrc     []string `yaml:"img_src,omitempty"`
	StyleSrc   []string `yaml:"style_src,omitempty"`
	FormAction []string `yaml:"form_action,omitempty"`
	FrameSrc   []string `yaml:"frame_src,omitempty"`
}

// PageScript is one script of a payment page's inventory (PCI DSS 6.4.3: authorised,
// integrity-assured, with a written justification).
type PageScript struct {
	// Src is the absolute URL of an external script (https, or http on a loopback address
	// for development); empty for an inline script.
	Src string `yaml:"src,omitempty"`
	// SHA384 is the script's Subresource Integrity value, "sha384-" and the base64 of the
	// SHA-384 of its bytes (of the element's text for an inline script).
	SHA384 string `yaml:"sha384"`
	// Justification is why the page needs the script.
	Justification string `yaml:"justification"`
	// AuthorisedBy names who authorised it.
	AuthorisedBy string `yaml:"authorised_by"`
}

// Inline reports whether the script is an inline script.
func (s PageScript) Inline() bool { return s.Src == "" }

// Page modes and change actions.
const (
	PageEnforce    = "enforce"
	PageReportOnly = "report-only"
	PageAlert      = "alert"
	PageBlock      = "block"
)

// PageChecks configures how payment pages are watched.
type PageChecks struct {
	// Interval is how often each payment page is fetched through the upstream and checked
	// even when no customer asks for it (default 1h; at most 168h, PCI DSS 11.6.1's weekly).
	// With several replicas one of them checks per interval.
	Interval Duration `yaml:"interval"`
	// ReportPath is the path on the public listener the browsers post CSP violation reports
	// to (default /_tokenwall/csp-report).
	ReportPath string `yaml:"report_path"`
	// ScriptCacheTTL is how long the hash of an inventory script fetched for the fingerprint
	// is kept (default 5m).
	ScriptCacheTTL Duration `yaml:"script_cache_ttl"`
	// FetchTimeout bounds one fetch of a page or script for a check (default 10s).
	FetchTimeout Duration `yaml:"fetch_timeout"`
	// Origin is the payment pages' public origin ("https://pay.example.com"), against which
	// relative script URLs are resolved and which the inventory's scripts are fetched with
	// (CORS); default https:// and the first of listen.public_hosts with listen.addr's port.
	Origin string `yaml:"origin,omitempty"`
	// MaxPageBytes bounds a payment page's body (default 2MiB): a longer page is cut off
	// and answered as a change.
	MaxPageBytes ByteSize `yaml:"max_page_bytes"`
}

// Bounds of the page configuration.
const (
	maxPages            = 32
	maxPageScripts      = 64
	maxPageSources      = 32
	maxPageText         = 500
	maxPageCheckPeriod  = 7 * 24 * time.Hour
	minPageCheckPeriod  = time.Minute
	maxPageBytesCeiling = 16 << 20
)

func defaultPageChecks() PageChecks {
	return PageChecks{
		Interval:       Duration(time.Hour),
		ReportPath:     "/_tokenwall/csp-report",
		ScriptCacheTTL: Duration(5 * time.Minute),
		FetchTimeout:   Duration(10 * time.Second),
		MaxPageBytes:   2 << 20,
	}
}

// WithDefaults fills a page's unset mode and change action.
func (pg Page) WithDefaults() Page {
	if pg.Mode == "" {
		pg.Mode = PageEnforce
	}
	if pg.OnChange == "" {
		pg.OnChange = PageAlert
	}
	return pg
}

// PageFor returns the payment page whose path is path.
func (c Config) PageFor(path string) (Page, bool) {
	for _, pg := range c.Pages {
		if pg.Path == path {
			return pg, true
		}
	}
	return Page{}, false
}

// validatePages checks pages and page_checks.
func (c Config) validatePages(p *problems) {
	pc := c.PageChecks
	if pc.Interval.D() < minPageCheckPeriod || pc.Interval.D() > maxPageCheckPeriod {
		p.addf("page_checks.interval", "%s is not between 1m and 168h (PCI DSS 11.6.1 asks for at least weekly)", pc.Interval.D())
	}
	p.positive("page_checks.script_cache_ttl", pc.ScriptCacheTTL)
	p.positive("page_checks.fetch_timeout", pc.FetchTimeout)
	if pc.MaxPageBytes < 1<<10 || pc.MaxPageBytes > maxPageBytesCeiling {
		p.addf("page_checks.max_page_bytes", "%d out of range (1KiB-16MiB)", pc.MaxPageBytes)
	}
	if pc.Origin != "" {
		if u, err := url.Parse(pc.Origin); err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			p.addf("page_checks.origin", "%q is not an https origin (https://host[:port])", pc.Origin)
		}
	}
	if p.required("page_checks.report_path", pc.ReportPath) {
		validatePagePath(p, "page_checks.report_path", pc.ReportPath)
	}
	if len(c.Pages) > maxPages {
		p.addf("pages", "%d pages; at most %d", len(c.Pages), maxPages)
	}
	reserved := map[string]string{pc.ReportPath: "page_checks.report_path"}
	if c.Webhooks.Enabled {
		reserved[c.Webhooks.Path] = "webhooks.path"
	}
	seen := map[string]int{}
	for i, pg := range c.Pages {
		key := fmt.Sprintf("pages[%d]", i)
		pg.validate(p, key)
		if j, dup := seen[pg.Path]; dup {
			p.addf(key+".path", "%q is already the path of pages[%d]", pg.Path, j)
		}
		seen[pg.Path] = i
		if what, ok := reserved[pg.Path]; ok {
			p.addf(key+".path", "%q is %s", pg.Path, what)
		}
		if pg.Path == "/v1" || strings.HasPrefix(pg.Path, "/v1/") {
			p.addf(key+".path", "%q is under /v1, the API", pg.Path)
		}
	}
}

// validatePagePath checks a page or endpoint path: absolute, bare, without dot segments.
func validatePagePath(p *problems, key, path string) {
	switch {
	case !strings.HasPrefix(path, "/"):
		p.addf(key, "%q must start with \"/\"", path)
	case strings.ContainsAny(path, "?# \t*"):
		p.addf(key, "%q must be a bare path, without query, fragment, spaces or wildcards", path)
	case hasDotSegment(path):
		p.addf(key, "%q must not contain empty, \".\" or \"..\" segments", path)
	}
}

// validate checks one page; key is its place in the config, e.g. "pages[0]".
func (pg Page) validate(p *problems, key string) {
	if p.required(key+".path", pg.Path) {
		validatePagePath(p, key+".path", pg.Path)
	}
	p.oneOf(key+".mode", pg.Mode, PageEnforce, PageReportOnly)
	p.oneOf(key+".on_change", pg.OnChange, PageAlert, PageBlock)
	if len(pg.Scripts) > maxPageScripts {
		p.addf(key+".scripts", "%d scripts; at most %d", len(pg.Scripts), maxPageScripts)
	}
	seen := map[string]int{}
	for i, s := range pg.Scripts {
		sk := fmt.Sprintf("%s.scripts[%d]", key, i)
		s.validate(p, sk)
		id := s.Src
		if s.Inline() {
			id = s.SHA384
		}
		if j, dup := seen[id]; dup {
			p.addf(sk, "the same script as %s.scripts[%d]", key, j)
		}
		seen[id] = i
	}
	for name, list := range map[string][]string{"connect_src": pg.ConnectSrc, "img_src": pg.ImgSrc,
		"style_src": pg.StyleSrc, "form_action": pg.FormAction, "frame_src": pg.FrameSrc} {
		if len(list) > maxPageSources {
			p.addf(key+"."+name, "%d sources; at most %d", len(list), maxPageSources)
		}
		for _, src := range list {
			if err := CheckCSPSource(src); err != nil {
				p.addf(key+"."+name, "%q: %v", src, err)
			}
		}
	}
}

// validate checks one inventory entry.
func (s PageScript) validate(p *problems, key string) {
	if !ValidSRI(s.SHA384) {
		p.addf(key+".sha384", "%q is not \"sha384-\" and the base64 of 48 bytes", s.SHA384)
	}
	if !s.Inline() {
		if err := CheckScriptURL(s.Src); err != nil {
			p.addf(key+".src", "%v", err)
		}
	}
	for name, v := range map[string]string{"justification": s.Justification, "authorised_by": s.AuthorisedBy} {
		if p.required(key+"."+name, strings.TrimSpace(v)) && len(v) > maxPageText {
			p.addf(key+"."+name, "%d characters; at most %d", len(v), maxPageText)
		}
	}
}

// ValidSRI reports whether v is a SHA-384 Subresource Integrity value.
func ValidSRI(v string) bool {
	b64, ok := strings.CutPrefix(v, "sha384-")
	if !ok {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(raw) == 48
}

// CheckScriptURL checks an inventory script's URL: absolute, https (or http on a loopback
// address), without credentials or a fragment.
func CheckScriptURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || !u.IsAbs() {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch {
	case u.User != nil || u.Fragment != "" || strings.ContainsAny(raw, " \t\"'<>"):
		return fmt.Errorf("%q must not carry credentials, a fragment, spaces or quotes", raw)
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return fmt.Errorf("%q must be https (http only on a loopback address)", raw)
	}
	return nil
}

// CheckCSPSource checks one CSP source expression of a page's policy.
func CheckCSPSource(src string) error {
	switch src {
	case "'self'", "'none'", "data:", "blob:":
		return nil
	case "", "*", "'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'", "'unsafe-hashes'", "http:", "https:":
		return fmt.Errorf("not allowed on a payment page")
	}
	if strings.ContainsAny(src, " \t;,'\"<>") || len(src) > 200 {
		return fmt.Errorf("not a single source expression")
	}
	u, err := url.Parse(src)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an origin (https://host[:port])")
	}
	host := u.Hostname()
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && (isLoopback(host) || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()):
	default:
		return fmt.Errorf("must be https (http only on a loopback address)")
	}
	return nil
}
