package htmltok

import "bytes"

// The skip functions take, in one go, a run of bytes that x/net's tokenizer takes one
// readByte at a time without changing state. They only go over bytes already buffered
// and stop one byte short of the SetMaxBuf limit, leaving readByte to refill the buffer,
// meet the reader's error and report ErrBufferExceeded at the same byte as x/net does.

// window is the buffered bytes the current token can take now: each of them is a byte
// readByte would return with no other effect than advancing z.raw.end.
func (z *Tokenizer) window() []byte {
	if z.err != nil || z.raw.end >= z.lim {
		// x/net's readByte still returns a buffered byte after an error, but its callers
		// stop there: leave that byte to readByte.
		return nil
	}
	return z.buf[z.raw.end:z.lim]
}

// skipTo takes the bytes before the next c.
func (z *Tokenizer) skipTo(c byte) {
	b := z.window()
	// Most runs in a page of short tags are short: look at a few bytes before paying for
	// bytes.IndexByte's setup.
	i := 0
	for ; i < len(b) && i < 16; i++ {
		if b[i] == c {
			z.raw.end += i
			return
		}
	}
	if j := bytes.IndexByte(b[i:], c); j >= 0 {
		i += j
	} else {
		i = len(b)
	}
	z.raw.end += i
}

// skipUntil takes the bytes before the next one in stop and returns how many it took.
func (z *Tokenizer) skipUntil(stop *[256]bool) int {
	b := z.window()
	i := 0
	for i < len(b) && !stop[b[i]] {
		i++
	}
	z.raw.end += i
	return i
}

// skipAll takes every byte it can.
func (z *Tokenizer) skipAll() {
	z.raw.end += len(z.window())
}

// The bytes that end a run in each state.
var (
	// tagNameStop ends a tag name (readTagName).
	tagNameStop = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, '\f': true, '/': true, '>': true}
	// attrKeyStop ends an attribute name, but for a leading '=' (readTagAttrKey).
	attrKeyStop = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, '\f': true, '/': true, '>': true, '=': true}
	// unquotedValStop ends an unquoted attribute value (readTagAttrVal).
	unquotedValStop = [256]bool{' ': true, '\n': true, '\r': true, '\t': true, '\f': true, '>': true}
	// commentStop is the bytes that may end a comment or keep a run of dashes (readComment).
	commentStop = [256]bool{'-': true, '>': true, '!': true}
	// escapedScriptStop leaves the (double) escaped script data states (readScript).
	escapedScriptStop = [256]bool{'-': true, '<': true}
)
