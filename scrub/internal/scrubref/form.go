package scrubref

import (
	"bytes"
	"net/url"
	"strings"
)

// Form scrubs an application/x-www-form-urlencoded body (or a URL query string). Pairs keep
// their order, and a pair with nothing to scrub is kept byte for byte. A pair whose key is
// sensitive (KeyKind) gets the value "[redacted:KIND]", url-escaped; every other key and value
// is decoded, scrubbed with Text and re-encoded only when that changed it. Decoding is
// lenient: valid %XX escapes and '+' are decoded, a malformed escape is kept as it is, so it
// cannot hide a card number behind it. When body holds nothing to scrub, Form returns it
// itself.
func (s *Scrubber) Form(body string) string { return s.form(nil, body) }

// form is Form on a body that follows pre (a URL up to its "?"), which the card-context rule
// reads as the text before the first pair.
func (s *Scrubber) form(pre []byte, body string) string {
	var out []byte // nil while every pair so far is kept as it is
	var win [cardReach + 1]byte
	for start := 0; start <= len(body); {
		end := strings.IndexByte(body[start:], '&')
		if end < 0 {
			end = len(body)
		} else {
			end += start
		}
		pair := body[start:end]
		// The output so far, as the card-context rule reads it before this pair.
		before := tailAppend(win[:0], pre)
		if out != nil {
			before = tailAppend(before, out)
		} else {
			before = tailAppend(before, body[:start])
		}
		if scrubbed, changed := s.formPair(before, pair); changed {
			if out == nil {
				out = make([]byte, 0, len(body)+32)
				out = append(out, body[:start]...)
			}
			out = append(out, scrubbed...)
		} else if out != nil {
			out = append(out, pair...)
		}
		if out != nil && end < len(body) {
			out = append(out, '&')
		}
		start = end + 1
	}
	if out == nil {
		return body
	}
	return string(out)
}

// formPair scrubs one key=value pair, which follows pre; changed is false when it stays as
// it is.
func (s *Scrubber) formPair(pre []byte, pair string) (scrubbed string, changed bool) {
	rawKey, rawVal, hasVal := strings.Cut(pair, "=")
	key := decodePercent(rawKey, true)
	newKey, keyChanged := s.formComponent(pre, rawKey, key)
	if !hasVal {
		return newKey, keyChanged
	}
	val := decodePercent(rawVal, true)
	var valPre [cardReach + 1]byte
	before := append(tailAppend(tailAppend(valPre[:0], pre), newKey), '=')
	var newVal string
	var valChanged bool
	if kind, ok := s.scrubbedKeyKind(key, decodePercent(newKey, true)); ok {
		if m, ok := s.redactKeyed(nil, kind, []byte(val)); ok {
			newVal = url.QueryEscape(string(m))
			valChanged = newVal != rawVal
		} else {
			newVal, valChanged = s.formComponent(before, rawVal, val)
		}
	} else {
		newVal, valChanged = s.formComponent(before, rawVal, val)
	}
	if !keyChanged && !valChanged {
		return pair, false
	}
	return newKey + "=" + newVal, true
}

// scrubbedKeyKind is the kind of a key whose scrubbed form is scrubbed: that form's kind
// first, else the original's. A second pass sees only the scrubbed form, so deciding by it
// keeps the scrubbers idempotent: "pAsswd:0" is no sensitive name, but scrubbed it reads
// "pAsswd:[redacted:password]", which is.
func (s *Scrubber) scrubbedKeyKind(original, scrubbed string) (Kind, bool) {
	kind, ok := s.KeyKind(scrubbed)
	if ok || scrubbed == original {
		return kind, ok
	}
	return s.KeyKind(original)
}

// formComponent scrubs one key or value of a form, raw as it is in the body and dec decoded,
// which follows pre.
func (s *Scrubber) formComponent(pre []byte, raw, dec string) (string, bool) {
	return s.component(pre, raw, dec, url.QueryEscape)
}

// component scrubs one part of a form or URL, raw as it is and dec decoded, which follows pre
// (the output before it, for the card-context rule): scrubbed with Text, and escaped again
// only when that changed it. changed is false when raw stays.
func (s *Scrubber) component(pre []byte, raw, dec string, escape func(string) string) (string, bool) {
	if dec == "" {
		return raw, false
	}
	scrubbed := s.textFixpoint(pre, []byte(dec))
	switch {
	case string(scrubbed) != dec:
		return s.escapedNoCard(pre, escape(string(scrubbed))), true
	case raw != dec && s.hasCard(pre, []byte(raw)):
		// The escapes themselves spell a card number ("%4242+4242+…" decodes to "B42 4242 …"):
		// the decoded value is harmless, its encoding is not.
		enc := s.escapedNoCard(pre, escape(dec))
		return enc, enc != raw
	}
	return raw, false
}

// textFixpoint is Text run again until it changes nothing (four passes at most). One pass
// is not always enough: a card masked inside a quoted key lets the next pass see the key,
// as in `"4242424242424242 cvc": 123`, whose CVC only a second pass redacts. Running to
// the fixpoint also makes the structured scrubbers idempotent. pre is the text before src,
// for the card-context rule.
func (s *Scrubber) textFixpoint(pre, src []byte) []byte {
	prev, out := src, s.textAfter(pre, src)
	for range 3 {
		if bytes.Equal(out, prev) {
			break
		}
		prev, out = out, s.textAfter(pre, out)
	}
	return out
}

// escapedNoCard guards a value just re-encoded: the hex digits of escapes such as "%22" can
// join the digits around them into a card number the decoded value does not hold. Such an
// encoding is scrubbed as text.
func (s *Scrubber) escapedNoCard(pre []byte, enc string) string {
	if s.hasCard(pre, []byte(enc)) {
		return string(s.textFixpoint(pre, []byte(enc)))
	}
	return enc
}

// hasCard reports whether b, which follows pre, holds a card number or track data: a finding
// by shape, which has a brand, not a value the engine flags only for the key before it
// ("card_number=x").
func (s *Scrubber) hasCard(pre, b []byte) bool {
	for _, f := range s.appendFindings(nil, pre, b) {
		if (f.Kind == KindCard || f.Kind == KindTrack) && f.Brand != "" {
			return true
		}
	}
	return false
}

// decodePercent decodes every valid %XX escape in s, and '+' as a space when plus is set. An
// invalid escape is kept as it is. It returns s itself when there is nothing to decode.
func decodePercent(s string, plus bool) string {
	i := strings.IndexByte(s, '%')
	if plus {
		if j := strings.IndexByte(s, '+'); j >= 0 && (i < 0 || j < i) {
			i = j
		}
	}
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// redactKeyed appends to dst the redaction of v, the value of a sensitive key of the given
// kind, and reports true; or reports false when v stays a value like any other (scrubbed as
// text): an empty value, one already redacted, a gateway object id under a token key
// ("pm_…", meant to be stored), something not shaped like a date under an expiry key. Under
// a card key a value of digits (with spaces or dashes) that is a card number is masked by
// brand and last four like any card; anything else there is "[redacted:card]". These are the
// rules the text engine applies to "key=value" and "key: value".
func (s *Scrubber) redactKeyed(dst []byte, kind Kind, v []byte) ([]byte, bool) {
	if len(v) == 0 || bytes.HasPrefix(v, []byte("[redacted:")) || bytes.HasPrefix(v, []byte("[card:")) {
		return dst, false
	}
	switch kind {
	case KindToken:
		if isGatewayObjectID(v) {
			return dst, false
		}
	case KindExpiry:
		if !expiryShaped(v) {
			return dst, false
		}
	case KindCard:
		var buf [19]byte
		if digits, ok := plainDigits(&buf, v); ok {
			if brand, ok := IsPAN(digits); ok {
				return s.appendCardMask(dst, brand, digits), true
			}
		}
	}
	dst = append(dst, "[redacted:"...)
	dst = append(dst, kind...)
	return append(dst, ']'), true
}

// appendCardMask appends the mask of a card number exactly as the text engine writes it
// (appendMask): "[card:visa:4242]", or "[card:visa:424242…4242]" with MaskFirst6Last4.
func (s *Scrubber) appendCardMask(dst []byte, brand Brand, digits []byte) []byte {
	return s.appendMask(dst, &Finding{Kind: KindCard, Brand: brand, First6: string(digits[:6]), Last4: string(digits[len(digits)-4:])})
}

// plainDigits returns the digits of v, into buf, when v is at most 19 digits with spaces or
// dashes between them and nothing else.
func plainDigits(buf *[19]byte, v []byte) ([]byte, bool) {
	n := 0
	for _, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if n == len(buf) {
				return nil, false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-':
		default:
			return nil, false
		}
	}
	return buf[:n], true
}

// expiryShaped reports whether v may be a card expiry: digits, "/", "-" or spaces, at most
// seven bytes ("12/2034"). It matches the text engine.
func expiryShaped(v []byte) bool {
	if len(v) > 7 {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c == '/' || c == '-' || c == ' ') {
			return false
		}
	}
	return true
}
