package evidence

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// probeServer serves TLS with cfg on loopback and returns its address.
func probeServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				_ = c.(*tls.Conn).Handshake()
				_ = c.Close()
			}(c)
		}
	}()
	return ln.Addr().String()
}

// strictSuites are the TLS 1.2 suites of Mozilla's "intermediate" profile, as tokenwall's
// listener offers them (proxy.TLSConfig). The test keeps its own copy: evidence does not
// import proxy, and tokenwall's real listener is probed by `tokenwall report`'s test.
var strictSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TestProbeTLS: against a listener configured as tokenwall's (TLS 1.2 minimum, Mozilla
// intermediate AEAD suites) the probe finds TLS 1.0 and 1.1 refused, 1.2 and 1.3 accepted,
// and only AEAD suites; against a listener that allows TLS 1.1 and a CBC suite, it finds
// both; with no listener it reports an error.
func TestProbeTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := devstack.WriteSelfSignedCert(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	ours := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12, CipherSuites: strictSuites}
	ev := ProbeTLS(t.Context(), probeServer(t, ours))
	accepted := map[string]bool{}
	for _, v := range ev.Versions {
		accepted[v.Version] = v.Accepted
	}
	if ev.Error != "" || accepted["TLS 1.0"] || accepted["TLS 1.1"] || !accepted["TLS 1.2"] || !accepted["TLS 1.3"] {
		t.Fatalf("tokenwall's config: %+v", ev)
	}
	n := 0
	for _, s := range ev.Suites {
		if s.Accepted {
			n++
			if !s.AEAD {
				t.Errorf("non-AEAD suite accepted: %s", s.Name)
			}
		}
	}
	// Only the suites of the certificate's key type (ECDSA or RSA) can be negotiated.
	if n < 2 || n > len(strictSuites) {
		t.Errorf("%d suites accepted, want some of the %d of Mozilla intermediate", n, len(strictSuites))
	}

	weak := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS11,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	ev = ProbeTLS(t.Context(), probeServer(t, weak))
	var tls11, cbc bool
	for _, v := range ev.Versions {
		tls11 = tls11 || (v.Version == "TLS 1.1" && v.Accepted)
	}
	for _, s := range ev.Suites {
		cbc = cbc || (s.Accepted && !s.AEAD)
	}
	if !tls11 || !cbc {
		t.Fatalf("a weak listener: TLS 1.1 accepted %v, CBC accepted %v", tls11, cbc)
	}
	if ev := ProbeTLS(t.Context(), "127.0.0.1:1"); ev.Error == "" {
		t.Fatal("no listener: no error")
	}
}
