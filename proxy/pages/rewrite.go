package pages

import (
	"bufio"
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"html"
	"io"
	"math"
	"net/url"
	"strings"

	xhtml "github.com/tokenwall/tokenwall/proxy/pages/htmltok"
)

// ErrPageTooLarge means a page's body is longer than the limit Rewrite was given.
var ErrPageTooLarge = errors.New("payment page too large")

const (
	// MaxInlineScript is the longest inline script text Rewrite lets be listed: a longer
	// one gets no nonce whatever its hash (Script.Truncated).
	MaxInlineScript = 256 << 10
	// MaxScripts is how many script elements a Result lists one by one; the rest are
	// counted and folded into Result.MoreSHA384.
	MaxScripts = 256
	// maxTokenBytes bounds the tokenizer's buffer: a longer token (an inline script, a run of
	// text without a tag, a tag's attributes) ends the parse, and the rest of the page goes
	// through unparsed (Result.Unparsed).
	maxTokenBytes = 1 << 20
	// maxKept bounds each string a Result keeps of the page (a URL, a meta policy).
	maxKept = 2 << 10
	// maxMetaCSP bounds how many meta policies a Result keeps.
	maxMetaCSP = 16
)

// Rewrite copies the HTML page r to w, putting nonce on the script elements inv lists (a
// nil inv lists none) and taking the upstream's nonce and integrity off every script
// element, pinning each listed external script with its integrity value. base is the
// page's URL, against which src attributes resolve. Every other byte goes through
// unchanged, in one pass and bounded memory. A body longer than maxBytes (which must be
// positive) ends the copy with an error wrapping ErrPageTooLarge; what was written stays
// written, and the Result, returned with any error, covers it.
func Rewrite(w io.Writer, r io.Reader, inv *Inventory, base *url.URL, nonce string, maxBytes int64) (Result, error) {
	rw := newRewriter(w, r, inv, base, nonce, maxBytes)
	return rw.run()
}

func newRewriter(w io.Writer, r io.Reader, inv *Inventory, base *url.URL, nonce string, maxBytes int64) *rewriter {
	return newRewriterTo(bufio.NewWriterSize(w, 16<<10), r, inv, base, nonce, maxBytes)
}

func newRewriterTo(out *bufio.Writer, r io.Reader, inv *Inventory, base *url.URL, nonce string, maxBytes int64) *rewriter {
	in := &limitReader{r: r, max: maxBytes}
	z := xhtml.NewTokenizer(in)
	z.SetMaxBuf(maxTokenBytes)
	rw := &rewriter{out: out, in: in, z: z, inv: inv, base: base, nonce: nonce}
	z.SetBeforeRefill(rw.flushPending)
	return rw
}

// rewriter is one run of Rewrite.
type rewriter struct {
	out     *bufio.Writer
	werr    error
	written int64 // bytes handed to out
	// pending is the Raw bytes of the latest tokens, which go through unchanged and are
	// not written yet: one slice of the tokenizer's buffer, written at once before the
	// tokenizer refills it (SetBeforeRefill) or before anything else is written.
	pending []byte
	in      *limitReader
	z       *xhtml.Tokenizer
	inv     *Inventory
	base    *url.URL
	nonce   string
	res     Result
	more    hash.Hash
	holding bool // a script start tag waits in held for the element's text
	held    heldTag
	work    int64 // bytes this package's own code went over, for the linear-time test
}

// heldTag is a script start tag without the upstream's nonce and integrity attributes.
type heldTag struct {
	attrs       [][2][]byte
	selfClosing bool
	src, href   []byte
	hasSrc      bool
	hasHref     bool
	// typ is the type attribute: a data block (dataBlock) is not run, and its text is not
	// part of the fingerprint (pages embed per-request data in them).
	typ []byte
}

func (rw *rewriter) run() (Result, error) {
	return rw.finish(rw.loop())
}

// finish flushes what is buffered and completes the Result, after the last step.
func (rw *rewriter) finish(err error) (Result, error) {
	if rw.flushPending(); err == nil {
		err = rw.werr
	}
	if ferr := rw.out.Flush(); err == nil {
		err = ferr
	}
	rw.res.Bytes = rw.in.n
	if rw.more != nil {
		rw.res.MoreSHA384 = "sha384-" + base64.StdEncoding.EncodeToString(rw.more.Sum(nil))
	}
	return rw.res, err
}

func (rw *rewriter) loop() error {
	if rw.in.max <= 0 {
		return fmt.Errorf("pages: the page limit %d is not positive", rw.in.max)
	}
	if done, err := rw.steps(math.MaxInt64); done {
		return err
	}
	return rw.werr
}

// steps rewrites tokens until it has written limit bytes, counting the pending ones, or
// a write failed; done reports the end of the page (err nil) or a failure.
func (rw *rewriter) steps(limit int64) (done bool, err error) {
	z := rw.z
	for rw.werr == nil && rw.written+int64(len(rw.pending)) < limit {
		switch tt := z.Next(); {
		case rw.holding || tt == xhtml.ErrorToken || tt == xhtml.StartTagToken || tt == xhtml.SelfClosingTagToken:
			if done, err := rw.step(tt); done {
				return true, err
			}
		default:
			// Most tokens: text, end tags, comments.
			rw.pass(z.Raw())
		}
	}
	return false, nil
}

// step rewrites the token Next returned as tt; done reports the end of the page (err nil)
// or a failure.
func (rw *rewriter) step(tt xhtml.TokenType) (done bool, err error) {
	z := rw.z
	if rw.holding {
		// The token after a script start tag is its text, unless the element is empty.
		if tt == xhtml.TextToken {
			rw.settle(z.Raw())
			rw.pass(z.Raw())
			return false, nil
		}
		rw.settle(nil)
	}
	switch tt {
	case xhtml.ErrorToken:
		return true, rw.end()
	case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
		raw := z.Raw()
		if isTag(raw, "script") {
			rw.hold(tt == xhtml.SelfClosingTagToken)
			return false, nil
		}
		if isTag(raw, "meta") {
			rw.meta()
		}
		rw.pass(raw)
	default:
		rw.pass(z.Raw())
	}
	return false, nil
}

// end finishes on the tokenizer's error: the end of the page, a token over the bound or a
// failed read.
func (rw *rewriter) end() error {
	err := rw.z.Err()
	switch {
	case err == io.EOF:
		rw.pass(rw.z.Raw()) // a tag cut off by the end of the page
		rw.flushPending()
		return rw.werr
	case errors.Is(err, xhtml.ErrBufferExceeded):
		return rw.unparsed()
	case errors.Is(err, ErrPageTooLarge):
		return err
	}
	return fmt.Errorf("pages: reading the page: %w", err)
}

// unparsed sends the rest of the page as it is, hashed.
func (rw *rewriter) unparsed() error {
	rw.flushPending()
	h := sha512.New384()
	rest := io.MultiReader(bytes.NewReader(rw.z.Raw()), bytes.NewReader(rw.z.Buffered()), rw.in)
	_, err := io.Copy(io.MultiWriter(rw.out, h), rest)
	rw.res.Unparsed = true
	rw.res.UnparsedSHA384 = "sha384-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
	if err != nil && !errors.Is(err, ErrPageTooLarge) {
		return fmt.Errorf("pages: the rest of the page: %w", err)
	}
	return err
}

// pass writes the Raw bytes of a token that goes through unchanged: it adds them to
// pending, which they follow in the tokenizer's buffer unless a refill came between.
func (rw *rewriter) pass(raw []byte) {
	rw.work += int64(len(raw))
	if p := rw.pending; len(p) > 0 && len(raw) > 0 && cap(p)-len(p) >= len(raw) && &p[:len(p)+1][len(p)] == &raw[0] {
		rw.pending = p[:len(p)+len(raw)]
		return
	}
	rw.passApart(raw)
}

// passApart is pass for bytes that do not follow pending.
func (rw *rewriter) passApart(raw []byte) {
	if len(raw) > 0 {
		rw.flushPending()
		rw.pending = raw
	}
}

// flushPending writes the pending bytes.
func (rw *rewriter) flushPending() {
	if len(rw.pending) > 0 && rw.werr == nil {
		rw.written += int64(len(rw.pending))
		_, rw.werr = rw.out.Write(rw.pending)
	}
	rw.pending = nil
}

func (rw *rewriter) write(b []byte) {
	rw.flushPending()
	if rw.werr == nil && len(b) > 0 {
		rw.work += int64(len(b))
		rw.written += int64(len(b))
		_, rw.werr = rw.out.Write(b)
	}
}

func (rw *rewriter) writeString(s string) {
	rw.flushPending()
	if rw.werr == nil {
		rw.work += int64(len(s))
		rw.written += int64(len(s))
		_, rw.werr = rw.out.WriteString(s)
	}
}

// writeEscaped writes an attribute value escaped as html.EscapeString does, without
// making a string of it.
func (rw *rewriter) writeEscaped(v []byte) {
	for {
		i := bytes.IndexAny(v, `&'<>"`)
		if i < 0 {
			rw.write(v)
			return
		}
		rw.write(v[:i])
		rw.writeString(html.EscapeString(string(v[i : i+1])))
		v = v[i+1:]
	}
}

// hold reads the attributes of the current script start tag into held.
func (rw *rewriter) hold(selfClosing bool) {
	h := &rw.held
	*h = heldTag{attrs: h.attrs[:0], selfClosing: selfClosing}
	rw.holding = true
	for more := true; more; {
		var k, v []byte
		k, v, more = rw.z.TagAttr() // fresh copies, valid after Next
		if k == nil {
			break
		}
		rw.work += int64(len(k) + len(v))
		switch key := string(k); {
		case key == "nonce" || key == "integrity":
			continue
		case key == "src":
			h.src, h.hasSrc = v, true
		case key == "type":
			h.typ = v
		case (key == "href" || strings.HasSuffix(key, ":href")) && !h.hasHref:
			h.href, h.hasHref = v, true
		}
		h.attrs = append(h.attrs, [2][]byte{k, v})
	}
}

// settle decides on the held script start tag now that its text is known, and writes it.
func (rw *rewriter) settle(text []byte) {
	h := &rw.held
	rw.holding = false
	var s Script
	var integrity string
	switch {
	case h.hasSrc || h.hasHref:
		v := h.src
		if !h.hasSrc {
			v = h.href
		}
		u := rw.absolute(v)
		s.Src = resolved(u, v)
		if h.hasSrc {
			integrity, s.Listed = rw.inv.External(u)
		}
		switch {
		case !blank(text):
			rw.work += int64(len(text))
			s.Note = NoteExternalText + textSRI(text)
		case h.hasHref:
			s.Note = NoteHref
		}
	case dataBlock(h.typ):
		// Not a script the browser runs: no nonce, and no hash, which would change with
		// every response of a page that embeds per-request data.
		s.Note = NoteDataBlock + cut(strings.ToLower(strings.TrimSpace(string(h.typ))), 64)
	default:
		rw.work += int64(len(text))
		s.SHA384 = textSRI(text)
		switch {
		case len(text) > MaxInlineScript:
			s.Truncated = true
		case rw.inv.Inline(s.SHA384):
			s.Listed = true
			if rw.work += int64(len(text)); !endsCleanly(text) {
				s.Note = NoteMarkup
			}
		}
	}
	s.Nonce = s.Listed && s.Note == "" && rw.nonce != ""
	rw.writeTag(integrity, s.Nonce)
	if s.Nonce {
		rw.res.Nonces++
	}
	rw.record(s)
}

// writeTag writes the held start tag again, with integrity (for a listed external script)
// and the nonce if asked.
func (rw *rewriter) writeTag(integrity string, nonce bool) {
	rw.writeString("<script")
	for _, a := range rw.held.attrs {
		if integrity != "" && string(a[0]) == "crossorigin" {
			continue
		}
		rw.writeString(" ")
		rw.write(a[0])
		rw.writeString(`="`)
		rw.writeEscaped(a[1])
		rw.writeString(`"`)
	}
	if integrity != "" {
		rw.writeString(` integrity="` + html.EscapeString(integrity) + `" crossorigin="anonymous"`)
	}
	if nonce {
		rw.writeString(` nonce="` + html.EscapeString(rw.nonce) + `"`)
	}
	if rw.held.selfClosing {
		rw.writeString("/")
	}
	rw.writeString(">")
}

// record adds s to the Result, or folds it into MoreSHA384 past MaxScripts.
func (rw *rewriter) record(s Script) {
	if len(rw.res.Scripts) < MaxScripts {
		rw.res.Scripts = append(rw.res.Scripts, s)
		return
	}
	if rw.more == nil {
		rw.more = sha512.New384()
	}
	rw.res.MoreScripts++
	fmt.Fprintf(rw.more, "%q %q %t %t %q\n", s.Src, s.SHA384, s.Listed, s.Truncated, s.Note)
}

// meta records the policy of a <meta http-equiv="content-security-policy">.
func (rw *rewriter) meta() {
	var csp bool
	var content []byte
	for more := true; more; {
		var k, v []byte
		k, v, more = rw.z.TagAttr()
		if k == nil {
			break
		}
		switch string(k) {
		case "http-equiv":
			csp = strings.EqualFold(strings.TrimSpace(string(v)), "content-security-policy")
		case "content":
			content = v
		}
	}
	if csp && len(rw.res.MetaCSP) < maxMetaCSP {
		rw.res.MetaCSP = append(rw.res.MetaCSP, cut(string(content), maxKept))
	}
}

// absolute resolves a src attribute against the page's URL (not against a <base>
// element: the policy's base-uri 'none' stops the browser using one). It returns nil
// unless the result is an absolute URL.
func (rw *rewriter) absolute(v []byte) *url.URL {
	s := strings.TrimFunc(string(v), func(r rune) bool { return r <= ' ' })
	u, err := url.Parse(s)
	if s == "" || err != nil {
		return nil
	}
	if rw.base != nil {
		u = rw.base.ResolveReference(u)
	}
	if !u.IsAbs() {
		return nil
	}
	return u
}

// resolved is the Script.Src of a src or href attribute v, given u, rw.absolute(v).
func resolved(u *url.URL, v []byte) string {
	if u != nil {
		return cut(normalURL(u), maxKept)
	}
	if s := strings.TrimSpace(string(v)); s != "" {
		return cut(s, maxKept)
	}
	return "(empty src)"
}

// isTag reports whether raw, a start tag, is a name element (ASCII case-insensitively).
func isTag(raw []byte, name string) bool {
	if len(raw) < len(name)+2 || raw[0] != '<' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := raw[1+i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != name[i] {
			return false
		}
	}
	switch raw[1+len(name)] {
	case ' ', '\t', '\n', '\r', '\f', '/', '>':
		return true
	}
	return false
}

// limitReader reads at most max bytes of r, and fails with ErrPageTooLarge on more. Its
// error is sticky: once failed, it fails the same way again.
type limitReader struct {
	r   io.Reader
	max int64
	n   int64
	err error
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if rest := l.max - l.n + 1; int64(len(p)) > rest {
		p = p[:rest] // one byte more than allowed tells a page over the limit
	}
	n, err := l.r.Read(p)
	if l.n+int64(n) > l.max {
		n = int(l.max - l.n)
		err = fmt.Errorf("%w: over %d bytes", ErrPageTooLarge, l.max)
	}
	l.n += int64(n)
	l.err = err
	return n, err
}

// NoteDataBlock marks an inline script element of a type the browser does not run (a data
// block such as application/json), followed by its type.
const NoteDataBlock = "data block: "

// jsTypes are the type attribute values under which the browser runs a script element (the
// JavaScript MIME type essences of the HTML standard, module, and the inline JSON it acts
// on itself: import maps and speculation rules, which the page's policy governs too).
var jsTypes = map[string]bool{
	"": true, "module": true, "importmap": true, "speculationrules": true,
	"application/ecmascript": true, "application/javascript": true, "application/x-ecmascript": true,
	"application/x-javascript": true, "text/ecmascript": true, "text/javascript": true, "text/javascript1.0": true,
	"text/javascript1.1": true, "text/javascript1.2": true, "text/javascript1.3": true, "text/javascript1.4": true,
	"text/javascript1.5": true, "text/jscript": true, "text/livescript": true, "text/x-ecmascript": true,
	"text/x-javascript": true,
}

// dataBlock reports whether a script element with this type attribute is a data block,
// which the browser neither runs nor applies the policy to.
func dataBlock(typ []byte) bool {
	if typ == nil {
		return false
	}
	return !jsTypes[strings.ToLower(strings.TrimSpace(string(typ)))]
}

// Reader is Rewrite as a reader: the page is rewritten as it is read, token by token, on the
// reader's goroutine (a reverse proxy copying the response drives it, with no goroutine or
// pipe beside it). Memory is bounded as Rewrite's: a token at most, and the page's rest past
// a token over the bound. At the end of the page (or on an error) done is called once with
// the Result.
type Reader struct {
	rw    *rewriter
	out   readerOut
	body  io.Closer
	done  func(Result, error)
	ended bool
	err   error
}

// NewReader returns a Reader of the page body (closed by Close) with the arguments of
// Rewrite; done may be nil.
func NewReader(body io.ReadCloser, inv *Inventory, base *url.URL, nonce string, maxBytes int64, done func(Result, error)) *Reader {
	p := &Reader{body: body, done: done}
	// The bytes that go through unchanged reach out in long runs, which the small buffer
	// passes on without copying; it only gathers the pieces of a rewritten script tag.
	p.rw = newRewriterTo(bufio.NewWriterSize(&p.out, 256), body, inv, base, nonce, maxBytes)
	if maxBytes <= 0 {
		p.end(fmt.Errorf("pages: the page limit %d is not positive", maxBytes))
	}
	return p
}

// readerChunk is the most a Reader rewrites before a Read returns.
const readerChunk = 16 << 10

// Read returns the rewritten page.
func (p *Reader) Read(b []byte) (int, error) {
	if p.out.over.Len() > 0 || len(b) == 0 {
		return p.out.over.Read(b)
	}
	// Rewrite into b itself until it is full: the runs of bytes that go through unchanged
	// are copied once, from the tokenizer's buffer to b.
	p.out.dst = b[:0]
	if !p.ended {
		// Nothing is left in out or pending from the last Read, and over is empty. As
		// much as readerChunk at a time, so that a slow page still streams.
		done, err := p.rw.steps(p.rw.written + int64(min(len(b), readerChunk)))
		if done || p.rw.werr != nil {
			if err == nil {
				err = p.rw.werr
			}
			p.end(err)
		} else {
			p.rw.flushPending()
			_ = p.rw.out.Flush()
		}
	}
	n := len(p.out.dst)
	p.out.dst = nil
	if n > 0 {
		return n, nil
	}
	return 0, p.err
}

// end finishes the page: what is buffered is written out, and done is called.
func (p *Reader) end(err error) {
	res, err := p.rw.finish(err)
	p.ended = true
	p.err = err
	if err == nil {
		p.err = io.EOF
	}
	if p.done != nil {
		p.done(res, err)
	}
}

// Close closes the page body.
func (p *Reader) Close() error { return p.body.Close() }

// readerOut is where a Reader's rewriter writes: into the slice Read was given while it
// has room, and past that into over, which the next Reads empty first.
type readerOut struct {
	dst  []byte // what Read's slice holds so far; its capacity is the slice's length
	over bytes.Buffer
}

func (o *readerOut) Write(b []byte) (int, error) {
	n := len(b)
	if o.over.Len() == 0 {
		m := copy(o.dst[len(o.dst):cap(o.dst)], b)
		o.dst = o.dst[:len(o.dst)+m]
		b = b[m:]
	}
	if len(b) > 0 {
		o.over.Write(b)
	}
	return n, nil
}
