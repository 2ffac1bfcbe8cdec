package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy"
)

// The harness re-executes itself for the servers it measures, so that each is its own
// process: pinned to the server core, and with its own RSS.
const (
	roleUpstream = "upstream"
	roleBare     = "bare"
	roleTokenize = "tokenize-client"
)

// bodySize is the size of the upstream's answers.
const bodySize = 1 << 10

// upstreamBody is the 1 KiB answer: text without digits, so no detector ever fires on it.
var upstreamBody = bytes.Repeat([]byte("tokenwall load benchmark upstream body. "), bodySize/40+1)[:bodySize]

// serveUpstream is the billing app stand-in: HTTP/1.1, plain, answering every request
// (the checkout form post included) with 1 KiB once it has read the body.
func serveUpstream(args []string) int {
	fs := flag.NewFlagSet(roleUpstream, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(upstreamBody)))
		_, _ = w.Write(upstreamBody)
	})
	return serveUntilSignal(roleUpstream, *addr, &http.Server{Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}, false)
}

// serveBare is the baseline: httputil.ReverseProxy with tokenwall's TLS settings, its
// upstream transport (the same keep-alive pool size as tokenwall's default config), its
// pool of copy buffers, the
// four http.Server timeouts and HTTP/2 bounded as tokenwall bounds it. Its admin listener
// answers /mallocs with runtime.MemStats.Mallocs, the figure tokenwall's /metrics exports as
// go_memstats_mallocs_total, and the heap and stack figures under their /metrics names.
func serveBare(args []string) int {
	fs := flag.NewFlagSet(roleBare, flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (HTTPS)")
	admin := fs.String("admin", "127.0.0.1:0", "admin address (plain HTTP, /mallocs)")
	upstream := fs.String("upstream", "", "upstream base URL")
	cert := fs.String("cert", "", "certificate PEM file")
	key := fs.String("key", "", "key PEM file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := config.Default()
	cfg.Upstream.URL = *upstream
	target, err := url.Parse(*upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	tr, err := proxy.UpstreamTransport(cfg.Upstream)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	tlsCfg, err := proxy.TLSConfig(*cert, *key, cfg.Listen.MinTLSVersion)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	rp := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  tr,
		BufferPool: proxy.NewCopyBuffers(),
	}
	lc := cfg.Listen
	srv := &http.Server{
		Handler:           rp,
		ReadHeaderTimeout: lc.ReadHeaderTimeout.D(),
		ReadTimeout:       lc.ReadTimeout.D(),
		WriteTimeout:      lc.WriteTimeout.D(),
		IdleTimeout:       lc.IdleTimeout.D(),
		MaxHeaderBytes:    int(lc.MaxHeaderBytes),
		// As proxy.http2Config (unexported): the same stream and frame bounds.
		HTTP2:     &http.HTTP2Config{MaxConcurrentStreams: lc.HTTP2MaxConcurrentStreams, MaxReadFrameSize: 16 << 10},
		TLSConfig: tlsCfg,
	}
	adminSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		// The names tokenwall's /metrics gives the same figures (Prometheus's Go collector).
		fmt.Fprintf(w, "mallocs %d\ngo_memstats_heap_inuse_bytes %d\ngo_memstats_stack_inuse_bytes %d\ngo_memstats_heap_idle_bytes %d\ngo_memstats_heap_released_bytes %d\n",
			ms.Mallocs, ms.HeapInuse, ms.StackInuse, ms.HeapIdle, ms.HeapReleased)
	}), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 30 * time.Second}
	aln, err := net.Listen("tcp", *admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		return 1
	}
	go func() { _ = adminSrv.Serve(aln) }()
	return serveUntilSignal(roleBare, *addr, srv, true)
}

// serveUntilSignal serves srv on addr (TLS when useTLS) until SIGTERM or SIGINT.
func serveUntilSignal(name, addr string, srv *http.Server, useTLS bool) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	errc := make(chan error, 1)
	go func() {
		if useTLS {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
		_ = srv.Close()
		return 0
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
}
