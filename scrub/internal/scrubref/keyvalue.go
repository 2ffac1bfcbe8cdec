package scrubref

import "bytes"

// maxKeyLen bounds how far back a key name is read from its ":" or "=".
const maxKeyLen = 64

func isKeyByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// keyValue handles a ":" or "=" at i: when the key before it is sensitive, the value after
// it is a finding. Keys may be quoted (JSON) or bare (forms, query strings, headers, logs).
func (s *Scrubber) keyValue(src []byte, i, next int) (Finding, bool) {
	ks, ke, quotedKey := keySpan(src, i, next)
	if ks == ke {
		return Finding{}, false
	}
	var nb [maxKeyLen]byte
	kind, ok := s.keys.lookup(normKey(nb[:0], src[ks:ke]))
	if !ok {
		return Finding{}, false
	}
	v, vs, ve, ok := valueSpan(src, i, kind)
	if !ok {
		return Finding{}, false
	}
	val := src[vs:ve]
	if len(val) == 0 || isRedaction(val) || valueExempt(src, val, ve, kind) {
		return Finding{}, false
	}
	f := Finding{Kind: kind, Start: vs, End: ve}
	f.quote = quotedKey && src[i] == ':' && vs == v // a bare JSON value becomes a JSON string
	return f, true
}

// keySpan returns the key before the ":" or "=" at i as src[ks:ke] (ks == ke when there is
// none), and whether it is quoted, which decides how a bare value is written back.
func keySpan(src []byte, i, next int) (ks, ke int, quoted bool) {
	k := i
	for k > next && src[k-1] == ' ' {
		k--
	}
	if k > next && (src[k-1] == '"' || src[k-1] == '\'') {
		q := src[k-1]
		ke = k - 1
		ks = ke
		// A quoted key may hold an earlier finding ("4242… cvc"): its opening quote is looked
		// for before next too, so that the finding does not hide the key.
		for ks > 0 && ke-ks < maxKeyLen && src[ks-1] != q {
			ks--
		}
		if ks == 0 || src[ks-1] != q {
			return 0, 0, false
		}
		return ks, ke, true
	}
	ke = k
	ks = ke
	for ks > next && ke-ks < maxKeyLen && isKeyByte(src[ks-1]) {
		ks--
	}
	return ks, ke, false
}

// valueSpan returns the value after the ":" or "=" at i as src[vs:ve], and v, where it
// starts before any opening quote. ok is false when there is no value or it is a structure,
// whose own keys decide.
func valueSpan(src []byte, i int, kind Kind) (v, vs, ve int, ok bool) {
	v = i + 1
	for v < len(src) && src[v] == ' ' {
		v++
	}
	if v >= len(src) {
		return 0, 0, 0, false
	}
	switch c := src[v]; c {
	case '"', '\'':
		vs = v + 1
		ve = vs
		for ve < len(src) && src[ve] != c && src[ve] != '\n' {
			if src[ve] == '\\' {
				ve++
			}
			ve++
		}
		ve = min(ve, len(src))
	case '{', '[':
		return 0, 0, 0, false // a structure: its own keys decide
	default:
		vs = v
		ve = vs
		for ve < len(src) && !valueEnds(src[ve], kind) {
			ve++
		}
	}
	return v, vs, ve, true
}

// valueExempt reports whether val, the value under a key of this kind ending at ve, is left
// alone by the key: it is not a secret of that kind, or another detector masks it better.
func valueExempt(src, val []byte, ve int, kind Kind) bool {
	switch kind {
	case KindToken:
		return isGatewayObjectID(val)
	case KindExpiry:
		return !looksLikeExpiry(val)
	case KindCard:
		// A card number, or digits that continue into further groups, is left to the card
		// detector, which masks it by shape with brand and last four. Other digits under a
		// card key are redacted by the key.
		// Only a value of digits and separators alone can be left to it: anything mixed is
		// redacted whole, so that a second pass finds nothing new (idempotence).
		if digitsAndSeparators(val) {
			var buf [32]byte
			d := buf[:0]
			for _, c := range val {
				if c >= '0' && c <= '9' && len(d) < len(buf) {
					d = append(d, c)
				}
			}
			if _, pan := IsPAN(d); pan || (ve+1 < len(src) && separatorAt(src, ve) > 0) {
				return true
			}
		}
	}
	return false
}

// valueEnds reports whether c ends an unquoted value. Authorization and cookie values run to
// the end of the line (they hold spaces: "Bearer abc", "a=1; b=2").
func valueEnds(c byte, kind Kind) bool {
	switch c {
	case '\n', '\r', '"', '\'', '&':
		return true
	case ' ', '\t', ';', ',', '}', ']':
		return kind != KindAuthorization && kind != KindCookie
	}
	return false
}

// isGatewayObjectID reports whether v is a Stripe object id (pm_…, tok_…, pi_…): a token in
// the tokenization sense, meant to be stored, not a credential.
func isGatewayObjectID(v []byte) bool {
	i := bytes.IndexByte(v, '_')
	if i < 2 || i > 5 || len(v)-i < 6 {
		return false
	}
	switch string(v[:i]) {
	case "pm", "tok", "pi", "cus", "ch", "re", "evt", "seti", "src", "card", "in", "sub":
	default:
		return false
	}
	for _, c := range v[i+1:] {
		if !isAlnum(c) {
			return false
		}
	}
	return true
}

// looksLikeExpiry: digits, "/", "-" or spaces, at most 7 bytes ("12/2034").
func looksLikeExpiry(v []byte) bool {
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

// digitsAndSeparators reports whether v holds only digits and the separators of grouped
// card numbers (space, dash, plus).
func digitsAndSeparators(v []byte) bool {
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '+') {
			return false
		}
	}
	return len(v) > 0
}

// isRedaction reports whether v is already a redaction, as written or url-escaped (a form or
// URL scrubbed before): scrubbing it again must change nothing. Leading separators that the
// card detector leaves in front of its mask ("+[card:…]" from a form's "+4242…") are skipped.
func isRedaction(v []byte) bool {
	v = bytes.TrimLeft(v, " +-")
	for _, p := range []string{"[redacted:", "[card:", "%5Bredacted", "%5Bcard", "%5bredacted", "%5bcard"} {
		if bytes.HasPrefix(v, []byte(p)) {
			return true
		}
	}
	return false
}
