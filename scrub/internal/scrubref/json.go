package scrubref

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrInvalidJSON is wrapped by the errors JSON and JSONBytes return when the input is not one
// well-formed JSON value, or when it nests deeper than MaxJSONDepth.
var ErrInvalidJSON = errors.New("invalid JSON")

// MaxJSONDepth is how deeply objects and arrays may nest in a document JSON scrubs.
const MaxJSONDepth = 512

// JSON copies the JSON document in src to dst with sensitive data removed, reading and writing
// as it goes: memory is bounded by the nesting depth and the longest single string or number,
// not by the size of the document, so an array of millions of elements streams through.
//
//   - The value of a sensitive key (KeyKind on the decoded name) becomes the string
//     "[redacted:KIND]"; an object or array there keeps its shape and every scalar in it is
//     redacted, null included, as the text engine redacts it. The text engine's exceptions
//     hold: under a card key a card number is masked like any card, under a token
//     key a gateway object id ("pm_…") is kept, under an expiry key only a value shaped like
//     a date is redacted, an empty or already redacted value is kept.
//   - Every other string, and every key name, is decoded and scrubbed with Text (run until
//     it changes nothing more); it is re-encoded only when that changed it, else copied
//     byte for byte.
//   - A number with a run of digits that is a card number becomes the string of its card mask
//     ("[card:visa:4242]").
//   - Whitespace, key order and formatting are kept.
//
// src must hold exactly one JSON value, with optional whitespace around it. Otherwise JSON
// returns an error wrapping ErrInvalidJSON that names the byte offset of the fault
// ("scrub: json: offset 17: invalid JSON: …"); what was already written to dst stays written.
// That is a scrubbed prefix of the output: a string or number is written only once it is
// complete, so the cut falls between tokens, never inside an unscrubbed value.
func (s *Scrubber) JSON(dst io.Writer, src io.Reader) error {
	j := &jsonScrub{s: s, r: bufio.NewReaderSize(src, jsonBufSize), dst: dst, obuf: make([]byte, 0, jsonBufSize)}
	err := j.document()
	if j.flush(); j.werr != nil && err == nil {
		err = fmt.Errorf("scrub: json: write: %w", j.werr)
	}
	return err
}

// JSONBytes is JSON over a byte slice. On error it returns nil and the error.
func (s *Scrubber) JSONBytes(src []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(src) + 64)
	if err := s.JSON(&out, bytes.NewReader(src)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// jsonBufSize is the size of the input and output buffers of JSON.
const jsonBufSize = 32 << 10

// jsonScrub is the state of one JSON call: a recursive-descent tokenizer that copies what it
// reads to the output, token by token. It reads the bufio.Reader's buffered bytes in place
// (win, pos) and gives them back in bulk, which costs far less than a call per token.
type jsonScrub struct {
	s    *Scrubber
	r    *bufio.Reader
	win  []byte // the reader's buffered bytes as of the last Peek; valid until the next one
	pos  int    // bytes of win consumed
	base int64  // input offset of win[0]
	dst  io.Writer
	obuf []byte // output; all but its first kept bytes not yet written to dst
	kept int    // bytes at the start of obuf already written, kept as card context
	werr error  // the first write error; output after it is dropped
	raw  []byte // the current string between its quotes, as in the input
	dec  []byte // the current string decoded, when it holds escapes
	str  []byte // the current string decoded: raw or dec
	num  []byte // the current number
	out  []byte // scratch for encoded output
	mask []byte // scratch for a redaction
}

// bigBuffer is the capacity past which a scratch buffer is dropped after use, so that one
// long string does not pin its memory for the rest of the document.
const bigBuffer = 1 << 20

func (j *jsonScrub) syntax(at int64, format string, args ...any) error {
	return fmt.Errorf("scrub: json: offset %d: %w: %s", at, ErrInvalidJSON, fmt.Sprintf(format, args...))
}

// readErr turns an error from the reader into the error JSON returns.
func (j *jsonScrub) readErr(at int64, err error) error {
	if errors.Is(err, io.EOF) {
		return j.syntax(at, "unexpected end of input")
	}
	return fmt.Errorf("scrub: json: offset %d: read: %w", at, err)
}

// off is the input offset of the next byte.
func (j *jsonScrub) off() int64 { return j.base + int64(j.pos) }

func (j *jsonScrub) write(b []byte) {
	if len(j.obuf)+len(b) > jsonBufSize {
		j.flush()
		if len(j.obuf)+len(b) > jsonBufSize {
			if j.werr == nil {
				_, j.werr = j.dst.Write(b)
			}
			j.obuf = tailAppend(j.obuf, b)
			j.kept = len(j.obuf)
			return
		}
	}
	j.obuf = append(j.obuf, b...)
}

func (j *jsonScrub) writeByte(c byte) {
	if len(j.obuf) == jsonBufSize {
		j.flush()
	}
	j.obuf = append(j.obuf, c)
}

// flush writes the output not yet written. The last cardReach bytes stay in obuf: the
// card-context rule reads them before the next value.
func (j *jsonScrub) flush() {
	if j.werr == nil && len(j.obuf) > j.kept {
		_, j.werr = j.dst.Write(j.obuf[j.kept:])
	}
	j.obuf = j.obuf[:copy(j.obuf, j.obuf[len(j.obuf)-min(len(j.obuf), cardReach):])]
	j.kept = len(j.obuf)
}

// before returns the output just written, which the card-context rule reads before the
// value being scrubbed (the opening quote of a string is not written yet: no card word or
// key spans it).
func (j *jsonScrub) before() []byte { return j.obuf[max(0, len(j.obuf)-cardReach):] }

// writeQuoted writes b as a JSON string.
func (j *jsonScrub) writeQuoted(b []byte) {
	j.out = appendJSONString(j.out[:0], b)
	j.write(j.out)
	if cap(j.out) > bigBuffer {
		j.out = nil
	}
}

// avail returns the unconsumed input, at least n bytes of it unless the input ends first
// (then with the reader's error). The slice is valid until the next call.
func (j *jsonScrub) avail(n int) ([]byte, error) {
	if len(j.win)-j.pos >= n {
		return j.win[j.pos:], nil
	}
	// Give back what was consumed, then let the reader slide and refill its buffer.
	d, _ := j.r.Discard(j.pos) // buffered bytes: it cannot fail
	j.base += int64(d)
	j.pos = 0
	_, err := j.r.Peek(n)
	j.win, _ = j.r.Peek(j.r.Buffered())
	if len(j.win) >= n {
		return j.win, nil
	}
	if err == nil {
		err = io.ErrUnexpectedEOF // not reached: Peek reports why it came up short
	}
	return j.win, err
}

// peek returns the next input byte without consuming it.
func (j *jsonScrub) peek() (byte, error) {
	b, err := j.avail(1)
	if err != nil {
		return 0, j.readErr(j.off(), err)
	}
	return b[0], nil
}

// peekN returns the next n input bytes without consuming them; fewer, with the error, when
// the input ends first.
func (j *jsonScrub) peekN(n int) ([]byte, error) {
	b, err := j.avail(n)
	return b[:min(n, len(b))], err
}

// chunk returns the unconsumed input, reading more when there is none.
func (j *jsonScrub) chunk() ([]byte, error) { return j.avail(1) }

// consume marks n bytes returned by avail as read.
func (j *jsonScrub) consume(n int) { j.pos += n }

func (j *jsonScrub) document() error {
	if err := j.ws(); err != nil {
		return err
	}
	if err := j.value(0, "", false); err != nil {
		return err
	}
	if err := j.ws(); err != nil {
		return err
	}
	b, err := j.avail(1)
	switch {
	case err == nil:
		return j.syntax(j.off(), "invalid character %q after top-level value", b[0])
	case !errors.Is(err, io.EOF):
		return j.readErr(j.off(), err)
	case j.werr != nil:
		return fmt.Errorf("scrub: json: write: %w", j.werr)
	}
	return nil
}

// ws copies whitespace to the output. The end of the input is not an error here.
func (j *jsonScrub) ws() error {
	for {
		b, err := j.chunk()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return j.readErr(j.off(), err)
		}
		n := 0
		for n < len(b) && (b[n] == ' ' || b[n] == '\n' || b[n] == '\r' || b[n] == '\t') {
			n++
		}
		j.write(b[:n])
		j.consume(n)
		if n < len(b) {
			return nil
		}
	}
}

// value scrubs one value at depth (the number of enclosing objects and arrays). When sens is
// set the value is under a sensitive key of the given kind.
func (j *jsonScrub) value(depth int, kind Kind, sens bool) error {
	if j.werr != nil {
		return fmt.Errorf("scrub: json: write: %w", j.werr)
	}
	c, err := j.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '{':
		return j.object(depth+1, kind, sens)
	case c == '[':
		return j.array(depth+1, kind, sens)
	case c == '"':
		return j.stringValue(kind, sens)
	case c == '-' || c >= '0' && c <= '9':
		return j.number(kind, sens)
	case c == 't':
		return j.literal("true", kind, sens)
	case c == 'f':
		return j.literal("false", kind, sens)
	case c == 'n':
		return j.literal("null", kind, sens)
	}
	return j.syntax(j.off(), "invalid character %q looking for value", c)
}

// open writes and consumes the '{' or '[' of a structure at depth, then copies whitespace.
func (j *jsonScrub) open(depth int, c byte) error {
	if depth > MaxJSONDepth {
		return j.syntax(j.off(), "nesting deeper than %d", MaxJSONDepth)
	}
	j.writeByte(c)
	j.consume(1)
	return j.ws()
}

// next copies the whitespace after a member or element and reads the byte that follows it.
func (j *jsonScrub) next() (byte, error) {
	if err := j.ws(); err != nil {
		return 0, err
	}
	return j.peek()
}

func (j *jsonScrub) object(depth int, kind Kind, sens bool) error {
	if err := j.open(depth, '{'); err != nil {
		return err
	}
	c, err := j.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		j.writeByte('}')
		j.consume(1)
		return nil
	}
	for {
		if c != '"' {
			return j.syntax(j.off(), "invalid character %q looking for object key", c)
		}
		if err := j.readString(); err != nil {
			return err
		}
		// A key of its own kind decides for what is under it, even inside a sensitive value.
		scrubbed := j.s.textFixpoint(j.before(), j.str)
		memberKind, memberSens := kind, sens
		if k, ok := j.s.scrubbedKeyKind(string(j.str), string(scrubbed)); ok {
			memberKind, memberSens = k, true
		}
		j.emitString(scrubbed)
		if c, err = j.next(); err != nil {
			return err
		}
		if c != ':' {
			return j.syntax(j.off(), "invalid character %q after object key", c)
		}
		j.writeByte(':')
		j.consume(1)
		if err := j.ws(); err != nil {
			return err
		}
		if err := j.value(depth, memberKind, memberSens); err != nil {
			return err
		}
		if c, err = j.next(); err != nil {
			return err
		}
		switch c {
		case ',':
			j.writeByte(',')
			j.consume(1)
			if c, err = j.next(); err != nil {
				return err
			}
		case '}':
			j.writeByte('}')
			j.consume(1)
			return nil
		default:
			return j.syntax(j.off(), "invalid character %q after object value", c)
		}
	}
}

func (j *jsonScrub) array(depth int, kind Kind, sens bool) error {
	if err := j.open(depth, '['); err != nil {
		return err
	}
	c, err := j.peek()
	if err != nil {
		return err
	}
	if c == ']' {
		j.writeByte(']')
		j.consume(1)
		return nil
	}
	for {
		if err := j.value(depth, kind, sens); err != nil {
			return err
		}
		if c, err = j.next(); err != nil {
			return err
		}
		switch c {
		case ',':
			j.writeByte(',')
			j.consume(1)
			if err := j.ws(); err != nil {
				return err
			}
		case ']':
			j.writeByte(']')
			j.consume(1)
			return nil
		default:
			return j.syntax(j.off(), "invalid character %q after array element", c)
		}
	}
}
