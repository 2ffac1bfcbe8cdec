package scrubref

import (
	"bytes"
	"errors"
	"io"
	"unicode/utf8"
)

// The scalar values of a JSON document: strings (with their escapes), numbers and literals.

func (j *jsonScrub) stringValue(kind Kind, sens bool) error {
	if err := j.readString(); err != nil {
		return err
	}
	if sens {
		if m, ok := j.s.redactKeyed(j.mask[:0], kind, j.str); ok {
			j.mask = m
			j.writeQuoted(m)
			return nil
		}
	}
	j.emitString(j.s.textFixpoint(j.before(), j.str))
	return nil
}

// emitString writes the string just read, whose scrubbed text is scrubbed: re-encoded when
// scrubbing changed it, else as it was in the input.
func (j *jsonScrub) emitString(scrubbed []byte) {
	switch {
	case !bytes.Equal(scrubbed, j.str):
		j.writeQuoted(scrubbed)
	case bytes.IndexByte(j.raw, '\\') >= 0 && j.s.hasCard(j.before(), j.raw):
		// The escapes spell a card number the decoded text does not hold ("\u4242 4242 …"):
		// the plain encoding has none.
		j.writeQuoted(j.str)
	default:
		j.writeByte('"')
		j.write(j.raw)
		j.writeByte('"')
	}
	if cap(j.raw) > bigBuffer || cap(j.dec) > bigBuffer {
		j.raw, j.dec, j.str = nil, nil, nil
	}
}

// readString reads a string into j.raw, and decoded into j.str; the next input byte is its
// opening quote. j.str is j.raw itself unless the string holds escapes.
func (j *jsonScrub) readString() error {
	j.consume(1)
	j.raw, j.dec = j.raw[:0], j.dec[:0]
	escaped := false
	for {
		b, err := j.chunk()
		if err != nil {
			return j.readErr(j.off(), err)
		}
		n := 0
		for n < len(b) && b[n] != '"' && b[n] != '\\' && b[n] >= 0x20 {
			n++
		}
		j.raw = append(j.raw, b[:n]...)
		if escaped {
			j.dec = append(j.dec, b[:n]...)
		}
		j.consume(n)
		if n == len(b) {
			continue
		}
		switch c := b[n]; c {
		case '"':
			j.consume(1)
			j.str = j.raw
			if escaped {
				j.str = j.dec
			}
			return nil
		case '\\':
			if !escaped {
				j.dec = append(j.dec, j.raw...)
				escaped = true
			}
			if err := j.escape(); err != nil {
				return err
			}
		default:
			return j.syntax(j.off(), "invalid control character %q in string", c)
		}
	}
}

// escape decodes the escape sequence at the input's next byte, a backslash.
func (j *jsonScrub) escape() error {
	b, err := j.peekN(2)
	if err != nil {
		return j.readErr(j.off()+int64(len(b)), err)
	}
	var c byte
	switch b[1] {
	case '"', '\\', '/':
		c = b[1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		return j.unicodeEscape()
	default:
		return j.syntax(j.off()+1, "invalid escape character %q in string", b[1])
	}
	j.raw = append(j.raw, b[:2]...)
	j.dec = append(j.dec, c)
	j.consume(2)
	return nil
}

// unicodeEscape decodes a \uXXXX escape, and the low surrogate escape after it when it is
// a high surrogate. A lone surrogate decodes to U+FFFD, as encoding/json decodes it.
func (j *jsonScrub) unicodeEscape() error {
	b, err := j.peekN(6)
	r, ok := hex4(b[min(2, len(b)):])
	if !ok {
		for i := 2; i < len(b); i++ {
			if !isHex(b[i]) {
				return j.syntax(j.off()+int64(i), "invalid character %q in \\u escape", b[i])
			}
		}
		return j.readErr(j.off()+int64(len(b)), err)
	}
	n := 6
	if high := r; high >= 0xD800 && high < 0xE000 {
		r = utf8.RuneError
		if p, _ := j.peekN(12); high < 0xDC00 && len(p) == 12 && p[6] == '\\' && p[7] == 'u' {
			if low, ok := hex4(p[8:12]); ok && low >= 0xDC00 && low < 0xE000 {
				r = 0x10000 + (high-0xD800)<<10 + (low - 0xDC00)
				n = 12
			}
		}
	}
	p, _ := j.peekN(n)
	j.raw = append(j.raw, p...)
	j.dec = utf8.AppendRune(j.dec, r)
	j.consume(n)
	return nil
}

// hex4 decodes four hex digits.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, true
}

func (j *jsonScrub) number(kind Kind, sens bool) error {
	start := j.off()
	j.num = j.num[:0]
	for {
		b, err := j.chunk()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return j.readErr(j.off(), err)
		}
		n := 0
		for n < len(b) && (b[n] >= '0' && b[n] <= '9' || b[n] == '-' || b[n] == '+' || b[n] == '.' || b[n] == 'e' || b[n] == 'E') {
			n++
		}
		j.num = append(j.num, b[:n]...)
		j.consume(n)
		if n < len(b) {
			break
		}
	}
	end, complete := scanNumber(j.num)
	switch {
	case complete && end < len(j.num):
		return j.syntax(start+int64(end), "invalid character %q after number", j.num[end])
	case !complete && end < len(j.num):
		return j.syntax(start+int64(end), "invalid character %q in number", j.num[end])
	case !complete:
		c, err := j.peek()
		if err != nil {
			return err
		}
		return j.syntax(j.off(), "invalid character %q in number", c)
	}
	var m []byte
	ok := false
	if sens {
		m, ok = j.s.redactKeyed(j.mask[:0], kind, j.num)
	}
	if !ok {
		m, ok = j.s.numberCard(j.mask[:0], j.before(), j.num)
	}
	if ok {
		j.mask = m
		j.writeQuoted(m)
	} else {
		j.write(j.num)
	}
	if cap(j.num) > bigBuffer {
		j.num = nil
	}
	return nil
}

// scanNumber matches b against the JSON number grammar. It returns how far b matches, and
// whether that prefix is a whole number.
func scanNumber(b []byte) (end int, complete bool) {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		i = digits(i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		i = digits(i)
	}
	return i, true
}

// numberCard appends the card mask of the first run of digits in a number literal that is a
// card number, and reports whether there was one. Every run counts (integer, fraction,
// exponent): any of them would read as a card in the output. pre is the output before the
// number, where the card-context rule looks.
func (s *Scrubber) numberCard(dst, pre, num []byte) ([]byte, bool) {
	for i := 0; i < len(num); {
		if num[i] < '0' || num[i] > '9' {
			i++
			continue
		}
		k := i
		for k < len(num) && num[k] >= '0' && num[k] <= '9' {
			k++
		}
		r, ok := panRange(num[i:k])
		if ok && r.needsContext(k-i) {
			cx := cardScope{pre: pre, src: num, keys: s.keys}
			ok = cx.hasCardContext(i)
		}
		if ok {
			return s.appendCardMask(dst, r.brand, num[i:k]), true
		}
		i = k
	}
	return dst, false
}

func (j *jsonScrub) literal(word string, kind Kind, sens bool) error {
	b, err := j.peekN(len(word))
	for i := range len(word) {
		if i >= len(b) {
			return j.readErr(j.off()+int64(i), err)
		}
		if b[i] != word[i] {
			return j.syntax(j.off()+int64(i), "invalid character %q in literal %s", b[i], word)
		}
	}
	j.consume(len(word))
	if sens {
		if m, ok := j.s.redactKeyed(j.mask[:0], kind, []byte(word)); ok {
			j.mask = m
			j.writeQuoted(m)
			return nil
		}
	}
	j.write([]byte(word))
	return nil
}

const jsonHex = "0123456789abcdef"

// appendJSONString appends b as a JSON string, escaping only what JSON requires. Bytes that
// are not valid UTF-8 are copied as they are, as they were in the input.
func appendJSONString(dst, b []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i, c := range b {
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		dst = append(dst, b[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			dst = append(dst, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, b[start:]...)
	return append(dst, '"')
}
