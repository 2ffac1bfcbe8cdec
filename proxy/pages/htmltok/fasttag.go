package htmltok

import "bytes"

// readTagFast is readTag over the buffered bytes alone, in local variables: most tags of a
// page lie whole in the buffer, and for them the state machine of readTagName,
// skipWhiteSpace, readTagAttrKey and readTagAttrVal runs without a call or a store per
// byte. It takes a tag only if it finds the tag's '>' before the end of the window (where
// readByte could refill the buffer, meet the reader's error or the SetMaxBuf limit), and
// then leaves z as readTag would have: raw.end, data, pendingAttr and attr. Otherwise it
// changes nothing but attr and attrNames, which readTag empties again before its own
// pass; a tag is gone over twice at most, so the work stays linear.
func (z *Tokenizer) readTagFast(saveAttr bool) bool {
	if z.err != nil {
		return false
	}
	b := z.buf[:z.lim]
	start := z.raw.end
	// readTagName: the first byte of the name is already taken.
	i := start
	for i < len(b) && !tagNameStop[b[i]] {
		i++
	}
	if i >= len(b) {
		return false
	}
	nameEnd := i
	if space[b[i]] {
		i++
	}
	for i < len(b) && space[b[i]] {
		i++
	}
	for {
		if i >= len(b) {
			return false
		}
		if b[i] == '>' {
			i++
			break
		}
		// readTagAttrKey: an '=' is part of the name when it comes first.
		keyStart := i
		if b[i] == '=' {
			i++
		}
		for i < len(b) && !attrKeyStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return false
		}
		keyEnd := i
		// readTagAttrVal.
		valStart, valEnd := i, i
		for i < len(b) && space[b[i]] {
			i++
		}
		if i >= len(b) {
			return false
		}
		switch c := b[i]; c {
		case '/':
			i++
		case '=':
			i++
			for i < len(b) && space[b[i]] {
				i++
			}
			if i >= len(b) {
				return false
			}
			switch q := b[i]; q {
			case '>':
			case '\'', '"':
				i++
				valStart = i
				// Most values are short: look at a few bytes before paying for
				// bytes.IndexByte's setup.
				for n := min(len(b), i+16); i < n && b[i] != q; i++ {
				}
				if i >= len(b) || b[i] != q {
					j := bytes.IndexByte(b[i:], q)
					if j < 0 {
						return false
					}
					i += j
				}
				valEnd = i
				i++
			default:
				valStart = i
				i++
				for i < len(b) && !unquotedValStop[b[i]] {
					i++
				}
				if i >= len(b) {
					return false
				}
				valEnd = i
				if b[i] != '>' {
					i++
				}
			}
		}
		z.pendingAttr = [2]span{{keyStart, keyEnd}, {valStart, valEnd}}
		if saveAttr && keyStart != keyEnd {
			if len(z.attr) == 0 {
				z.attr = append(z.attr, z.pendingAttr)
			} else {
				z.savePendingAttr()
			}
		}
		for i < len(b) && space[b[i]] {
			i++
		}
	}
	z.data = span{start - 1, nameEnd}
	z.raw.end = i
	return true
}

// space is the bytes skipWhiteSpace skips.
var space = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, '\f': true}

// nextTag is Next for a start or end tag that begins the token, whose first bytes ("<a"
// or "</a") are buffered: the common case, which the loop in Next reaches through a
// skipTo and two readBytes. It returns false, having taken nothing, for anything else.
func (z *Tokenizer) nextTag() (TokenType, bool) {
	i, b := z.raw.end, z.buf[:z.lim]
	if i+2 >= len(b) || b[i] != '<' {
		return ErrorToken, false
	}
	switch c := b[i+1]; {
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		z.raw.end = i + 2
		z.tt = z.readStartTag()
		return z.tt, true
	case c == '/':
		if c := b[i+2]; 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			z.raw.end = i + 3
			z.readTag(false)
			z.tt = EndTagToken
			if z.err != nil {
				z.tt = ErrorToken
			}
			return z.tt, true
		}
	}
	return ErrorToken, false
}
