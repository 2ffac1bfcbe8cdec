package bench

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy"
)

// BenchmarkPassThroughOverTLS is `make bench-load`'s pass-through figure in process: GET /
// answered 1 KiB by the app, over TLS (HTTP/1.1 keep-alive, then HTTP/2 streams on one
// connection) from 64 clients, through
// tokenwall (guard, logging, metrics, the card watch on) and through a bare
// httputil.ReverseProxy on tokenwall's own upstream transport and copy buffer pool, both on
// the same kind of listener, interleaved; it prints the throughput ratio.
func BenchmarkPassThroughOverTLS(b *testing.B) {
	answer := strings.Repeat("x", 1024)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, answer)
	}))
	b.Cleanup(up.Close)
	target, _ := url.Parse(up.URL)
	tr, err := proxy.UpstreamTransport(config.Default().Upstream)
	if err != nil {
		b.Fatal(err)
	}
	bare := &httputil.ReverseProxy{Transport: tr, BufferPool: proxy.NewCopyBuffers(),
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() }}
	tw := newTokenwall(b, up.URL)

	perOp := map[string]float64{}
	run := func(name string, h http.Handler, h2 bool) {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = h2
		srv.StartTLS()
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32) // 64 clients on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, n, err := getAsTokenwall(client, srv.URL+"/")
					if err != nil {
						b.Error(err)
						return
					}
					if resp.StatusCode != http.StatusOK || n != int64(len(answer)) || (resp.ProtoMajor == 2) != h2 {
						b.Errorf("GET /: %s %d, %d bytes", resp.Proto, resp.StatusCode, n)
						return
					}
				}
			})
			// Allocations are the whole process's (clients and upstream included): the
			// difference between the two is the proxy's.
			perOp[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	for _, proto := range []string{"http1", "http2"} {
		for range 2 {
			run("bare-reverse-proxy-"+proto, bare, proto == "http2")
			run("tokenwall-"+proto, tw, proto == "http2")
		}
		if t, br := perOp["tokenwall-"+proto], perOp["bare-reverse-proxy-"+proto]; br > 0 && t > 0 {
			fmt.Printf("BenchmarkPassThroughOverTLS %s: tokenwall %.0f ns/op, bare ReverseProxy %.0f ns/op: tokenwall keeps %.2f of its throughput (target >= 0.90)\n",
				proto, t, br, br/t)
		}
	}
}

// getAsTokenwall GETs u (a test server) through client as a request for https://tokenwall.test,
// reads the answer whole and closes it: the response and the size of its body.
func getAsTokenwall(client *http.Client, u string) (*http.Response, int64, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Host = "tokenwall.test"
	resp, err := client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp, n, err
}
