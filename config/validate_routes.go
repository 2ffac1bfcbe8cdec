package config

import (
	"fmt"
	"strings"
)

// maxRouteBody is the largest body limit a tokenization route may set.
const maxRouteBody = 10 << 20

// validateRoutes checks each route and that no two share a path.
func validateRoutes(p *problems, routes []Route) {
	if len(routes) == 0 {
		// Without a route every card number would pass to the upstream as it came.
		p.addf("routes", "at least one route is required")
		return
	}
	seen := map[string]int{}
	for i, r := range routes {
		key := fmt.Sprintf("routes[%d]", i)
		r.validate(p, key)
		if r.Path == "" {
			continue
		}
		if j, dup := seen[r.Path]; dup {
			p.addf(key+".path", "%q is already the path of routes[%d]", r.Path, j)
			continue
		}
		seen[r.Path] = i
	}
}

// validate checks one route; key is its path in the config, e.g. "routes[1]".
func (r Route) validate(p *problems, key string) {
	if p.required(key+".path", r.Path) {
		switch {
		case !strings.HasPrefix(r.Path, "/"):
			p.addf(key+".path", "%q must start with \"/\"", r.Path)
		case strings.ContainsAny(r.Path, "?# \t"):
			p.addf(key+".path", "%q must be a bare path, without query, fragment or spaces", r.Path)
		case hasDotSegment(r.Path):
			p.addf(key+".path", "%q must not contain empty, \".\" or \"..\" segments", r.Path)
		}
	}
	if len(r.Methods) == 0 {
		p.addf(key+".methods", "required")
	}
	seenMethod := map[string]bool{}
	for _, m := range r.Methods {
		p.oneOf(key+".methods", m, "POST", "PUT", "PATCH")
		if seenMethod[m] {
			p.addf(key+".methods", "%q is listed twice", m)
		}
		seenMethod[m] = true
	}
	p.oneOf(key+".body", r.Body, "form", "json", "multipart")
	if r.MaxBodyBytes < 1 || r.MaxBodyBytes > maxRouteBody {
		p.addf(key+".max_body_bytes", "%d out of range (1-%d, 10MiB)", r.MaxBodyBytes, maxRouteBody)
	}
	if r.MaxJSONDepth < 2 || r.MaxJSONDepth > 128 {
		p.addf(key+".max_json_depth", "%d out of range (2-128)", r.MaxJSONDepth)
	}

	c := r.Card
	p.required(key+".card.number", c.Number)
	p.required(key+".card.cvc", c.CVC)
	hasSplit := c.ExpMonth != "" || c.ExpYear != ""
	switch {
	case c.Exp != "" && hasSplit:
		p.addf(key+".card.exp", "%q: set either exp or exp_month and exp_year, not both", c.Exp)
	case c.Exp == "" && !hasSplit:
		p.addf(key+".card.exp", "required, unless exp_month and exp_year are set")
	case c.Exp == "" && c.ExpMonth == "":
		p.addf(key+".card.exp_month", "required with exp_year")
	case c.Exp == "" && c.ExpYear == "":
		p.addf(key+".card.exp_year", "required with exp_month")
	}
	p.required(key+".result.token", r.Result.Token)
	p.required(key+".result.error", r.Result.Error)

	fields := r.namedFields(key)
	if r.Body == "json" {
		for _, f := range fields {
			if !isDottedPath(f.name) {
				p.addf(f.key, "%q is not a dotted path of non-empty segments, e.g. payment.card.number", f.name)
			}
		}
	}
	// Each name is one field of the body: a result written over a card field, or over a JSON
	// object that holds one, would mix card data into the forwarded body.
	// One message per field is enough to fix it.
	for i, f := range fields {
		for _, g := range fields[:i] {
			if msg := clash(f, g, r.Body == "json"); msg != "" {
				p.addf(f.key, "%s", msg)
				break
			}
		}
	}
}

// clash describes how field f collides with the earlier field g, or returns "". In JSON a
// path also collides with the paths inside it.
func clash(f, g namedField, json bool) string {
	switch {
	case f.name == g.name:
		return fmt.Sprintf("%q is also %s", f.name, g.key)
	case json && isParentPath(f.name, g.name):
		return fmt.Sprintf("%q contains %s (%q)", f.name, g.key, g.name)
	case json && isParentPath(g.name, f.name):
		return fmt.Sprintf("%q is inside %s (%q)", f.name, g.key, g.name)
	}
	return ""
}

// namedField is a card or result field name with its key path.
type namedField struct {
	key, name string
}

// namedFields lists the set card and result field names of r, card fields first.
func (r Route) namedFields(key string) []namedField {
	all := []namedField{
		{key + ".card.number", r.Card.Number},
		{key + ".card.exp_month", r.Card.ExpMonth},
		{key + ".card.exp_year", r.Card.ExpYear},
		{key + ".card.exp", r.Card.Exp},
		{key + ".card.cvc", r.Card.CVC},
		{key + ".card.name", r.Card.Name},
		{key + ".result.token", r.Result.Token},
		{key + ".result.brand", r.Result.Brand},
		{key + ".result.last4", r.Result.Last4},
		{key + ".result.exp_month", r.Result.ExpMonth},
		{key + ".result.exp_year", r.Result.ExpYear},
		{key + ".result.fingerprint", r.Result.Fingerprint},
		{key + ".result.error", r.Result.Error},
	}
	set := all[:0]
	for _, f := range all {
		if f.name != "" {
			set = append(set, f)
		}
	}
	return set
}

// isDottedPath reports whether s is segments joined by "." with none empty.
func isDottedPath(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if strings.TrimSpace(seg) == "" {
			return false
		}
	}
	return true
}

// isParentPath reports whether dotted path parent holds child, e.g. "a.b" holds "a.b.c".
func isParentPath(parent, child string) bool {
	return strings.HasPrefix(child, parent+".")
}

// hasDotSegment reports whether URL path p has an empty, "." or ".." segment other than a
// trailing slash.
func hasDotSegment(p string) bool {
	segs := strings.Split(strings.TrimSuffix(p[1:], "/"), "/")
	for _, s := range segs {
		if (s == "" && len(segs) > 1) || s == "." || s == ".." {
			return true
		}
	}
	return false
}
