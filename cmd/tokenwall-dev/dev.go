package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/examples/billing"
	"github.com/tokenwall/tokenwall/vault"
)

// devFlags are the flags of `tokenwall-dev`.
type devFlags struct {
	port, appPort, adminPort, widgetPort int
	data                                 string
	// testModes turns on the demo app's attack switches (billing.Options.TestModes).
	testModes bool
	// pageOnChange is the checkout page's on_change: config.PageAlert or config.PageBlock.
	pageOnChange string
}

// runDev starts the whole development stack on 127.0.0.1: a Vault dev server with fresh
// secrets, stripe-mock, the demo billing app and tokenwall with a self-signed certificate.
// It prints the checkout URL and stops every child on SIGINT or SIGTERM.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseDevFlags(args, stderr)
	if err != nil {
		return 2
	}
	if err := dev(ctx, f, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "tokenwall-dev: %v\n", err)
		return 1
	}
	return 0
}

// parseDevFlags parses the flags of `tokenwall-dev`; the flag package has told stderr what
// was wrong when it returns an error.
func parseDevFlags(args []string, stderr io.Writer) (devFlags, error) {
	var f devFlags
	fs := flag.NewFlagSet("tokenwall-dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&f.port, "port", 8443, "tokenwall HTTPS port")
	fs.IntVar(&f.appPort, "app-port", 8080, "demo billing app port")
	fs.IntVar(&f.adminPort, "admin-port", 9090, "admin (metrics) port")
	fs.IntVar(&f.widgetPort, "widget-port", 8081, "port of the demo payment widget's origin (the checkout page's third-party script)")
	fs.BoolVar(&f.testModes, "test-modes", false, "let the demo app play the attacker for tests: POST /_demo/mode on the app, /collect on the widget origin")
	fs.StringVar(&f.pageOnChange, "page-on-change", config.PageAlert, "what a change of the checkout page against its baseline does: alert or block")
	fs.StringVar(&f.data, "data", ".dev", "folder for logs, certificates and the dev Vault token")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if f.pageOnChange != config.PageAlert && f.pageOnChange != config.PageBlock {
		// Checked here, not by the config's validation: that runs once Vault has started.
		err := fmt.Errorf("--page-on-change: %q is neither %s nor %s", f.pageOnChange, config.PageAlert, config.PageBlock)
		fmt.Fprintln(stderr, err)
		return f, err
	}
	return f, nil
}

// stack is the dev stack being started: its data folder and what to stop, in reverse order.
type stack struct {
	data, logs string
	stops      []func() error
}

// stop stops what was started, last first.
func (st *stack) stop() error {
	var err error
	for i := len(st.stops) - 1; i >= 0; i-- {
		err = errors.Join(err, st.stops[i]())
	}
	return err
}

// logFile opens (truncating) a child's log file in the logs folder.
func (st *stack) logFile(name string) (io.Writer, error) {
	fl, err := os.OpenFile(filepath.Join(st.logs, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err == nil {
		st.stops = append(st.stops, fl.Close)
	}
	return fl, err
}

func dev(ctx context.Context, f devFlags, stdout, stderr io.Writer) (err error) {
	data, err := filepath.Abs(f.data)
	if err != nil {
		return err
	}
	st := &stack{data: data, logs: filepath.Join(data, "logs")}
	defer func() { err = errors.Join(err, st.stop()) }()
	for _, d := range []string{st.logs, filepath.Join(data, "vault"), filepath.Join(data, "stripe-mock"), filepath.Join(data, "tls")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return err
		}
	}
	vs, sm, err := st.startServers(ctx)
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(data, "vault-token")
	if err := os.WriteFile(tokenFile, []byte(vs.Token), 0o600); err != nil {
		return err
	}
	cfg := devConfig(f, data, vs.Addr, sm.URL, tokenFile)
	if cfg.Listen.CertFile, cfg.Listen.KeyFile, err = devstack.WriteSelfSignedCert(filepath.Join(data, "tls")); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("dev config: %w", err)
	}
	cfgFile, err := writeConfig(cfg, data)
	if err != nil {
		return err
	}
	apiKeyFile := filepath.Join(data, "api-key")
	if err := provisionDevSecrets(ctx, cfg, apiKeyFile); err != nil {
		return err
	}
	tw, err := st.startApps(ctx, cfg, f, apiKeyFile)
	if err != nil {
		return err
	}
	if err := scenarioWebhooks(ctx, sm, cfg); err != nil {
		return fmt.Errorf("scenario webhooks: %w", err)
	}
	// The payment page as this build serves it is the dev stack's approved baseline (an
	// operator runs tokenwall pages baseline in production); recorded before the first
	// scheduled check, which Run starts.
	for _, pg := range cfg.Pages {
		if _, _, err := tw.Pages().Baseline(ctx, pg.Path, devOperator, "the dev stack's page as built", false); err != nil {
			return fmt.Errorf("baseline of %s: %w", pg.Path, err)
		}
	}
	fmt.Fprintf(stdout, "tokenwall: checkout at https://%s/checkout\n", tw.Addr())
	fmt.Fprintf(stderr, "tokenwall: gateway webhooks at https://%s%s (endpoint secret in Vault at %s/%s), delivered to the demo app\n",
		tw.Addr(), cfg.Webhooks.Path, cfg.Vault.KVMount, devWebhookSecretPath)
	fmt.Fprintf(stderr, "tokenwall: /v1 API at https://%s/v1 (OpenAPI at /v1/openapi.json); an API key with every scope is in %s\n",
		tw.Addr(), apiKeyFile)
	fmt.Fprintf(stderr, "tokenwall: /checkout is a payment page: its one third-party script is %s/widget.js (%s), in its script inventory%s\n",
		widgetOrigin(f.widgetPort), billing.WidgetSRI(), testModesNote(f.testModes))
	fmt.Fprintf(stderr, "tokenwall: the configuration it runs with is %s (for example: tokenwall audit verify --config %s)\n", cfgFile, cfgFile)
	fmt.Fprintf(stderr, "tokenwall: logs in %s; metrics at http://%s/metrics; Ctrl-C stops everything\n", st.logs, tw.AdminAddr())
	return tw.Run(ctx)
}

// startServers starts the Vault dev server and stripe-mock, each logging to its file.
func (st *stack) startServers(ctx context.Context) (*devstack.Vault, *devstack.StripeMock, error) {
	vlog, err := st.logFile("vault.log")
	if err != nil {
		return nil, nil, err
	}
	vs, err := devstack.StartVault(ctx, devstack.Options{Dir: filepath.Join(st.data, "vault"), Log: vlog})
	if err != nil {
		return nil, nil, err
	}
	st.stops = append(st.stops, vs.Stop)
	slog, err := st.logFile("stripe-mock.log")
	if err != nil {
		return nil, nil, err
	}
	sm, err := devstack.StartStripeMock(ctx, devstack.Options{Dir: filepath.Join(st.data, "stripe-mock"), Log: slog})
	if err != nil {
		return nil, nil, err
	}
	st.stops = append(st.stops, sm.Stop)
	return vs, sm, nil
}

// testModesNote is what the widget line adds when the test modes are on.
func testModesNote(on bool) string {
	if !on {
		return ""
	}
	return "; test modes on (POST /_demo/mode on the app, beacons counted at the widget origin's /_demo/collected)"
}

// widgetOrigin is the origin of the demo payment widget on port.
func widgetOrigin(port int) string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// startApps builds tokenwall (app.Build, as `tokenwall serve` does) and serves the demo
// billing app, which verifies tokenwall's signature with the signing key from Vault, and its
// payment widget's origin.
func (st *stack) startApps(ctx context.Context, cfg config.Config, f devFlags, apiKeyFile string) (*app.App, error) {
	tw, err := app.Build(ctx, cfg, app.Options{Stdout: io.Discard})
	if err != nil {
		return nil, err
	}
	st.stops = append(st.stops, tw.Close)
	api, err := demoAPI(cfg, apiKeyFile)
	if err != nil {
		return nil, err
	}
	demo := billing.New(billing.Options{
		SigningKeys: func() [][]byte {
			k, err := tw.Cache().Get(vault.SecretSigningKey)
			if err != nil {
				return nil
			}
			return [][]byte{k.Reveal()}
		},
		WidgetOrigin: widgetOrigin(f.widgetPort),
		TestModes:    f.testModes,
		API:          api,
		PublicURL:    "https://" + cfg.Listen.Addr,
	})
	// The widget's origin first: the page that loads it is served next.
	for _, s := range []struct {
		name    string
		handler http.Handler
		port    int
	}{
		{name: "payment widget", handler: demo.WidgetHandler(), port: f.widgetPort},
		{name: "billing app", handler: demo, port: f.appPort},
	} {
		srv, err := serveLocal(s.name, s.handler, s.port)
		if err != nil {
			return nil, err
		}
		st.stops = append(st.stops, func() error {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	return tw, nil
}

// writeConfig writes the configuration the stack runs with to <data>/tokenwall.yaml (0600),
// so that every subcommand (audit verify, report, webhooks list, keys) works against it. It
// holds where the secrets are, never a secret.
func writeConfig(cfg config.Config, data string) (string, error) {
	b, err := cfg.YAML()
	if err != nil {
		return "", err
	}
	p := filepath.Join(data, "tokenwall.yaml")
	if err := os.WriteFile(p, append([]byte("# Written by tokenwall-dev: the configuration of the running dev stack.\n"), b...), 0o600); err != nil {
		return "", fmt.Errorf("dev config: %w", err)
	}
	return p, nil
}

// devConfig is the configuration of the dev stack: one form route for the demo checkout, and
// the checkout as a payment page whose inventory is the demo payment widget.
func devConfig(f devFlags, data, vaultAddr, stripeURL, tokenFile string) config.Config {
	cfg := config.Default()
	cfg.Listen.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(f.port))
	// The browser reaches the dev stack by either name.
	cfg.Listen.PublicHosts = []string{"127.0.0.1", "localhost"}
	cfg.Admin.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(f.adminPort))
	cfg.Upstream.URL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(f.appPort))
	cfg.Vault.Address = vaultAddr
	cfg.Vault.Auth.TokenFile = tokenFile
	cfg.Gateway.Stripe.APIURL = stripeURL
	cfg.Log.File = filepath.Join(data, "logs", "tokenwall.log")
	cfg.Store.SQLitePath = filepath.Join(data, "tokenwall.db")
	cfg.Routes = []config.Route{config.Route{
		Path: "/checkout/submit",
		Card: config.CardFields{Number: "card_number", Exp: "card_exp", CVC: "card_cvc", Name: "card_name"},
	}.WithDefaults()}
	// The three pages where a card is entered: the checkout (which saves the card), the
	// invoice and the subscription of the demo's 3-D Secure flows.
	for _, path := range []string{"/checkout", "/invoice", "/subscribe"} {
		cfg.Pages = append(cfg.Pages, config.Page{
			Path:     path,
			Mode:     config.PageEnforce,
			OnChange: f.pageOnChange,
			Scripts: []config.PageScript{{
				Src:           widgetOrigin(f.widgetPort) + "/widget.js",
				SHA384:        billing.WidgetSRI(),
				Justification: "Demo payment widget: tells the customer the secure payment widget has loaded; it reads no card field.",
				AuthorisedBy:  "tokenwall-dev (the demo's inventory; a real one names a person and a change ticket)",
			}},
		}.WithDefaults())
	}
	cfg.Webhooks.Enabled = true
	cfg.Webhooks.SecretPaths = []string{devWebhookSecretPath}
	cfg.API.Enabled = true
	// The issuer's challenge sends the customer back to the demo app, through tokenwall.
	cfg.API.ReturnURLOrigins = []string{"https://" + cfg.Listen.Addr, "https://" + net.JoinHostPort("localhost", strconv.Itoa(f.port))}
	return cfg
}

// devOperator is who records the dev stack's baselines in the audit trail.
const devOperator = "admin:dev:tokenwall-dev"

// devWebhookSecretPath is where the dev stack keeps the webhook endpoint secret.
const devWebhookSecretPath = "tokenwall/stripe-webhook"

// provisionDevSecrets writes fresh dev secrets (Stripe test key, signing key, audit HMAC key,
// webhook endpoint secret)
// into the dev Vault and creates the transit key that signs audit checkpoints.
func provisionDevSecrets(ctx context.Context, cfg config.Config, apiKeyFile string) error {
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		return err
	}
	for path, value := range map[string]string{
		cfg.Vault.StripeKeyPath:  "sk_test_" + randomHex(24),
		cfg.Vault.SigningKeyPath: randomHex(32),
		cfg.Vault.AuditKeyPath:   randomHex(32),
		devWebhookSecretPath:     "whsec_" + randomHex(24),
	} {
		if err := c.WriteKV(ctx, path, value); err != nil {
			return err
		}
	}
	if err := c.EnableTransitKey(ctx, cfg.Vault.TransitMount, cfg.Vault.TransitKey); err != nil {
		return err
	}
	// As deploy/vault/setup.sh does: the audit anchor keeps 1000 versions of history.
	if err := c.SetKVMaxVersions(ctx, cfg.Vault.AuditAnchorPath, 1000); err != nil {
		return err
	}
	if cfg.API.Enabled && apiKeyFile != "" {
		// One key with every scope for the developer, kept in the data folder (0600).
		k, full, err := apikey.New("dev", apikey.Scopes, time.Now())
		if err != nil {
			return err
		}
		b, err := apikey.KeySet{Keys: []apikey.Key{k}}.Marshal()
		if err != nil {
			return err
		}
		if err := c.WriteKV(ctx, cfg.API.KeysPath, string(b)); err != nil {
			return err
		}
		return os.WriteFile(apiKeyFile, []byte(full+"\n"), 0o600)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// serveLocal serves h, the part of the demo called name, on 127.0.0.1:port.
func serveLocal(name string, h http.Handler, port int) (*http.Server, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%s listen: %w", name, err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// devClient is an HTTPS client that trusts the dev stack's self-signed certificate.
func devClient(cfg config.Config) (*http.Client, error) {
	pemBytes, err := os.ReadFile(cfg.Listen.CertFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("dev certificate %s holds no PEM certificate", cfg.Listen.CertFile)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}

// demoAPI is the demo app's client of tokenwall's /v1 API, with the developer's key.
func demoAPI(cfg config.Config, apiKeyFile string) (*billing.APIClient, error) {
	client, err := devClient(cfg)
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(apiKeyFile)
	if err != nil {
		return nil, fmt.Errorf("dev api key: %w", err)
	}
	k := strings.TrimSpace(string(key))
	return &billing.APIClient{BaseURL: "https://" + cfg.Listen.Addr, Key: func() string { return k }, HTTP: client}, nil
}

// scenarioWebhooks has the scenario server in front of stripe-mock sign its events with the
// dev endpoint secret and post them to tokenwall's webhook endpoint, as Stripe would.
func scenarioWebhooks(ctx context.Context, sm *devstack.StripeMock, cfg config.Config) error {
	client, err := devClient(cfg)
	if err != nil {
		return err
	}
	c, err := vault.Dial(ctx, app.VaultOptions(cfg, nil))
	if err != nil {
		return err
	}
	s, err := c.ReadKV(ctx, vault.SecretWebhook(0), devWebhookSecretPath)
	if err != nil {
		return err
	}
	secret := string(s.Reveal())
	sm.SetWebhooks("https://"+cfg.Listen.Addr+cfg.Webhooks.Path, func() string { return secret }, client)
	return nil
}
