package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/vault"
)

// Check statuses of check-config --preflight.
const (
	statusOK   = "ok"
	statusWarn = "warn"
	statusFail = "fail"
	statusSkip = "skip"
)

// preflightTimeout bounds the Vault and store checks together.
const preflightTimeout = 30 * time.Second

// certWarnDays is how close to its expiry a certificate is reported as a warning.
const certWarnDays = 30

// check is one preflight check: what was checked, its status and what was found. A
// detail never holds a secret: file names, subjects, dates, Vault paths and capabilities.
type check struct {
	Name   string `json:"check"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// preflight collects the checks of one run.
type preflight struct {
	cfg    config.Config
	now    time.Time
	checks []check
}

func (p *preflight) add(name, status, format string, args ...any) {
	p.checks = append(p.checks, check{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)})
}

// runPreflight checks what cfg points at (files, Vault and its policy, the store), prints
// one line (or JSON object) a check and returns 1 when any failed.
func runPreflight(e cmdEnv, cfg config.Config, asJSON bool) int {
	p := &preflight{cfg: cfg, now: time.Now()}
	p.files()
	ctx, cancel := context.WithTimeout(e.ctx, preflightTimeout)
	defer cancel()
	client := p.vault(ctx)
	p.store(ctx, client)
	if err := p.print(e.stdout, asJSON); err != nil {
		return fail(e.stderr, 2, err)
	}
	failed := 0
	for _, c := range p.checks {
		if c.Status == statusFail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(e.stderr, "tokenwall: preflight: %d of %d checks failed\n", failed, len(p.checks))
		return 1
	}
	fmt.Fprintf(e.stderr, "tokenwall: preflight: all %d checks passed\n", len(p.checks))
	return 0
}

// print writes the checks as a table, or one JSON object a line.
func (p *preflight) print(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, c := range p.checks {
			if err := enc.Encode(c); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range p.checks {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Status, c.Name, c.Detail)
	}
	return tw.Flush()
}

// files checks the TLS key pair, the CA bundles and the Vault credential files.
func (p *preflight) files() {
	cfg := p.cfg
	p.keyPair("listen.cert_file", cfg.Listen.CertFile, cfg.Listen.KeyFile, cfg.Listen.PublicHosts)
	for _, f := range []struct{ key, path string }{
		{"upstream.ca_cert_file", cfg.Upstream.CACertFile},
		{"vault.ca_cert_file", cfg.Vault.CACertFile},
		{"api.client_ca_file", cfg.API.ClientCAFile},
	} {
		if f.path != "" {
			p.caBundle(f.key, f.path)
		}
	}
	if key, path := credentialFile(cfg.Vault.Auth); path != "" {
		p.readable(key, path)
	}
	if cfg.Log.File != "" {
		if err := writableFile(cfg.Log.File); err != nil {
			p.add("log.file", statusFail, "%s: %v", cfg.Log.File, err)
		} else {
			p.add("log.file", statusOK, "%s is writable", cfg.Log.File)
		}
	}
}

// credentialFile is the file the configured Vault auth method reads its credential from: a
// file another method would read is not checked (a token set-up leaves secret_id_file empty
// or stale, and that is fine).
func credentialFile(a config.VaultAuth) (key, path string) {
	switch a.Method {
	case "approle":
		return "vault.auth.secret_id_file", a.SecretIDFile
	case "kubernetes":
		if a.TokenFile == "" {
			return "vault.auth.token_file", vault.DefaultKubernetesTokenFile
		}
		return "vault.auth.token_file", a.TokenFile
	default: // token: VAULT_TOKEN when token_file is empty
		return "vault.auth.token_file", a.TokenFile
	}
}

// keyPair checks that cert and key load as a pair, that the certificate is valid now (a
// warning within certWarnDays of its end) and names every public host.
func (p *preflight) keyPair(name, certFile, keyFile string, hosts []string) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		p.add(name, statusFail, "%s with %s: %v", certFile, keyFile, err)
		return
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		p.add(name, statusFail, "%s: %v", certFile, err)
		return
	}
	status, when := p.validity(leaf)
	var missing []string
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			missing = append(missing, h)
		}
	}
	if len(missing) > 0 && status == statusOK {
		status = statusWarn
	}
	detail := fmt.Sprintf("%s with %s: %s, %s", certFile, keyFile, leaf.Subject, when)
	if len(missing) > 0 {
		detail += fmt.Sprintf("; does not name listen.public_hosts %v", missing)
	}
	p.add(name, status, "%s", detail)
}

// validity says whether c is valid now: ok, warn (ends within certWarnDays) or fail.
func (p *preflight) validity(c *x509.Certificate) (string, string) {
	switch days := int(c.NotAfter.Sub(p.now).Hours() / 24); {
	case p.now.Before(c.NotBefore):
		return statusFail, "not valid before " + c.NotBefore.UTC().Format(time.RFC3339)
	case p.now.After(c.NotAfter):
		return statusFail, "expired " + c.NotAfter.UTC().Format(time.RFC3339)
	case days < certWarnDays:
		return statusWarn, fmt.Sprintf("expires %s (in %d days)", c.NotAfter.UTC().Format(time.DateOnly), days)
	default:
		return statusOK, fmt.Sprintf("valid until %s (%d days)", c.NotAfter.UTC().Format(time.DateOnly), days)
	}
}

// caBundle checks that path holds PEM certificates, each valid now.
func (p *preflight) caBundle(name, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		p.add(name, statusFail, "%v", err)
		return
	}
	var certs []*x509.Certificate
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			p.add(name, statusFail, "%s: %v", path, err)
			return
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		p.add(name, statusFail, "%s holds no PEM certificate", path)
		return
	}
	worst, detail := statusOK, ""
	for _, c := range certs {
		if s, when := p.validity(c); s != statusOK && (worst == statusOK || s == statusFail) {
			worst, detail = s, fmt.Sprintf("; %s %s", c.Subject, when)
		}
	}
	p.add(name, worst, "%s: %d certificates%s", path, len(certs), detail)
}

// readable checks that a credential file can be read and is not empty; its content is
// never shown.
func (p *preflight) readable(name, path string) {
	b, err := os.ReadFile(path)
	switch {
	case err != nil:
		p.add(name, statusFail, "%v", err)
	case len(b) == 0:
		p.add(name, statusFail, "%s is empty", path)
	default:
		p.add(name, statusOK, "%s is readable", path)
	}
}

// writableFile checks that path can be appended to, or created in its folder, without
// changing it (a file it had to create is removed).
func writableFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	f, err = os.CreateTemp(filepath.Dir(path), ".tokenwall-preflight-*")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}
