package evidence

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
)

// probeTimeout bounds one handshake of ProbeTLS.
const probeTimeout = 3 * time.Second

// tlsVersions are the protocol versions ProbeTLS offers, oldest first.
var tlsVersions = []struct {
	v    uint16
	name string
}{{tls.VersionTLS10, "TLS 1.0"}, {tls.VersionTLS11, "TLS 1.1"}, {tls.VersionTLS12, "TLS 1.2"}, {tls.VersionTLS13, "TLS 1.3"}}

// ProbeTLS connects to addr once per protocol version, offering only that version, and once
// per TLS 1.2 cipher suite Go knows (secure and insecure), offering only that suite, and
// records what the server accepted. The server's certificate is not checked: this is about
// what the listener accepts, not who it is.
func ProbeTLS(ctx context.Context, addr string) report.TLSEvidence {
	ev := report.TLSEvidence{Addr: addr}
	c, err := (&net.Dialer{Timeout: probeTimeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		ev.Error = "cannot connect: " + err.Error()
		return ev
	}
	_ = c.Close()
	for _, v := range tlsVersions {
		ev.Versions = append(ev.Versions, report.TLSVersion{Version: v.name,
			Accepted: probeHandshake(ctx, addr, &tls.Config{MinVersion: v.v, MaxVersion: v.v})})
	}
	suites := append(tls.CipherSuites(), tls.InsecureCipherSuites()...)
	for _, s := range suites {
		if !slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		ev.Suites = append(ev.Suites, report.TLSSuite{Name: s.Name, AEAD: isAEAD(s.Name),
			Accepted: probeHandshake(ctx, addr, &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{s.ID}})})
	}
	return ev
}

// isAEAD reports whether a suite's cipher is AEAD (GCM or ChaCha20-Poly1305).
func isAEAD(name string) bool {
	return strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20_POLY1305")
}

// probeHandshake reports whether a TLS handshake with cfg succeeds.
func probeHandshake(ctx context.Context, addr string, cfg *tls.Config) bool {
	cfg.InsecureSkipVerify = true //nolint:gosec // probing protocol acceptance, not identity
	host, _, _ := net.SplitHostPort(addr)
	cfg.ServerName = host
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
