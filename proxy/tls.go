package proxy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// mozillaIntermediateSuites are the TLS 1.2 cipher suites of Mozilla's "intermediate"
// profile that Go implements: ECDHE key exchange and AEAD ciphers only. TLS 1.3 suites are
// not configurable in Go and are all AEAD.
var mozillaIntermediateSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig returns the server TLS configuration: the certificate from files, TLS 1.2 or
// 1.3 as the minimum, Mozilla intermediate AEAD suites.
func TLSConfig(certFile, keyFile, minVersion string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load certificate %s and key %s: %w", certFile, keyFile, err)
	}
	v := uint16(tls.VersionTLS12)
	switch minVersion {
	case "", "1.2":
	case "1.3":
		v = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("tls: min version %q is not 1.2 or 1.3", minVersion)
	}
	return &tls.Config{
		MinVersion:   v,
		CipherSuites: mozillaIntermediateSuites,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}, nil
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
