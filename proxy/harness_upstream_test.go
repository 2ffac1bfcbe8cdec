package proxy_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/signature"
)

// leakyCard is the card number the /leaky upstream page shows (Stripe's test Mastercard).
const leakyCard = "5555 5555 5555 4444"

// received is one request the upstream got.
type received struct {
	Method, Path, ContentType string
	// URI is the request-target as sent (path and query), where a card in the query shows.
	URI          string
	Body         []byte
	Header       http.Header
	SignatureErr error
	// SignatureV2Err is the v2 verification, for the route's purpose, v1 refused.
	SignatureV2Err error
}

// upstream is the billing app stand-in: a real TLS server that verifies tokenwall's signature
// and records every request.
type upstream struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []received
	key  []byte
	v2   *signature.Verifier
	// delay, when set, is slept before answering (graceful shutdown tests).
	delay time.Duration
	// conns are the connections open now; peakConns the most open at once since
	// resetPeakConns.
	conns, peakConns int
	// pageHTML and pageHeader are what /pay-page answers (a payment page in the tests that
	// configure one): its body and its headers besides Content-Type.
	pageHTML   string
	pageHeader http.Header
}

// setPage sets what /pay-page answers.
func (u *upstream) setPage(html string, h http.Header) {
	u.mu.Lock()
	u.pageHTML, u.pageHeader = html, h.Clone()
	u.mu.Unlock()
}

func newUpstream(t testing.TB, key []byte) *upstream {
	u := &upstream{key: key}
	u.v2 = &signature.Verifier{Keys: func() [][]byte { return [][]byte{u.key} }}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigErr := signature.Verify(r.Header.Get(signature.Header), body, [][]byte{u.key}, signature.DefaultTolerance, time.Now())
		purpose := signature.PurposeCheckout
		if r.URL.Path == "/webhooks/tokenwall" {
			purpose = signature.PurposeWebhook
		}
		v2Err := u.v2.Verify(r.Header.Get(signature.Header), signature.Of(r, purpose), body)
		u.mu.Lock()
		u.reqs = append(u.reqs, received{Method: r.Method, Path: r.URL.Path, URI: r.RequestURI, ContentType: r.Header.Get("Content-Type"), Body: body, Header: r.Header.Clone(),
			SignatureErr: sigErr, SignatureV2Err: v2Err})
		d := u.delay
		u.mu.Unlock()
		if d > 0 {
			time.Sleep(d)
		}
		w.Header().Set("Cache-Control", "private")
		w.Header().Set("Content-Type", "text/plain")
		switch r.URL.Path {
		case "/pay-page":
			u.mu.Lock()
			page, hdr := u.pageHTML, u.pageHeader.Clone()
			u.mu.Unlock()
			for k, v := range hdr {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				// A page asked for compressed cannot be rewritten: tokenwall must ask for identity.
				w.Header().Set("Content-Encoding", "gzip")
				zw := gzip.NewWriter(w)
				_, _ = io.WriteString(zw, page)
				_ = zw.Close()
				return
			}
			_, _ = io.WriteString(w, page)
			return
		case "/leaky":
			// A billing app that shows a stored card number back: the leak tokenwall alerts on.
			fmt.Fprintf(w, "%s your card %s is on file", strings.Repeat("x", 3000), leakyCard)
			return
		case "/leaky-gzip":
			// The same leak, compressed: it is watched as decoded.
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			fmt.Fprintf(zw, "%s your card %s is on file", strings.Repeat("x", 3000), leakyCard)
			_ = zw.Close()
			return
		case "/bomb-gzip":
			// 64 MiB of zeros in about 64 KiB: watched up to its limit, forwarded whole.
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zeros := make([]byte, 1<<20)
			for range 64 {
				_, _ = zw.Write(zeros)
			}
			_ = zw.Close()
			return
		}
		fmt.Fprintf(w, "upstream got %s %s", r.Method, r.URL.Path)
	}))
	u.srv.Config.ConnState = u.countConn
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) requests() []received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]received(nil), u.reqs...)
}

func (u *upstream) setDelay(d time.Duration) {
	u.mu.Lock()
	u.delay = d
	u.mu.Unlock()
}

// countConn keeps the count of open connections and its peak.
func (u *upstream) countConn(_ net.Conn, st http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch st {
	case http.StateNew:
		u.conns++
		u.peakConns = max(u.peakConns, u.conns)
	case http.StateClosed, http.StateHijacked:
		u.conns--
	}
}

// resetPeakConns starts a new peak from the connections open now.
func (u *upstream) resetPeakConns() {
	u.mu.Lock()
	u.peakConns = u.conns
	u.mu.Unlock()
}

// maxConns is the most connections open at once since resetPeakConns.
func (u *upstream) maxConns() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.peakConns
}
