package proxy

import (
	"compress/flate"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/rs/zerolog"

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
	buf   []byte
	seen  bool
	found func()
}

func (w *panWatch) write(p []byte) {
	if w.seen || len(p) == 0 {
		return
	}
	w.buf = append(w.buf, p...)
	if scrub.ContainsPAN(w.buf) {
		w.seen = true
		w.found()
	}
	if len(w.buf) > watchTail {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-watchTail:]...)
	}
}

// cardWatch passes an upstream response body through unchanged and calls found once if a
// card number goes by. tokenwall does not block such a response (the app already holds the
// number; cutting the page would not undo that) but counts and alerts, so the leak is seen.
// A gzip or deflate body is watched as decoded, on a copy of the stream, bounded.
type cardWatch struct {
	body  io.ReadCloser
	watch *panWatch
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
	req := resp.Request
	watch := &panWatch{found: func() {
		s.metrics.upstreamCards.Inc()
		zerolog.Ctx(req.Context()).Warn().Str(logging.FieldPath, req.URL.Path).Int(logging.FieldUpstreamStatus, resp.StatusCode).
			Msg("upstream response carried a card number: the billing app holds card data it should not")
	}}
	cw := &cardWatch{body: resp.Body, watch: watch}
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip", "deflate":
		pr, pw := io.Pipe()
		cw.decoded, cw.done = pw, make(chan struct{})
		go decode(pr, enc, watch, func() { s.metrics.unwatched.WithLabelValues("decoded_limit").Inc() }, cw.done)
	default:
		s.metrics.unwatched.WithLabelValues("encoding").Inc()
		return
	}
	resp.Body = cw
}

// acceptedEncodings keeps of a client's Accept-Encoding only what the watcher can decode, so
// the app never answers in an encoding tokenwall cannot read.
func acceptedEncodings(h http.Header) {
	v := h.Get("Accept-Encoding")
	if v == "" {
		return
	}
	var keep []string
	for _, t := range strings.Split(v, ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(t), ";")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "x-gzip", "deflate", "identity":
			keep = append(keep, strings.TrimSpace(t))
		}
	}
	if len(keep) == 0 {
		h.Set("Accept-Encoding", "identity")
		return
	}
	h.Set("Accept-Encoding", strings.Join(keep, ", "))
}
