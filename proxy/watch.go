package proxy

import (
	"github.com/tokenwall/tokenwall/logging"
	"io"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
)

// watchTail is how much of the previous read is kept so that a card number split between
// two reads is still seen: more than the longest grouped number.
const watchTail = 64

// cardWatch passes an upstream response body through unchanged and calls found once if a
// card number goes by. tokenwall does not block such a response (the app already holds the
// number; cutting the page would not undo that) but counts and alerts, so the leak is seen.
type cardWatch struct {
	body  io.ReadCloser
	buf   []byte
	seen  bool
	found func()
}

func (w *cardWatch) Read(p []byte) (int, error) {
	n, err := w.body.Read(p)
	if n > 0 && !w.seen {
		w.buf = append(w.buf, p[:n]...)
		if scrub.ContainsPAN(w.buf) {
			w.seen = true
			w.found()
		}
		if len(w.buf) > watchTail {
			w.buf = append(w.buf[:0], w.buf[len(w.buf)-watchTail:]...)
		}
	}
	return n, err
}

func (w *cardWatch) Close() error { return w.body.Close() }

// watchResponse wraps resp's body in a cardWatch that counts and logs a card number.
// Compressed bodies are passed through unwatched: tokenwall does not decompress what it
// forwards.
func (s *Server) watchResponse(resp *http.Response) {
	if resp.Body == nil || resp.Body == http.NoBody || resp.Header.Get("Content-Encoding") != "" {
		return
	}
	req := resp.Request
	resp.Body = &cardWatch{body: resp.Body, found: func() {
		s.metrics.upstreamCards.Inc()
		zerolog.Ctx(req.Context()).Warn().Str(logging.FieldPath, req.URL.Path).Int(logging.FieldUpstreamStatus, resp.StatusCode).
			Msg("upstream response carried a card number: the billing app holds card data it should not")
	}}
}
