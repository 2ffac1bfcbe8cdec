package proxy

import (
	"crypto/tls"
	"net/http"
	"net/http/httputil"
	"reflect"
	"testing"
)

// TestForwardedIsSetXForwarded: forwarded writes the headers httputil's SetXForwarded writes,
// for every kind of client address, with and without TLS and a prior X-Forwarded-For, plus
// the request id, with fewer allocations.
func TestForwardedIsSetXForwarded(t *testing.T) {
	newPR := func(remote, host string, tlsOn bool, prior []string) *httputil.ProxyRequest {
		in := &http.Request{RemoteAddr: remote, Host: host, Header: http.Header{}}
		if tlsOn {
			in.TLS = &tls.ConnectionState{}
		}
		out := &http.Request{Header: http.Header{"Accept": {"*/*"}}}
		if prior != nil {
			out.Header["X-Forwarded-For"] = prior
		}
		return &httputil.ProxyRequest{In: in, Out: out}
	}
	ids := []string{"AbCdEfGhIjKlMnOp"}
	for _, remote := range []string{"192.0.2.7:51234", "[2001:db8::7]:443", "no-port", "", "@"} {
		for _, host := range []string{"pay.example.com", "pay.example.com:8443", ""} {
			for _, tlsOn := range []bool{true, false} {
				for _, prior := range [][]string{nil, {"198.51.100.1"}, {"198.51.100.1", "198.51.100.2"}} {
					want, got := newPR(remote, host, tlsOn, prior), newPR(remote, host, tlsOn, prior)
					want.SetXForwarded()
					want.Out.Header.Set("X-Request-Id", ids[0])
					forwarded(got, ids)
					if !reflect.DeepEqual(got.Out.Header, want.Out.Header) {
						t.Errorf("remote %q host %q tls %v prior %v:\n got %v\nwant %v", remote, host, tlsOn, prior, got.Out.Header, want.Out.Header)
					}
				}
			}
		}
	}
	pr := newPR("192.0.2.7:51234", "pay.example.com", true, nil)
	got := testing.AllocsPerRun(100, func() { forwarded(pr, ids) })
	old := testing.AllocsPerRun(100, func() { pr.SetXForwarded(); pr.Out.Header.Set("X-Request-Id", ids[0]) })
	t.Logf("allocations: forwarded %v, SetXForwarded and a Set of the id %v", got, old)
	if got > old-2 {
		t.Errorf("forwarded made %v allocations, SetXForwarded and a Set of the id %v; want at least 2 fewer", got, old)
	}
	// Without a request id (a request the summary record never saw) none is sent.
	pr = newPR("192.0.2.7:51234", "pay.example.com", true, nil)
	forwarded(pr, nil)
	if _, ok := pr.Out.Header["X-Request-Id"]; ok {
		t.Error("forwarded sent an X-Request-Id it was not given")
	}
}
