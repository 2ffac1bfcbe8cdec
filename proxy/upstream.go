package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy/pages"
)

type signatureKey struct{}

// signFunc signs a forwarded request as the app will receive it (its final path and query).
type signFunc func(out *http.Request) string

// withSignature marks a request whose forwarded body tokenwall signs with sign.
func withSignature(ctx context.Context, sign signFunc) context.Context {
	return context.WithValue(ctx, signatureKey{}, sign)
}

// UpstreamTransport is the transport to the billing app: its keep-alive pool, its bound on
// connections, the response header timeout and, for an https upstream with a private CA,
// upstream.ca_cert_file as the only trusted roots. Webhook deliveries to the app use it too.
func UpstreamTransport(cfg config.Upstream) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = cfg.MaxIdleConnsPerHost
	tr.MaxIdleConns = max(tr.MaxIdleConns, cfg.MaxIdleConnsPerHost)
	// Bounds the dials too: net/http finishes a dial whose request was cancelled.
	tr.MaxConnsPerHost = cfg.MaxConnsPerHost
	tr.ResponseHeaderTimeout = cfg.ResponseHeaderTimeout.D()
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("upstream ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream ca: %s holds no PEM certificate", cfg.CACertFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr, nil
}

// NewCopyBuffers returns a pool of reverse-proxy copy buffers, as tokenwall's reverse proxy
// uses one: without a pool ReverseProxy makes (and zeroes) a 32 KiB buffer for every
// response, the largest allocation of a pass-through request (BenchmarkPassThroughOverTLS).
// The benchmarks' bare proxy gets one too, so that it is configured as tokenwall is.
func NewCopyBuffers() httputil.BufferPool {
	return &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

// bufferPool is an httputil.BufferPool over a sync.Pool of *[]byte (what staticcheck asks
// of a pool: putting a buffer back costs a 24-byte slice header, not 32 KiB).
type bufferPool struct{ pool sync.Pool }

// Get returns a 32 KiB buffer.
func (p *bufferPool) Get() []byte { return *p.pool.Get().(*[]byte) }

// Put returns b to the pool.
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

// newUpstream returns the reverse proxy to the billing app. Rewrite (not Director) keeps
// the incoming request untouched; hop-by-hop headers are stripped by ReverseProxy itself.
//
// page rewrites the response of a payment page (pageResponse); such a request asks the
// upstream for an uncompressed answer, which the rewriter can read.
func newUpstream(cfg config.Upstream, lg zerolog.Logger, watch func(*http.Response), page func(*http.Response) error) (*httputil.ReverseProxy, error) {
	target, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream url: %w", err)
	}
	tr, err := UpstreamTransport(cfg)
	if err != nil {
		return nil, err
	}
	sigHeader := cfg.SignatureHeader
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			// X-Forwarded-*, and the request id: the app logs the same id as tokenwall, so
			// one checkout can be followed across both.
			var ids []string
			if info := infoFrom(pr.In.Context()); info != nil {
				ids = info.idHeader
			}
			forwarded(pr, ids)
			acceptedEncodings(pr.Out.Header)
			if _, ok := pr.In.Context().Value(pageKey{}).(*pages.Page); ok {
				pr.Out.Header.Set("Accept-Encoding", "identity")
			}
			// Only tokenwall signs: a client-sent signature header never reaches the app.
			pr.Out.Header.Del(sigHeader)
			if sign, ok := pr.In.Context().Value(signatureKey{}).(signFunc); ok {
				pr.Out.Header.Set(sigHeader, sign(pr.Out))
			}
		},
		Transport:  tr,
		BufferPool: NewCopyBuffers(),
		ModifyResponse: func(resp *http.Response) error {
			watch(resp)
			if info := infoFrom(resp.Request.Context()); info != nil {
				info.upstreamStatus = resp.StatusCode
				if _, signed := resp.Request.Context().Value(signatureKey{}).(signFunc); signed {
					// tokenwall sets no-store on tokenization routes; one header, not two.
					resp.Header.Del("Cache-Control")
				}
			}
			return page(resp)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if info := infoFrom(r.Context()); info != nil {
				info.err = fmt.Errorf("%w: %w", ErrUpstream, err)
			}
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("upstream unavailable\n"))
		},
		ErrorLog: log.New(lg.With().Str(logging.FieldComponent, "reverseproxy").Logger(), "", 0),
	}, nil
}
