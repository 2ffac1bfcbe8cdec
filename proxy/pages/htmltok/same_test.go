package htmltok_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"

	"golang.org/x/net/html"

	"github.com/tokenwall/tokenwall/proxy/pages/htmltok"
)

// The differential harness: the same input, through the same reads, goes to x/net's
// Tokenizer and to htmltok's, and every token must come out the same from both.

// readerKind is how a test reader hands out its input.
type readerKind uint8

const (
	whole     readerKind = iota // as much as asked for, then (0, io.EOF)
	oneByte                     // one byte a Read
	chunks                      // random sizes, some (0, nil), the last chunk with io.EOF
	failAfter                   // as much as asked for, then errBoom instead of io.EOF
	readerKinds
)

func (k readerKind) String() string {
	return [...]string{"whole", "one-byte", "chunks", "fail-after"}[k]
}

var errBoom = errors.New("boom")

// testReader hands out src as its kind says; two made with the same arguments read alike.
type testReader struct {
	src  []byte
	kind readerKind
	rng  *rand.Rand
}

func newTestReader(src []byte, kind readerKind, seed uint64) *testReader {
	return &testReader{src: src, kind: kind, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (r *testReader) Read(p []byte) (int, error) {
	if len(r.src) == 0 {
		if r.kind == failAfter {
			return 0, errBoom
		}
		return 0, io.EOF
	}
	n := len(p)
	switch r.kind {
	case oneByte:
		n = 1
	case chunks:
		if r.rng.IntN(8) == 0 {
			return 0, nil
		}
		n = 1 + r.rng.IntN(1+r.rng.IntN(64))
	}
	n = copy(p, r.src[:min(n, len(r.src))])
	r.src = r.src[n:]
	if r.kind == chunks && len(r.src) == 0 && r.rng.IntN(2) == 0 {
		return n, io.EOF
	}
	return n, nil
}

// options is one way to run a tokenizer over an input.
type options struct {
	reader     readerKind
	seed       uint64
	maxBuf     int
	context    string // NewTokenizerFragment's contextTag
	cdata      bool   // AllowCDATA(true)
	notRawText bool   // NextIsNotRawText after every start tag
	tagName    bool   // call TagName before TagAttr
	partial    bool   // read only the first attribute of a tag
	refill     bool   // SetBeforeRefill on the fork, checking the earlier tokens' Raw bytes
}

func (o options) String() string {
	return fmt.Sprintf("reader %s seed %d, maxBuf %d, context %q, cdata %t, notRawText %t, tagName %t, partial %t, refill %t",
		o.reader, o.seed, o.maxBuf, o.context, o.cdata, o.notRawText, o.tagName, o.partial, o.refill)
}

// contexts are the contextTags the tests try.
var contexts = []string{"", "title", "TEXTAREA", "script", "style", "plaintext", "xmp", "iframe", "noscript", "div"}

// optionsFrom spreads bits over the options, for the fuzz and random tests.
func optionsFrom(seed uint64, maxBuf int, flags uint16) options {
	return options{
		reader:     readerKind(flags % uint16(readerKinds)),
		seed:       seed,
		maxBuf:     maxBuf,
		context:    contexts[int(flags>>2)%len(contexts)],
		cdata:      flags&(1<<6) != 0,
		notRawText: flags&(1<<7) != 0,
		tagName:    flags&(1<<8) != 0,
		partial:    flags&(1<<9) != 0,
		refill:     flags&(1<<10) != 0,
	}
}

// tokenizer is what the harness needs of either tokenizer.
type tokenizer interface {
	Next() html.TokenType
	Raw() []byte
	Buffered() []byte
	Err() error
	TagName() ([]byte, bool)
	TagAttr() ([]byte, []byte, bool)
	Text() []byte
	SetMaxBuf(int)
	AllowCDATA(bool)
	NextIsNotRawText()
}

func newXNet(r io.Reader, context string) tokenizer {
	if context == "" {
		return html.NewTokenizer(r)
	}
	return html.NewTokenizerFragment(r, context)
}

func newFork(r io.Reader, context string) tokenizer {
	if context == "" {
		return htmltok.NewTokenizer(r)
	}
	return htmltok.NewTokenizerFragment(r, context)
}

// kept is a slice TagAttr returned and a copy of it made then: the rewriter keeps a
// script's attributes past Next, so they must not change.
type kept struct{ got, was []byte }

// describe reads the current token through every accessor, in the order o says, into
// one line; the TagAttr slices go to keep.
func describe(z tokenizer, tt html.TokenType, o options, keep *[]kept) string {
	var b strings.Builder
	// Both read the same input, so the same Raw offsets and Buffered lengths mean the
	// same Buffered bytes (which the rewriter copies out when a token is too long).
	fmt.Fprintf(&b, "%v raw %q buffered %d err %v", tt, z.Raw(), len(z.Buffered()), z.Err())
	if o.tagName {
		name, more := z.TagName()
		fmt.Fprintf(&b, " name %q %t", name, more)
	}
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		if k == nil && v == nil && !more {
			break
		}
		fmt.Fprintf(&b, " attr %q=%q %t", k, v, more)
		*keep = append(*keep, kept{k, bytes.Clone(k)}, kept{v, bytes.Clone(v)})
		if o.partial {
			break
		}
	}
	if !o.tagName {
		name, more := z.TagName()
		fmt.Fprintf(&b, " name %q %t", name, more)
	}
	fmt.Fprintf(&b, " text %q raw %q", z.Text(), z.Raw())
	return b.String()
}

// maxSteps bounds a run: x/net's tokenizer ends every input, so this only catches a fork
// that loops.
const maxSteps = 1 << 20

// same runs both tokenizers over in and returns "" or the first difference. It also
// fails if a TagAttr slice of the fork changed after Next, or, with o.refill, if the Raw
// bytes of a token since the last call of the BeforeRefill hook changed before it.
func same(in []byte, o options) string {
	var raws []kept // the fork's Raw slices since the hook last ran, as describe left them
	var refillErr string
	run := func(newTok func(io.Reader, string) tokenizer, keep *[]kept) []string {
		z := newTok(newTestReader(in, o.reader, o.seed), o.context)
		z.SetMaxBuf(o.maxBuf)
		z.AllowCDATA(o.cdata)
		fork, isFork := z.(*htmltok.Tokenizer)
		if isFork && o.refill {
			fork.SetBeforeRefill(func() {
				for _, r := range raws {
					if !bytes.Equal(r.got, r.was) && refillErr == "" {
						refillErr = fmt.Sprintf("a Raw slice changed from %q to %q before the refill hook", r.was, r.got)
					}
				}
				raws = raws[:0]
			})
		}
		var out []string
		for range maxSteps {
			tt := z.Next()
			out = append(out, describe(z, tt, o, keep))
			if isFork && o.refill {
				raws = append(raws, kept{z.Raw(), bytes.Clone(z.Raw())})
			}
			if tt == html.ErrorToken {
				break
			}
			if o.notRawText && tt == html.StartTagToken {
				z.NextIsNotRawText()
			}
		}
		return out
	}
	var xk, fk []kept
	want, got := run(newXNet, &xk), run(newFork, &fk)
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			return fmt.Sprintf("token %d:\nx/net:   %s\nhtmltok: %s", i, want[i], got[i])
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("x/net gave %d tokens, htmltok %d", len(want), len(got))
	}
	for _, k := range fk {
		if !bytes.Equal(k.got, k.was) {
			return fmt.Sprintf("a TagAttr slice changed from %q to %q", k.was, k.got)
		}
	}
	return refillErr
}
