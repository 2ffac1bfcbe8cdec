package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"
)

// testCA is a throwaway certificate authority for client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// client issues a client certificate for subject.
func (ca testCA) client(t *testing.T, cn, org string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn, Organization: []string{org}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// withClientCert is the harness's client presenting cert.
func (h *harness) withClientCert(cert tls.Certificate) *http.Client {
	tr := h.client.Transport.(*http.Transport).Clone()
	// Always presented, even when the server's list of acceptable CAs does not name its
	// issuer (Go's client would otherwise send none).
	tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestAPIMutualTLS: with api.client_ca_file, a client certificate from that CA whose subject
// is mapped to a key authenticates as the key without a bearer key; an unmapped subject, or a
// bearer key naming another key, is refused; a certificate from another CA fails the
// handshake; the checkout (no certificate) is unaffected.
func TestAPIMutualTLS(t *testing.T) {
	ca := newTestCA(t, "Merchant client CA")
	h := newHarness(t, options{api: true, clientCA: ca.pem})
	mapped := ca.client(t, "billing-mtls", "Merchant")
	unmapped := ca.client(t, "someone-else", "Merchant")
	foreign := newTestCA(t, "Other CA").client(t, "billing-mtls", "Merchant")

	get := func(client *http.Client, bearer string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/admin/webhooks", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+h.keys[bearer])
		}
		old := h.client
		h.client = client
		defer func() { h.client = old }()
		return h.do(req)
	}
	tests := []struct {
		name, bearer string
		cert         tls.Certificate
		status       int
		problem      string
	}{
		{"mapped certificate alone", "", mapped, http.StatusOK, ""},
		{"mapped certificate and its own key", "mtls", mapped, http.StatusOK, ""},
		{"mapped certificate and another key", "admin", mapped, http.StatusUnauthorized, "invalid-client-certificate"},
		{"unmapped certificate alone", "", unmapped, http.StatusUnauthorized, "invalid-client-certificate"},
		{"unmapped certificate and a key", "admin", unmapped, http.StatusOK, ""},
	}
	for _, tc := range tests {
		resp, body := get(h.withClientCert(tc.cert), tc.bearer)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
			continue
		}
		if tc.problem != "" {
			if typ, _ := problemOf(t, resp, body); typ != tc.problem {
				t.Errorf("%s: problem %s", tc.name, typ)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, h.url+"/v1/admin/webhooks", nil)
	if _, err := h.withClientCert(foreign).Do(req); err == nil {
		t.Error("a certificate from another CA was accepted in the handshake")
	}
	if resp, _ := h.post("/orders/notes", formCT, formBody("note", "no certificate here")); resp.StatusCode != http.StatusOK {
		t.Errorf("a request without a client certificate: %d", resp.StatusCode)
	}
	for _, ev := range h.events("api_auth_failed") {
		if ev.Reason != "bad_client_certificate" {
			t.Errorf("refusal reason %q", ev.Reason)
		}
	}
	if n := len(h.events("api_auth_failed")); n != 2 {
		t.Errorf("%d refusals audited, want 2", n)
	}
}
