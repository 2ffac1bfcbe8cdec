package scrubref

import (
	"net/url"
	"strings"
)

// redactedPassword is the userinfo password URL writes, escaped as userinfo needs.
const redactedPassword = "%5Bredacted%3Apassword%5D"

// URL scrubs a URL, keeping every part with nothing to scrub byte for byte: each path segment
// is decoded, scrubbed with Text and escaped again when that changed it; the query is
// scrubbed as Form scrubs a body (sensitive parameters redacted by name); a userinfo password
// becomes "[redacted:password]" (escaped); the scheme, user name, host and fragment are
// scrubbed as text, so a card number in the scheme or host leaves a URL url.Parse rejects.
// A URL that url.Parse rejects is scrubbed as plain text.
func (s *Scrubber) URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		text := string(s.textFixpoint(nil, []byte(raw)))
		if u, err = url.Parse(text); err != nil {
			return text
		}
		// Redacting as text removed what made raw unparseable (a bad escape in a value): the
		// result is a URL now, and a second pass would scrub it as one.
		raw = text
	}
	// Split raw as url.Parse does, so that every part can be kept as it was.
	rest, frag, hasFrag := strings.Cut(raw, "#")
	out := make([]byte, 0, len(raw)+32)
	if u.Scheme != "" {
		// Even a scheme can be a card number: "A4008080800070:" parses.
		i := strings.IndexByte(rest, ':')
		out = append(out, s.textFixpoint(nil, []byte(rest[:i]))...)
		out = append(out, ':')
		rest = rest[i+1:]
	}
	rest, query, hasQuery := strings.Cut(rest, "?")
	switch {
	case u.Scheme != "" && !strings.HasPrefix(rest, "/"):
		out = append(out, s.textFixpoint(out, []byte(rest))...) // opaque: "mailto:…"
	default:
		if strings.HasPrefix(rest, "//") && (u.Scheme != "" || !strings.HasPrefix(rest, "///")) {
			authority, path := rest[2:], ""
			if i := strings.IndexByte(authority, '/'); i >= 0 {
				authority, path = authority[:i], authority[i:]
			}
			out = append(out, "//"...)
			out = s.appendAuthority(out, authority)
			rest = path
		}
		for i, seg := range strings.Split(rest, "/") {
			if i > 0 {
				out = append(out, '/')
			}
			scrubbed, _ := s.component(out, seg, decodePercent(seg, false), escapeSegment)
			out = append(out, scrubbed...)
		}
	}
	if hasQuery {
		out = append(out, '?')
		out = append(out, s.form(out, query)...)
	}
	if hasFrag {
		out = append(out, '#')
		scrubbed, _ := s.component(out, frag, decodePercent(frag, false), escapeFragment)
		out = append(out, scrubbed...)
	}
	if string(out) == raw {
		return raw
	}
	return string(out)
}

// appendAuthority appends the scrubbed "user:password@host:port" of a URL.
func (s *Scrubber) appendAuthority(out []byte, authority string) []byte {
	if i := strings.LastIndexByte(authority, '@'); i >= 0 {
		user, pass, hasPass := strings.Cut(authority[:i], ":")
		scrubbed, _ := s.component(out, user, decodePercent(user, false), escapeUser)
		out = append(out, scrubbed...)
		if hasPass {
			out = append(out, ':')
			if pass != "" {
				out = append(out, redactedPassword...)
			}
		}
		out = append(out, '@')
		authority = authority[i+1:]
	}
	return append(out, s.textFixpoint(out, []byte(authority))...)
}

// escapeSegment escapes a path segment, ':' included: in the first segment of a URL without
// a scheme a colon would make the result unparseable.
func escapeSegment(seg string) string {
	return strings.ReplaceAll(url.PathEscape(seg), ":", "%3A")
}

func escapeUser(name string) string { return url.User(name).String() }

func escapeFragment(f string) string { return (&url.URL{Fragment: f}).EscapedFragment() }

// URLValues returns a scrubbed copy of v: the values of a sensitive key redacted, every other
// key and value scrubbed with Text. v is not changed. Should two keys scrub to the same
// name, their values are merged under it.
func (s *Scrubber) URLValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for key, vals := range v {
		name := string(s.textFixpoint(nil, []byte(key)))
		kind, sensitive := s.scrubbedKeyKind(key, name)
		scrubbed := out[name]
		if scrubbed == nil {
			scrubbed = make([]string, 0, len(vals))
		}
		for _, val := range vals {
			if sensitive {
				if m, ok := s.redactKeyed(nil, kind, []byte(val)); ok {
					scrubbed = append(scrubbed, string(m))
					continue
				}
			}
			scrubbed = append(scrubbed, string(s.textFixpoint(nil, []byte(val))))
		}
		out[name] = scrubbed
	}
	return out
}
