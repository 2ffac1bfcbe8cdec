package proxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeTestCert writes a self-signed certificate for "localhost" and its key into a
// temporary folder and returns the two paths and the certificate.
func writeTestCert(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(42),
		Subject:               pkix.Name{CommonName: "tokenwall test"},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err = x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func TestTLSConfig(t *testing.T) {
	certFile, keyFile, cert := writeTestCert(t)
	for _, tc := range []struct {
		name       string
		minVersion string
		want       uint16 // 0: refused
	}{
		{name: "default is 1.2", minVersion: "", want: tls.VersionTLS12},
		{name: "1.2", minVersion: "1.2", want: tls.VersionTLS12},
		{name: "1.3", minVersion: "1.3", want: tls.VersionTLS13},
		{name: "1.1 refused", minVersion: "1.1"},
		{name: "1.0 refused", minVersion: "1.0"},
		{name: "spelled out refused", minVersion: "TLS1.2"},
		{name: "1.4 refused", minVersion: "1.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := TLSConfig(certFile, keyFile, tc.minVersion)
			if tc.want == 0 {
				if err == nil {
					t.Fatalf("TLSConfig(%q) succeeded, want an error", tc.minVersion)
				}
				if !strings.Contains(err.Error(), tc.minVersion) {
					t.Errorf("error %q does not name the bad value", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("TLSConfig: %v", err)
			}
			if cfg.MinVersion != tc.want {
				t.Errorf("MinVersion = %s, want %s", tls.VersionName(cfg.MinVersion), tls.VersionName(tc.want))
			}
			if len(cfg.Certificates) != 1 || len(cfg.Certificates[0].Certificate) == 0 {
				t.Fatalf("Certificates = %d, want the one loaded", len(cfg.Certificates))
			}
			if got, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0]); err != nil || !got.Equal(cert) {
				t.Errorf("loaded certificate is not the one written (%v)", err)
			}
			if !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) {
				t.Errorf("NextProtos = %v", cfg.NextProtos)
			}
		})
	}
}

func TestTLSConfigSuitesAreAEAD(t *testing.T) {
	certFile, keyFile, _ := writeTestCert(t)
	cfg, err := TLSConfig(certFile, keyFile, "1.2")
	if err != nil {
		t.Fatalf("TLSConfig: %v", err)
	}
	if len(cfg.CipherSuites) == 0 {
		t.Fatal("no cipher suites configured: Go's defaults would apply")
	}
	insecure := map[uint16]bool{}
	for _, s := range tls.InsecureCipherSuites() {
		insecure[s.ID] = true
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(name, "_GCM_") && !strings.Contains(name, "CHACHA20_POLY1305") {
				t.Errorf("%s is not an AEAD suite", name)
			}
			if !strings.HasPrefix(name, "TLS_ECDHE_") {
				t.Errorf("%s lacks forward secrecy", name)
			}
			if insecure[id] {
				t.Errorf("%s is in Go's insecure list", name)
			}
		})
	}
}

func TestTLSConfigMissingFiles(t *testing.T) {
	certFile, keyFile, _ := writeTestCert(t)
	for _, tc := range []struct {
		name, cert, key string
	}{
		{name: "missing cert", cert: filepath.Join(t.TempDir(), "none.pem"), key: keyFile},
		{name: "missing key", cert: certFile, key: filepath.Join(t.TempDir(), "none.pem")},
		{name: "cert and key swapped", cert: keyFile, key: certFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := TLSConfig(tc.cert, tc.key, "1.2"); err == nil {
				t.Errorf("TLSConfig succeeded")
			}
		})
	}
}

// handshake runs a TLS handshake over an in-memory pipe and returns the client's result.
// The raw pipe is closed afterwards, not the TLS connections: a close_notify on an
// unbuffered pipe nobody reads would block until the deadline.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	sc, cc := net.Pipe()
	deadline := time.Now().Add(10 * time.Second)
	_ = sc.SetDeadline(deadline)
	_ = cc.SetDeadline(deadline)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = tls.Server(sc, server).Handshake()
	}()
	cl := tls.Client(cc, client)
	err := cl.Handshake()
	state := cl.ConnectionState()
	cc.Close()
	sc.Close()
	<-done
	return state, err
}

func TestTLSConfigHandshake(t *testing.T) {
	certFile, keyFile, cert := writeTestCert(t)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, tc := range []struct {
		name       string
		minVersion string
		clientMax  uint16
		clientMin  uint16
		suites     []uint16
		ok         bool
		version    uint16
	}{
		{name: "1.2 server, modern client gets 1.3", minVersion: "1.2", ok: true, version: tls.VersionTLS13},
		{name: "1.2 server, 1.2 client", minVersion: "1.2", clientMax: tls.VersionTLS12, ok: true, version: tls.VersionTLS12},
		{name: "1.2 server, 1.1 client refused", minVersion: "1.2", clientMin: tls.VersionTLS10, clientMax: tls.VersionTLS11},
		{name: "1.3 server, 1.2 client refused", minVersion: "1.3", clientMax: tls.VersionTLS12},
		{name: "1.3 server, modern client", minVersion: "1.3", ok: true, version: tls.VersionTLS13},
		{name: "1.2 server, CBC-only client refused", minVersion: "1.2", clientMax: tls.VersionTLS12, suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server, err := TLSConfig(certFile, keyFile, tc.minVersion)
			if err != nil {
				t.Fatalf("TLSConfig: %v", err)
			}
			client := &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tc.clientMin, MaxVersion: tc.clientMax, CipherSuites: tc.suites}
			state, err := handshake(t, server, client)
			if !tc.ok {
				if err == nil {
					t.Errorf("handshake succeeded with %s, want it refused", tls.VersionName(state.Version))
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if state.Version != tc.version {
				t.Errorf("negotiated %s, want %s", tls.VersionName(state.Version), tls.VersionName(tc.version))
			}
		})
	}
}
