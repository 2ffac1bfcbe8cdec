package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/vault/api"
)

// Errors a caller can tell apart with errors.Is.
var (
	// ErrUnreachable means Vault did not answer.
	ErrUnreachable = errors.New("vault unreachable")
	// ErrSealed means Vault answered but is sealed.
	ErrSealed = errors.New("vault is sealed")
	// ErrAuth means Vault refused tokenwall's credentials.
	ErrAuth = errors.New("vault refused authentication")
	// ErrMissing means a secret (or its "value" field) does not exist.
	ErrMissing = errors.New("secret missing in vault")
	// ErrStale means the cached secret is older than the configured maximum age.
	ErrStale = errors.New("cached secret older than its maximum age")
)

// Auth is how tokenwall logs in to Vault. Secret material is read from files at login time,
// never held in configuration.
type Auth struct {
	// Method is "token" or "approle".
	Method string
	// TokenFile holds a token for method "token"; when empty, the VAULT_TOKEN variable is used.
	TokenFile string
	// RoleID, SecretIDFile and Mount configure method "approle".
	RoleID       string
	SecretIDFile string
	Mount        string
}

// Options configure a Client.
type Options struct {
	Address    string
	CACertFile string
	Timeout    time.Duration
	Auth       Auth
	// KVMount is the KV v2 mount that holds tokenwall's secrets.
	KVMount string
	// Getenv reads the environment (os.Getenv when nil); tests pass their own.
	Getenv func(string) string
}

// Client is an authenticated Vault client.
type Client struct {
	api  *api.Client
	opts Options
}

// Dial connects to Vault, checks that it is reachable and unsealed, and logs in.
func Dial(ctx context.Context, o Options) (*Client, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	cfg, err := configFromOptions(o)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("vault: new client: %w", err)
	}
	// NewClient also reads VAULT_TOKEN and VAULT_NAMESPACE; tokenwall authenticates
	// explicitly below, in no namespace the config does not name.
	c.ClearToken()
	c.ClearNamespace()
	cl := &Client{api: c, opts: o}
	if err := cl.checkHealth(ctx); err != nil {
		return nil, err
	}
	if err := cl.login(ctx); err != nil {
		return nil, err
	}
	return cl, nil
}

// configFromOptions is the client configuration from tokenwall's options alone.
// api.DefaultConfig reads VAULT_ADDR, VAULT_SKIP_VERIFY, VAULT_CACERT, VAULT_CLIENT_CERT,
// VAULT_TLS_SERVER_NAME, VAULT_MAX_RETRIES, VAULT_RATE_LIMIT, VAULT_AGENT_ADDR and more from the
// process environment; any of them could point tokenwall elsewhere or weaken TLS to Vault
// behind the config's back, so everything they set is put back to what the config says.
func configFromOptions(o Options) (*api.Config, error) {
	cfg := api.DefaultConfig()
	if cfg.Error != nil {
		return nil, fmt.Errorf("vault: default config: %w", cfg.Error)
	}
	tr, ok := cfg.HttpClient.Transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("vault: unexpected transport %T", cfg.HttpClient.Transport)
	}
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.Proxy = http.ProxyFromEnvironment
	cfg.Limiter, cfg.SRVLookup, cfg.AgentAddress, cfg.CloneHeaders, cfg.CloneToken = nil, false, "", false, false
	cfg.Address = o.Address
	cfg.Timeout = o.Timeout
	cfg.MaxRetries = 1
	if o.CACertFile != "" {
		if err := cfg.ConfigureTLS(&api.TLSConfig{CACert: o.CACertFile}); err != nil {
			return nil, fmt.Errorf("vault: tls config: %w", err)
		}
	}
	return cfg, nil
}

func (c *Client) checkHealth(ctx context.Context) error {
	h, err := c.api.Sys().HealthWithContext(ctx)
	if err != nil {
		return fmt.Errorf("%w at %s: %w", ErrUnreachable, c.opts.Address, err)
	}
	if h.Sealed {
		return fmt.Errorf("%w at %s: unseal it, then start tokenwall again", ErrSealed, c.opts.Address)
	}
	return nil
}

func (c *Client) login(ctx context.Context) error {
	switch c.opts.Auth.Method {
	case "", "token":
		tok, err := c.readToken()
		if err != nil {
			return err
		}
		c.api.SetToken(tok)
		if _, err := c.api.Auth().Token().LookupSelfWithContext(ctx); err != nil {
			return classify(fmt.Errorf("token lookup: %w", err))
		}
		return nil
	case "approle":
		return c.loginAppRole(ctx)
	default:
		return fmt.Errorf("vault: auth method %q is not one of token, approle", c.opts.Auth.Method)
	}
}

func (c *Client) readToken() (string, error) {
	if f := c.opts.Auth.TokenFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("vault: read token file %s: %w", f, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	tok := strings.TrimSpace(c.opts.Getenv("VAULT_TOKEN"))
	if tok == "" {
		return "", fmt.Errorf("%w: no token: set vault.auth.token_file or VAULT_TOKEN", ErrAuth)
	}
	return tok, nil
}

func (c *Client) loginAppRole(ctx context.Context) error {
	b, err := os.ReadFile(c.opts.Auth.SecretIDFile)
	if err != nil {
		return fmt.Errorf("vault: read approle secret id file %s: %w", c.opts.Auth.SecretIDFile, err)
	}
	mount := c.opts.Auth.Mount
	if mount == "" {
		mount = "approle"
	}
	c.api.ClearToken()
	s, err := c.api.Logical().WriteWithContext(ctx, "auth/"+mount+"/login", map[string]any{
		"role_id":   c.opts.Auth.RoleID,
		"secret_id": strings.TrimSpace(string(b)),
	})
	if err != nil {
		// Vault answers a wrong role or secret id with 400, not 401/403.
		var re *api.ResponseError
		if errors.As(err, &re) && re.StatusCode == 400 {
			return fmt.Errorf("vault: %w: approle login: %w", ErrAuth, err)
		}
		return classify(fmt.Errorf("approle login: %w", err))
	}
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return fmt.Errorf("%w: approle login returned no token", ErrAuth)
	}
	c.api.SetToken(s.Auth.ClientToken)
	return nil
}

// classify wraps a Vault API error with the sentinel that names its kind.
func classify(err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case 401, 403:
			return fmt.Errorf("vault: %w: %w", ErrAuth, err)
		case 503:
			return fmt.Errorf("vault: %w: %w", ErrSealed, err)
		}
		return fmt.Errorf("vault: %w", err)
	}
	return fmt.Errorf("vault: %w: %w", ErrUnreachable, err)
}

// ReadKV reads field "value" of the latest version at path in the KV v2 mount.
func (c *Client) ReadKV(ctx context.Context, name, path string) (Secret, error) {
	s, err := c.api.KVv2(c.opts.KVMount).Get(ctx, path)
	if err != nil {
		if errors.Is(err, api.ErrSecretNotFound) {
			return Secret{}, fmt.Errorf("vault: %w: %s/%s", ErrMissing, c.opts.KVMount, path)
		}
		return Secret{}, classify(fmt.Errorf("read %s/%s: %w", c.opts.KVMount, path, err))
	}
	v, ok := s.Data["value"].(string)
	if !ok || v == "" {
		return Secret{}, fmt.Errorf("vault: %w: %s/%s has no string field \"value\"", ErrMissing, c.opts.KVMount, path)
	}
	sec := Secret{name: name, value: []byte(v)}
	if m := s.VersionMetadata; m != nil {
		sec.version, sec.created = m.Version, m.CreatedTime
	}
	return sec, nil
}

// WriteKV writes value into field "value" at path in the KV v2 mount. tokenwall itself only
// reads; this is for `tokenwall-dev` and tests that provision a dev server.
func (c *Client) WriteKV(ctx context.Context, path, value string) error {
	if _, err := c.api.KVv2(c.opts.KVMount).Put(ctx, path, map[string]any{"value": value}); err != nil {
		return classify(fmt.Errorf("write %s/%s: %w", c.opts.KVMount, path, err))
	}
	return nil
}

// ErrConflict means a check-and-set write lost to another writer: read again and retry.
var ErrConflict = errors.New("vault: the secret changed since it was read")

// WriteKVCAS writes value at path only if the latest version is still version (0: the path
// must not exist yet), so two operators editing one secret (the API key set) cannot overwrite
// each other. It returns ErrConflict when the version moved.
func (c *Client) WriteKVCAS(ctx context.Context, path, value string, version int) error {
	if _, err := c.api.KVv2(c.opts.KVMount).Put(ctx, path, map[string]any{"value": value}, api.WithCheckAndSet(version)); err != nil {
		if strings.Contains(err.Error(), "check-and-set") {
			return fmt.Errorf("%w: %s/%s", ErrConflict, c.opts.KVMount, path)
		}
		return classify(fmt.Errorf("write %s/%s: %w", c.opts.KVMount, path, err))
	}
	return nil
}

// renewToken renews the client's token when it is renewable and past half its TTL, and logs
// in again (AppRole) when renewal is refused.
func (c *Client) renewToken(ctx context.Context) error {
	s, err := c.api.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		if errors.Is(classify(err), ErrAuth) && c.opts.Auth.Method == "approle" {
			return c.login(ctx)
		}
		return classify(fmt.Errorf("token lookup: %w", err))
	}
	renewable, _ := s.TokenIsRenewable()
	ttl, _ := s.TokenTTL()
	if !renewable || ttl == 0 {
		return nil // root and non-renewable tokens: nothing to do
	}
	var creation time.Duration
	if v, ok := s.Data["creation_ttl"]; ok {
		if n, ok := v.(interface{ Int64() (int64, error) }); ok {
			if sec, err := n.Int64(); err == nil {
				creation = time.Duration(sec) * time.Second
			}
		}
	}
	if creation > 0 && ttl > creation/2 {
		return nil
	}
	if _, err := c.api.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
		if c.opts.Auth.Method == "approle" {
			return c.login(ctx)
		}
		return classify(fmt.Errorf("token renew: %w", err))
	}
	return nil
}
