package config

import (
	"strings"
	"testing"
	"time"
)

// goodSRI is a well-formed SHA-384 integrity value.
const goodSRI = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"

func validPage() Page {
	return Page{Path: "/checkout", Scripts: []PageScript{
		{Src: "https://js.example.com/w.js", SHA384: goodSRI, Justification: "brand icons", AuthorisedBy: "ciso"},
	}}.WithDefaults()
}

func TestPagesValid(t *testing.T) {
	c := validConfig()
	c.Pages = []Page{validPage()}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := c.Pages[0].Mode + "/" + c.Pages[0].OnChange; got != "enforce/alert" {
		t.Errorf("defaults %s; want enforce/alert", got)
	}
}

// TestPagesRefused names each bad page configuration and the problem it must report.
func TestPagesRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"relative path":          {func(c *Config) { c.Pages[0].Path = "checkout" }, `must start with "/"`},
		"path with a query":      {func(c *Config) { c.Pages[0].Path = "/checkout?x=1" }, "bare path"},
		"path with a wildcard":   {func(c *Config) { c.Pages[0].Path = "/checkout/*" }, "wildcards"},
		"dot segment":            {func(c *Config) { c.Pages[0].Path = "/a/../checkout" }, "segments"},
		"under the API":          {func(c *Config) { c.Pages[0].Path = "/v1/pay" }, "under /v1"},
		"the report path":        {func(c *Config) { c.Pages[0].Path = "/_tokenwall/csp-report" }, "page_checks.report_path"},
		"twice":                  {func(c *Config) { c.Pages = append(c.Pages, validPage()) }, "already the path of pages[0]"},
		"unknown mode":           {func(c *Config) { c.Pages[0].Mode = "off" }, "pages[0].mode"},
		"unknown on_change":      {func(c *Config) { c.Pages[0].OnChange = "ignore" }, "pages[0].on_change"},
		"sha256 integrity":       {func(c *Config) { c.Pages[0].Scripts[0].SHA384 = "sha256-abc" }, "sha384"},
		"short integrity":        {func(c *Config) { c.Pages[0].Scripts[0].SHA384 = "sha384-YWJj" }, "48 bytes"},
		"no justification":       {func(c *Config) { c.Pages[0].Scripts[0].Justification = " " }, "justification: required"},
		"no authoriser":          {func(c *Config) { c.Pages[0].Scripts[0].AuthorisedBy = "" }, "authorised_by: required"},
		"http script":            {func(c *Config) { c.Pages[0].Scripts[0].Src = "http://cdn.example.com/w.js" }, "must be https"},
		"relative script":        {func(c *Config) { c.Pages[0].Scripts[0].Src = "/w.js" }, "absolute URL"},
		"script with a fragment": {func(c *Config) { c.Pages[0].Scripts[0].Src = "https://cdn.example.com/w.js#x" }, "fragment"},
		"the same script twice":  {func(c *Config) { c.Pages[0].Scripts = append(c.Pages[0].Scripts, c.Pages[0].Scripts[0]) }, "the same script"},
		"unsafe-inline":          {func(c *Config) { c.Pages[0].ConnectSrc = []string{"'unsafe-inline'"} }, "not allowed"},
		"strict-dynamic":         {func(c *Config) { c.Pages[0].FrameSrc = []string{"'strict-dynamic'"} }, "not allowed"},
		"wildcard source":        {func(c *Config) { c.Pages[0].FormAction = []string{"*"} }, "not allowed"},
		"two sources in one":     {func(c *Config) { c.Pages[0].ConnectSrc = []string{"https://a.example https://b.example"} }, "single source"},
		"policy injection":       {func(c *Config) { c.Pages[0].ImgSrc = []string{"https://a.example;script-src"} }, "single source"},
		"http source":            {func(c *Config) { c.Pages[0].StyleSrc = []string{"http://a.example"} }, "must be https"},
		"weekly is the most":     {func(c *Config) { c.PageChecks.Interval = Duration(8 * 24 * time.Hour) }, "page_checks.interval"},
		"origin not https":       {func(c *Config) { c.PageChecks.Origin = "http://pay.example.com" }, "page_checks.origin"},
		"tiny page bound":        {func(c *Config) { c.PageChecks.MaxPageBytes = 10 }, "page_checks.max_page_bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			c := validConfig()
			c.Pages = []Page{validPage()}
			c.Pages[0].Scripts = append([]PageScript(nil), c.Pages[0].Scripts...)
			tc.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestPageScriptOnLoopbackMayBeHTTP(t *testing.T) {
	if err := CheckScriptURL("http://127.0.0.1:8081/widget.js"); err != nil {
		t.Errorf("a loopback http script (the dev stack's widget) is refused: %v", err)
	}
	if err := CheckCSPSource("http://localhost:8081"); err != nil {
		t.Errorf("a loopback http source is refused: %v", err)
	}
}
