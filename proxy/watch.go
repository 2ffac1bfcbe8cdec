package proxy

import (
	"compress/flate"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/scrub"
)

// watchTail is how much of the previous read is kept so that a card number split between
// two reads is still seen: more than the longest grouped number.
const watchTail = 64

// maxWatchedDecoded bounds how much of a compressed response is decompressed to be watched:
// a decompression bomb costs at most this much work, and the rest of it is forwarded
// unwatched (counted).
const maxWatchedDecoded = 32 << 20

// panWatch looks for a card number in a stream of chunks, keeping a tail between them.
type panWatch struct {
	buf  []byte
	seen bool
	to   cardReporter
}

// cardReporter is told, once, that a watched stream carried a card number.
type cardReporter interface{ cardFound() }

func (w *panWatch) write(p []byte) {
	if w.seen || len(p) == 0 {
		return
	}
	if len(w.buf) == 0 {
		// The first chunk (often the whole body) is looked at where it is.
		w.check(p)
		w.keepTail(p)
		return
	}
	w.buf = append(w.buf, p...)
	w.check(w.buf)
	w.keepTail(w.buf)
}

// check tells w.to when b holds a card number.
func (w *panWatch) check(b []byte) {
	if !w.seen && scrub.ContainsPAN(b) {
		w.seen = true
		w.to.cardFound()
	}
}

// keepTail keeps the last watchTail bytes of b (b may be w.buf) for the next chunk.
func (w *panWatch) keepTail(b []byte) {
	if len(b) > watchTail {
		b = b[len(b)-watchTail:]
	}
	w.buf = append(w.buf[:0], b...)
}

// cardWatch passes an upstream response body through unchanged and reports once (cardFound) if a
// card number goes by. tokenwall does not block such a response (the app already holds the
// number; cutting the page would not undo that) but counts and alerts, so the leak is seen.
// A gzip or deflate body is watched as decoded, on a copy of the stream, bounded.
type cardWatch struct {
	body  io.ReadCloser
	watch panWatch
	// tail is the panWatch's first buffer: a response costs one allocation, this watch.
	tail [2 * watchTail]byte
	// req and status name the response in the line cardFound writes.
	req     *http.Request
	status  int
	metrics *Metrics
	// decoded, when set, receives the compressed bytes for the decoder goroutine.
	decoded *io.PipeWriter
	done    chan struct{}
	once    sync.Once
}

func (w *cardWatch) Read(p []byte) (int, error) {
	n, err := w.body.Read(p)
	if n > 0 {
		if w.decoded != nil {
			_, _ = w.decoded.Write(p[:n]) // fails fast once the decoder stopped
		} else {
			w.watch.write(p[:n])
		}
	}
	if err != nil {
		w.finish()
	}
	return n, err
}

// cardFound counts and logs the card number the response carried.
func (w *cardWatch) cardFound() {
	w.metrics.upstreamCards.Inc()
	requestLog(w.req.Context()).Warn().Str(logging.FieldPath, w.req.URL.Path).Int(logging.FieldUpstreamStatus, w.status).
		Msg("upstream response carried a card number: the billing app holds card data it should not")
}

func (w *cardWatch) Close() error {
	w.finish()
	return w.body.Close()
}

// finish ends the decoder goroutine, if any, and waits for it.
func (w *cardWatch) finish() {
	w.once.Do(func() {
		if w.decoded != nil {
			_ = w.decoded.Close()
			<-w.done
		}
	})
}

// decode watches the decoded stream from r until it ends or maxWatchedDecoded bytes were
// seen; then it closes r so that further writes fail at once.
func decode(r *io.PipeReader, encoding string, watch *panWatch, truncated func(), done chan struct{}) {
	defer close(done)
	var dec io.Reader
	switch encoding {
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			_ = r.CloseWithError(err)
			return
		}
		dec = zr
	default:
		dec = flate.NewReader(r)
	}
	buf := make([]byte, 32<<10)
	var total int64
	for {
		n, err := dec.Read(buf)
		watch.write(buf[:n])
		total += int64(n)
		if total >= maxWatchedDecoded {
			truncated()
			_ = r.CloseWithError(io.ErrShortBuffer)
			return
		}
		if err != nil {
			_ = r.CloseWithError(err)
			return
		}
	}
}

// watchResponse wraps resp's body in a cardWatch that counts and logs a card number. A body
// in an encoding tokenwall cannot decode (it asks the app for gzip or deflate only) is
// counted as unwatched.
func (s *Server) watchResponse(resp *http.Response) {
	if resp.Body == nil || resp.Body == http.NoBody {
		return
	}
	cw := &cardWatch{body: resp.Body, req: resp.Request, status: resp.StatusCode, metrics: s.metrics}
	cw.watch = panWatch{buf: cw.tail[:0], to: cw}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip", "deflate":
		pr, pw := io.Pipe()
		cw.decoded, cw.done = pw, make(chan struct{})
		go decode(pr, enc, &cw.watch, func() { s.metrics.unwatched.WithLabelValues("decoded_limit").Inc() }, cw.done)
	default:
		s.metrics.unwatched.WithLabelValues("encoding").Inc()
		return
	}
	resp.Body = cw
}

// decodableEncoding reports whether an Accept-Encoding item ("gzip;q=0.8") names an encoding
// the watcher decodes.
func decodableEncoding(item string) bool {
	name, _, _ := strings.Cut(item, ";")
	name = strings.TrimSpace(name)
	for _, e := range [...]string{"gzip", "x-gzip", "deflate", "identity"} {
		if strings.EqualFold(name, e) {
			return true
		}
	}
	return false
}

// acceptedEncodings keeps of a client's Accept-Encoding only what the watcher can decode, so
// the app never answers in an encoding tokenwall cannot read. A single header line naming only
// such encodings is left as sent, without allocating.
func acceptedEncodings(h http.Header) {
	v := h.Get("Accept-Encoding")
	if v == "" {
		return
	}
	if len(h["Accept-Encoding"]) == 1 {
		all := true
		for t := range strings.SplitSeq(v, ",") {
			all = all && decodableEncoding(t)
		}
		if all {
			return
		}
	}
	var keep []string
	for t := range strings.SplitSeq(v, ",") {
		if decodableEncoding(t) {
			keep = append(keep, strings.TrimSpace(t))
		}
	}
	if len(keep) == 0 {
		h.Set("Accept-Encoding", "identity")
		return
	}
	h.Set("Accept-Encoding", strings.Join(keep, ", "))
}
