// Copyright 2010 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package htmltok is golang.org/x/net/html's Tokenizer, copied from golang.org/x/net
// v0.59.0 html/token.go, tokenizing exactly as that does at less cost. The page rewriter
// puts nonces where the browser's tokenizer sees a listed script, so it must tokenize as
// x/net does byte for byte; differential and fuzz tests hold the two side by side.
//
// Changes from x/net v0.59.0:
//   - TokenType, its constants and ErrBufferExceeded are x/net's own (aliases), so callers
//     and errors.Is see no difference; Token, Attribute and Tokenizer.Token are left out.
//   - readByte's fast path, take, is a function of its own that the compiler inlines;
//     the hot callers use it and call readByteSlow, x/net's readByte, only when it fails.
//   - Runs of bytes that cannot change a state (text before a '<', script data, raw text,
//     comment text, quoted attribute values, tag and attribute names, bogus comments) are
//     skipped over the buffered bytes at once (scan.go), never past the SetMaxBuf limit, so
//     the buffer refills, the reads and ErrBufferExceeded happen at the same bytes.
//   - readTag finds a repeated attribute name by comparing it, ASCII case-insensitively,
//     with the names already kept (a map only past manyAttrs names, so the cost stays
//     linear), instead of allocating a lower-cased copy of every name.
//   - A raw-text start tag sets rawTag to a constant instead of a lower-cased copy.
//   - unescape looks named character references up through html.UnescapeString instead
//     of a copy of x/net's entity tables (escape.go).
//   - readTag first tries readTagFast, the same state machine over the buffered bytes in
//     local variables, which takes a tag only if it ends before the end of the buffered
//     bytes (fasttag.go).
//   - SetBeforeRefill is new: a hook called before the buffer drops earlier tokens' bytes.
//
// x/net's token.go is split here, in its order, into token.go (the Tokenizer, its buffer and
// accessors), token_text.go (text states: raw text, script data, comments, doctypes, CDATA)
// and token_tag.go (tags, attributes and Next).
package htmltok

import (
	"bytes"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// A TokenType is the type of a Token: x/net's own.
type TokenType = html.TokenType

const (
	// ErrorToken means that an error occurred during tokenization.
	ErrorToken = html.ErrorToken
	// TextToken means a text node.
	TextToken = html.TextToken
	// A StartTagToken looks like <a>.
	StartTagToken = html.StartTagToken
	// An EndTagToken looks like </a>.
	EndTagToken = html.EndTagToken
	// A SelfClosingTagToken tag looks like <br/>.
	SelfClosingTagToken = html.SelfClosingTagToken
	// A CommentToken looks like <!--x-->.
	CommentToken = html.CommentToken
	// A DoctypeToken looks like <!DOCTYPE x>
	DoctypeToken = html.DoctypeToken
)

// ErrBufferExceeded means that the buffering limit was exceeded: x/net's own error.
var ErrBufferExceeded = html.ErrBufferExceeded

// span is a range of bytes in a Tokenizer's buffer. The start is inclusive,
// the end is exclusive.
type span struct {
	start, end int
}

// A Tokenizer returns a stream of HTML Tokens.
type Tokenizer struct {
	// r is the source of the HTML text.
	r io.Reader
	// tt is the TokenType of the current token.
	tt TokenType
	// err is the first error encountered during tokenization. It is possible
	// for tt != Error && err != nil to hold: this means that Next returned a
	// valid token but the subsequent Next call will return an error token.
	// For example, if the HTML text input was just "plain", then the first
	// Next call would set z.err to io.EOF but return a TextToken, and all
	// subsequent Next calls would return an ErrorToken.
	// err is never reset. Once it becomes non-nil, it stays non-nil.
	err error
	// readErr is the error returned by the io.Reader r. It is separate from
	// err because it is valid for an io.Reader to return (n int, err1 error)
	// such that n > 0 && err1 != nil, and callers should always process the
	// n > 0 bytes before considering the error err1.
	readErr error
	// buf[raw.start:raw.end] holds the raw bytes of the current token.
	// buf[raw.end:] is buffered input that will yield future tokens.
	raw span
	buf []byte
	// lim is where the current token reaches the end of buf or, one byte short of it, the
	// maxBuf limit: readByte's fast path takes buf[raw.end] while raw.end < lim. It is set
	// by setLim whenever raw.start, buf or maxBuf may have changed.
	lim int
	// maxBuf limits the data buffered in buf. A value of 0 means unlimited.
	maxBuf int
	// buf[data.start:data.end] holds the raw bytes of the current token's data:
	// a text token's text, a tag token's tag name, etc.
	data span
	// pendingAttr is the attribute key and value currently being tokenized.
	// When complete, pendingAttr is pushed onto attr. nAttrReturned is
	// incremented on each call to TagAttr.
	pendingAttr   [2]span
	attr          [][2]span
	nAttrReturned int
	// attrNames holds the lower-cased names of the current tag's attributes once it has
	// more than manyAttrs of them; below that readTag compares names one by one. It is
	// nil until a tag first needs it, and empty again at the next tag.
	attrNames map[string]struct{}
	// nameBuf is where savePendingAttr lower-cases a name to look it up in attrNames.
	nameBuf []byte
	// rawTag is the "script" in "</script>" that closes the next token. If
	// non-empty, the subsequent call to Next will return a raw or RCDATA text
	// token: one that treats "<p>" as text instead of an element.
	// rawTag's contents are lower-cased.
	rawTag string
	// textIsRaw is whether the current text token's data is not escaped.
	textIsRaw bool
	// convertNUL is whether NUL bytes in the current token's data should
	// be converted into \ufffd replacement characters.
	convertNUL bool
	// allowCDATA is whether CDATA sections are allowed in the current context.
	allowCDATA bool
	// beforeRefill, if set, is called before readByteSlow drops the bytes ahead of the
	// current token from buf (SetBeforeRefill).
	beforeRefill func()
}

// SetBeforeRefill has f called whenever Next is about to move the current token's bytes
// to the start of its buffer, or to a new buffer, to read more input. Until then the Raw
// bytes of the tokens Next returned since the last call stay where they were, unchanged
// (unless Text or TagName, which work in place, changed them), so a caller that copies
// most tokens through can keep their Raw slices and write them out at once in f, instead
// of one by one. It changes nothing else: the reads and the tokens are the same.
func (z *Tokenizer) SetBeforeRefill(f func()) {
	z.beforeRefill = f
}

// AllowCDATA sets whether or not the tokenizer recognizes <![CDATA[foo]]> as
// the text "foo". The default value is false, which means to recognize it as
// a bogus comment "<!-- [CDATA[foo]] -->" instead.
//
// Strictly speaking, an HTML5 compliant tokenizer should allow CDATA if and
// only if tokenizing foreign content, such as MathML and SVG. However,
// tracking foreign-contentness is difficult to do purely in the tokenizer,
// as opposed to the parser, due to HTML integration points: an <svg> element
// can contain a <foreignObject> that is foreign-to-SVG but not foreign-to-
// HTML. For strict compliance with the HTML5 tokenization algorithm, it is the
// responsibility of the user of a tokenizer to call AllowCDATA as appropriate.
// In practice, if using the tokenizer without caring whether MathML or SVG
// CDATA is text or comments, such as tokenizing HTML to find all the anchor
// text, it is acceptable to ignore this responsibility.
func (z *Tokenizer) AllowCDATA(allowCDATA bool) {
	z.allowCDATA = allowCDATA
}

// NextIsNotRawText instructs the tokenizer that the next token should not be
// considered as 'raw text'. Some elements, such as script and title elements,
// normally require the next token after the opening tag to be 'raw text' that
// has no child elements. For example, tokenizing "<title>a<b>c</b>d</title>"
// yields a start tag token for "<title>", a text token for "a<b>c</b>d", and
// an end tag token for "</title>". There are no distinct start tag or end tag
// tokens for the "<b>" and "</b>".
//
// This tokenizer implementation will generally look for raw text at the right
// times. Strictly speaking, an HTML5 compliant tokenizer should not look for
// raw text if in foreign content: <title> generally needs raw text, but a
// <title> inside an <svg> does not. Another example is that a <textarea>
// generally needs raw text, but a <textarea> is not allowed as an immediate
// child of a <select>; in normal parsing, a <textarea> implies </select>, but
// one cannot close the implicit element when parsing a <select>'s InnerHTML.
// Similarly to AllowCDATA, tracking the correct moment to override raw-text-
// ness is difficult to do purely in the tokenizer, as opposed to the parser.
// For strict compliance with the HTML5 tokenization algorithm, it is the
// responsibility of the user of a tokenizer to call NextIsNotRawText as
// appropriate. In practice, like AllowCDATA, it is acceptable to ignore this
// responsibility for basic usage.
//
// Note that this 'raw text' concept is different from the one offered by the
// Tokenizer.Raw method.
func (z *Tokenizer) NextIsNotRawText() {
	z.rawTag = ""
}

// Err returns the error associated with the most recent ErrorToken token.
// This is typically io.EOF, meaning the end of tokenization.
func (z *Tokenizer) Err() error {
	if z.tt != ErrorToken {
		return nil
	}
	return z.err
}

// readByte returns the next byte from the input stream, doing a buffered read
// from z.r into z.buf if necessary. z.buf[z.raw.start:z.raw.end] remains a contiguous byte
// slice that holds all the bytes read so far for the current token.
// It sets z.err if the underlying reader returns an error.
// Pre-condition: z.err == nil.
//
// It is take, or else readByteSlow (x/net's readByte). That is just over the compiler's
// inlining budget, so the hot callers write it out:
// "c, ok := z.take(); if !ok { c = z.readByteSlow() }".
func (z *Tokenizer) readByte() byte {
	if c, ok := z.take(); ok {
		return c
	}
	return z.readByteSlow()
}

// take is readByte's fast path, small enough to be inlined: it takes the next byte if it
// is buffered and leaves the token under the SetMaxBuf limit, and otherwise takes nothing
// and returns false.
func (z *Tokenizer) take() (byte, bool) {
	if i := z.raw.end; i < z.lim {
		z.raw.end = i + 1
		return z.buf[i], true
	}
	return 0, false
}

// setLim sets z.lim for the current z.buf, z.raw.start and z.maxBuf.
func (z *Tokenizer) setLim() {
	z.lim = len(z.buf)
	if z.maxBuf > 0 && z.maxBuf-1 < z.lim-z.raw.start {
		z.lim = z.raw.start + z.maxBuf - 1
	}
}

// readByteSlow is x/net's readByte.
func (z *Tokenizer) readByteSlow() byte {
	if z.raw.end >= len(z.buf) {
		// Our buffer is exhausted and we have to read from z.r. Check if the
		// previous read resulted in an error.
		if z.readErr != nil {
			z.err = z.readErr
			return 0
		}
		if z.beforeRefill != nil {
			z.beforeRefill()
		}
		// We copy z.buf[z.raw.start:z.raw.end] to the beginning of z.buf. If the length
		// z.raw.end - z.raw.start is more than half the capacity of z.buf, then we
		// allocate a new buffer before the copy.
		c := cap(z.buf)
		d := z.raw.end - z.raw.start
		var buf1 []byte
		if 2*d > c {
			buf1 = make([]byte, d, 2*c)
		} else {
			buf1 = z.buf[:d]
		}
		copy(buf1, z.buf[z.raw.start:z.raw.end])
		if x := z.raw.start; x != 0 {
			// Adjust the data/attr spans to refer to the same contents after the copy.
			z.data.start -= x
			z.data.end -= x
			z.pendingAttr[0].start -= x
			z.pendingAttr[0].end -= x
			z.pendingAttr[1].start -= x
			z.pendingAttr[1].end -= x
			for i := range z.attr {
				z.attr[i][0].start -= x
				z.attr[i][0].end -= x
				z.attr[i][1].start -= x
				z.attr[i][1].end -= x
			}
		}
		z.raw.start, z.raw.end, z.buf = 0, d, buf1[:d]
		z.setLim()
		// Now that we have copied the live bytes to the start of the buffer,
		// we read from z.r into the remainder.
		var n int
		n, z.readErr = readAtLeastOneByte(z.r, buf1[d:cap(buf1)])
		if n == 0 {
			z.err = z.readErr
			return 0
		}
		z.buf = buf1[:d+n]
		z.setLim()
	}
	x := z.buf[z.raw.end]
	z.raw.end++
	if z.maxBuf > 0 && z.raw.end-z.raw.start >= z.maxBuf {
		z.err = ErrBufferExceeded
		return 0
	}
	return x
}

// Buffered returns a slice containing data buffered but not yet tokenized.
func (z *Tokenizer) Buffered() []byte {
	return z.buf[z.raw.end:]
}

// readAtLeastOneByte wraps an io.Reader so that reading cannot return (0, nil).
// It returns io.ErrNoProgress if the underlying r.Read method returns (0, nil)
// too many times in succession.
func readAtLeastOneByte(r io.Reader, b []byte) (int, error) {
	for i := 0; i < 100; i++ {
		if n, err := r.Read(b); n != 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// skipWhiteSpace skips past any white space.
func (z *Tokenizer) skipWhiteSpace() {
	if z.err != nil {
		return
	}
	for {
		c, ok := z.take()
		if !ok {
			c = z.readByteSlow()
		}
		if z.err != nil {
			return
		}
		switch c {
		case ' ', '\n', '\r', '\t', '\f':
			// No-op.
		default:
			z.raw.end--
			return
		}
	}
}

// Raw returns the unmodified text of the current token. Calling Next, Token,
// Text, TagName or TagAttr may change the contents of the returned slice.
//
// The token stream's raw bytes partition the byte stream (up until an
// ErrorToken). There are no overlaps or gaps between two consecutive token's
// raw bytes. One implication is that the byte offset of the current token is
// the sum of the lengths of all previous tokens' raw bytes.
func (z *Tokenizer) Raw() []byte {
	return z.buf[z.raw.start:z.raw.end]
}

// convertNewlines converts "\r" and "\r\n" in s to "\n".
// The conversion happens in place, but the resulting slice may be shorter.
func convertNewlines(s []byte) []byte {
	for i, c := range s {
		if c != '\r' {
			continue
		}

		src := i + 1
		if src >= len(s) || s[src] != '\n' {
			s[i] = '\n'
			continue
		}

		dst := i
		for src < len(s) {
			if s[src] == '\r' {
				if src+1 < len(s) && s[src+1] == '\n' {
					src++
				}
				s[dst] = '\n'
			} else {
				s[dst] = s[src]
			}
			src++
			dst++
		}
		return s[:dst]
	}
	return s
}

var (
	nul         = []byte("\x00")
	replacement = []byte("\ufffd")
)

// Text returns the unescaped text of a text, comment or doctype token. The
// contents of the returned slice may change on the next call to Next.
func (z *Tokenizer) Text() []byte {
	switch z.tt {
	case TextToken, CommentToken, DoctypeToken:
		s := z.buf[z.data.start:z.data.end]
		z.data.start = z.raw.end
		z.data.end = z.raw.end
		s = convertNewlines(s)
		if (z.convertNUL || z.tt == CommentToken) && bytes.Contains(s, nul) {
			s = bytes.Replace(s, nul, replacement, -1)
		}
		if !z.textIsRaw {
			s = unescape(s, false)
		}
		return s
	}
	return nil
}

// TagName returns the lower-cased name of a tag token (the `img` out of
// `<IMG SRC="foo">`) and whether the tag has attributes.
// The contents of the returned slice may change on the next call to Next.
func (z *Tokenizer) TagName() (name []byte, hasAttr bool) {
	if z.data.start < z.data.end {
		switch z.tt {
		case StartTagToken, EndTagToken, SelfClosingTagToken:
			s := bytes.ReplaceAll(z.buf[z.data.start:z.data.end], nul, replacement)
			z.data.start = z.raw.end
			z.data.end = z.raw.end
			return lower(s), z.nAttrReturned < len(z.attr)
		}
	}
	return nil, false
}

// TagAttr returns the lower-cased key and unescaped value of the next unparsed
// attribute for the current tag token and whether there are more attributes.
// The contents of the returned slices may change on the next call to Next.
func (z *Tokenizer) TagAttr() (key, val []byte, moreAttr bool) {
	if z.nAttrReturned < len(z.attr) {
		switch z.tt {
		case StartTagToken, SelfClosingTagToken:
			x := z.attr[z.nAttrReturned]
			z.nAttrReturned++
			key = bytes.ReplaceAll(z.buf[x[0].start:x[0].end], nul, replacement)
			val = bytes.ReplaceAll(z.buf[x[1].start:x[1].end], nul, replacement)
			return lower(key), unescape(convertNewlines(val), true), z.nAttrReturned < len(z.attr)
		}
	}
	return nil, nil, false
}

// SetMaxBuf sets a limit on the amount of data buffered during tokenization.
// A value of 0 means unlimited.
func (z *Tokenizer) SetMaxBuf(n int) {
	z.maxBuf = n
}

// NewTokenizer returns a new HTML Tokenizer for the given Reader.
// The input is assumed to be UTF-8 encoded.
func NewTokenizer(r io.Reader) *Tokenizer {
	return NewTokenizerFragment(r, "")
}

// NewTokenizerFragment returns a new HTML Tokenizer for the given Reader, for
// tokenizing an existing element's InnerHTML fragment. contextTag is that
// element's tag, such as "div" or "iframe".
//
// For example, how the InnerHTML "a<b" is tokenized depends on whether it is
// for a <p> tag or a <script> tag.
//
// The input is assumed to be UTF-8 encoded.
func NewTokenizerFragment(r io.Reader, contextTag string) *Tokenizer {
	z := &Tokenizer{
		r:   r,
		buf: make([]byte, 0, 4096),
	}
	if contextTag != "" {
		// Per the "Parsing HTML Fragments" portion of the spec:
		//    For performance reasons, an implementation that does not report errors
		//    and that uses the actual state machine described in this specification
		//    directly could use the PLAINTEXT state instead of the RAWTEXT and script
		//    data states where those are mentioned in the list above. Except for
		//    rules regarding parse errors, they are equivalent, since there is no
		//    appropriate end tag token in the fragment case, yet they involve far
		//    fewer state transitions.
		//
		// As such we just set everything to plaintext, which makes some complex parsing
		// cases somewhat simpler.
		switch s := strings.ToLower(contextTag); s {
		case "title", "textarea":
			z.rawTag = s
		case "style", "xmp", "iframe", "noembed", "noframes", "script", "noscript", "plaintext":
			z.rawTag = "plaintext"
		}
	}
	return z
}

// manyAttrs is how many attribute names of a tag savePendingAttr compares a new name with
// one by one; past that it keeps them in z.attrNames, so that a tag with k attributes
// costs O(k) and not O(k²).
const manyAttrs = 16

// savePendingAttr appends z.pendingAttr to z.attr unless an attribute kept there has the
// same name, ASCII case-insensitively (x/net keeps a set of lower-cased copies of the
// names, allocating one per attribute).
func (z *Tokenizer) savePendingAttr() {
	key := z.buf[z.pendingAttr[0].start:z.pendingAttr[0].end]
	if len(z.attr) < manyAttrs {
		for _, a := range z.attr {
			if equalLower(z.buf[a[0].start:a[0].end], key) {
				return
			}
		}
		z.attr = append(z.attr, z.pendingAttr)
		return
	}
	if len(z.attrNames) == 0 {
		// The first name past manyAttrs: put the names kept so far in the map.
		if z.attrNames == nil {
			z.attrNames = make(map[string]struct{})
		}
		for _, a := range z.attr {
			z.attrNames[string(lower(bytes.Clone(z.buf[a[0].start:a[0].end])))] = struct{}{}
		}
	}
	z.nameBuf = lower(append(z.nameBuf[:0], key...))
	if _, ok := z.attrNames[string(z.nameBuf)]; !ok {
		z.attrNames[string(z.nameBuf)] = struct{}{}
		z.attr = append(z.attr, z.pendingAttr)
	}
}

// equalLower reports whether a and b are equal once lower-cased as lower does.
func equalLower(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		if y := b[i]; x != y {
			if 'A' <= x && x <= 'Z' {
				x += 'a' - 'A'
			}
			if 'A' <= y && y <= 'Z' {
				y += 'a' - 'A'
			}
			if x != y {
				return false
			}
		}
	}
	return true
}
