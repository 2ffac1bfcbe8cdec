package devstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// The fault proxy's server timeouts. WriteTimeout bounds a whole exchange, so a FaultDelay
// longer than about a minute is cut short.
const (
	proxyReadHeaderTimeout = 5 * time.Second
	proxyReadTimeout       = 30 * time.Second
	proxyWriteTimeout      = 70 * time.Second
	proxyIdleTimeout       = 60 * time.Second
)

// maxBody bounds a request body the proxy holds in memory while it delays the request.
const maxBody = 10 << 20

// injectedBody is the body of a FaultStatus answer, shaped like a Stripe API error.
const injectedBody = `{"error":{"type":"api_error","message":"injected"}}`

// unreachableBody is the body of the answer when the target cannot be reached.
const unreachableBody = `{"error":{"type":"api_error","message":"fault proxy: upstream unreachable"}}`

// SeenRequest is one request a FaultProxy received, as it arrived.
type SeenRequest struct {
	// Method is the HTTP method.
	Method string
	// Path is the URL path, without the query.
	Path string
	// IdempotencyKey is the Idempotency-Key header, or "".
	IdempotencyKey string
	// Fault is the fault applied (Fault.String), or "" when the request was forwarded plainly.
	Fault string
}

// FaultProxy is a reverse proxy on 127.0.0.1 in front of a target server that can fail the
// next requests on demand: answer an error status, be slow, or drop the connection before or
// after the target has handled the request.
type FaultProxy struct {
	url   string
	srv   *http.Server
	proxy *httputil.ReverseProxy
	done  chan error

	mu      sync.Mutex
	pending []pendingFault
	seen    []SeenRequest

	closeOnce sync.Once
	closeErr  error
}

// NewFaultProxy starts a FaultProxy forwarding to the base URL target, such as a
// StripeMock's URL.
func NewFaultProxy(target string) (*FaultProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("devstack: fault proxy target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("devstack: fault proxy target %q: want an http or https base URL", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("devstack: fault proxy listen: %w", err)
	}
	p := &FaultProxy{url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	p.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			writeJSON(w, http.StatusBadGateway, unreachableBody)
		},
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = &http.Server{
		Handler:           p,
		ReadHeaderTimeout: proxyReadHeaderTimeout,
		ReadTimeout:       proxyReadTimeout,
		WriteTimeout:      proxyWriteTimeout,
		IdleTimeout:       proxyIdleTimeout,
		// Dropped connections are the point here; the server's complaints about them are noise.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { p.done <- p.srv.Serve(ln) }()
	return p, nil
}

// URL returns the proxy's base URL, http://127.0.0.1:PORT.
func (p *FaultProxy) URL() string { return p.url }

// Inject applies f to the next n requests, after any faults already pending.
func (p *FaultProxy) Inject(f Fault, n int) {
	if n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = append(p.pending, pendingFault{fault: f, left: n})
}

// Reset drops the faults not yet used.
func (p *FaultProxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = nil
}

// Requests returns the requests received so far, oldest first.
func (p *FaultProxy) Requests() []SeenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]SeenRequest(nil), p.seen...)
}

// Close stops the proxy and closes every connection, also those of delayed requests.
func (p *FaultProxy) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.srv.Close()
		if err := <-p.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.closeErr = errors.Join(p.closeErr, fmt.Errorf("devstack: fault proxy: %w", err))
		}
	})
	return p.closeErr
}

// ServeHTTP takes the next pending fault, records the request and applies the fault.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := p.take(r)
	switch f.kind {
	case faultStatus:
		body := injectedBody
		if f.body != "" {
			body = f.body
		}
		writeJSON(w, f.status, body)
	case faultDelay:
		// The server notices a client hanging up only once the body has been read: read it
		// now, so that an abandoned request is not forwarded when the delay ends.
		if err := bufferBody(r); err != nil {
			writeJSON(w, http.StatusBadRequest, `{"error":{"type":"invalid_request_error","message":"fault proxy: unreadable body"}}`)
			return
		}
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return
		case <-t.C:
		}
		p.proxy.ServeHTTP(w, r)
	case faultDrop:
		dropConn(w)
	case faultDropResponse:
		p.proxy.ServeHTTP(&discardWriter{header: http.Header{}}, r)
		dropConn(w)
	default:
		p.proxy.ServeHTTP(w, r)
	}
}

// take pops the fault for this request and records the request with it.
func (p *FaultProxy) take(r *http.Request) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	var f Fault
	if len(p.pending) > 0 {
		f = p.pending[0].fault
		if p.pending[0].left--; p.pending[0].left == 0 {
			p.pending = p.pending[1:]
		}
	}
	p.seen = append(p.seen, SeenRequest{
		Method:         r.Method,
		Path:           r.URL.Path,
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
		Fault:          f.String(),
	})
	return f
}

// bufferBody reads the request body, up to maxBody, into memory and puts it back.
func bufferBody(r *http.Request) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("devstack: fault proxy: read body: %w", err)
	}
	if len(b) > maxBody {
		return fmt.Errorf("devstack: fault proxy: body over %d bytes", maxBody)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// dropConn closes the client's connection without a word. Should hijacking fail, which an
// HTTP/1 server does not do, the client gets a 502 instead of silence.
func dropConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		writeJSON(w, http.StatusBadGateway, `{"error":{"type":"api_error","message":"fault proxy: cannot drop"}}`)
		return
	}
	_ = conn.Close()
}

// writeJSON answers status with a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// discardWriter is a ResponseWriter that throws the response away, for FaultDropResponse.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}
