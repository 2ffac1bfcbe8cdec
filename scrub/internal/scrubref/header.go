package scrubref

import (
	"net/http"
	"strings"
)

// DefaultHeaderAllowlist is the set of request header names safe to log once scrubbed. It is
// read-only: Header never changes it, and a caller that wants more names appends to a copy
// (slices.Clone) rather than to it.
var DefaultHeaderAllowlist = []string{
	"Accept", "Accept-Encoding", "Accept-Language", "Content-Length", "Content-Type", "Host",
	"Referer", "User-Agent", "X-Forwarded-For", "X-Forwarded-Proto", "X-Request-Id",
}

// Header returns a new header holding only the names in allow (compared without regard to
// case; a nil allow keeps nothing), each value scrubbed with Text; a URL-valued header
// (Referer, Location, Content-Location, Origin) is scrubbed as URL scrubs one. A name that
// is sensitive by KeyKind (Authorization, Cookie, X-Api-Key, …) has its values redacted even
// when allowed. h is not changed.
func (s *Scrubber) Header(h http.Header, allow []string) http.Header {
	out := make(http.Header, min(len(h), len(allow)))
	for name, vals := range h {
		if !containsFold(allow, name) {
			continue
		}
		kind, sensitive := s.KeyKind(name)
		isURL := urlHeader(name)
		scrubbed := make([]string, len(vals))
		for i, v := range vals {
			if sensitive {
				if m, ok := s.redactKeyed(nil, kind, []byte(v)); ok {
					scrubbed[i] = string(m)
					continue
				}
			}
			if isURL {
				scrubbed[i] = s.URL(v)
			} else {
				scrubbed[i] = string(s.textFixpoint(nil, []byte(v)))
			}
		}
		out[name] = scrubbed
	}
	return out
}

func containsFold(names []string, name string) bool {
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// urlHeader reports whether a header's value is a URL.
func urlHeader(name string) bool {
	for _, n := range [...]string{"Referer", "Location", "Content-Location", "Origin"} {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}
