package vault

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
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
	// ErrNewline means a secret's value ends with a newline, as one written from a file with
	// `vault kv put path value=@file` does.
	ErrNewline = errors.New("secret value ends with a newline")
)

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

// Client is an authenticated Vault client. It is safe for concurrent use.
type Client struct {
	api  *api.Client
	opts Options

	authMu sync.Mutex // one login or token switch at a time
	// loginSecret is the answer of the last AppRole or Kubernetes login, which the lifetime
	// watcher renews (guarded by authMu).
	loginSecret *api.Secret
	// relogged tells KeepLoggedIn that a login happened elsewhere (after a 403), so that it
	// watches the new token.
	relogged chan struct{}
	// watching is set while KeepLoggedIn renews the token.
	watching atomic.Bool
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
	cl := &Client{api: c, opts: o, relogged: make(chan struct{}, 1)}
	if err := cl.checkHealth(ctx); err != nil {
		return nil, err
	}
	cl.authMu.Lock()
	defer cl.authMu.Unlock()
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

// ReadKV reads field "value" of the latest version at path in the KV v2 mount. A value that
// ends with a newline is refused (ErrNewline): it was written from a file by mistake, and a
// key with a newline breaks the HTTP header or the HMAC it goes into.
func (c *Client) ReadKV(ctx context.Context, name, path string) (Secret, error) {
	var s *api.KVSecret
	err := c.retryAuth(ctx, func() (err error) {
		s, err = c.api.KVv2(c.opts.KVMount).Get(ctx, path)
		if err != nil && !errors.Is(err, api.ErrSecretNotFound) {
			err = classify(fmt.Errorf("read %s/%s: %w", c.opts.KVMount, path, err))
		}
		return err
	})
	if errors.Is(err, api.ErrSecretNotFound) {
		return Secret{}, fmt.Errorf("vault: %w: %s/%s", ErrMissing, c.opts.KVMount, path)
	}
	if err != nil {
		return Secret{}, err
	}
	v, ok := s.Data["value"].(string)
	if !ok || v == "" {
		return Secret{}, fmt.Errorf("vault: %w: %s/%s has no string field \"value\"", ErrMissing, c.opts.KVMount, path)
	}
	if hasNewline(v) {
		return Secret{}, newlineError(c.opts.KVMount, path, 0)
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
	return c.retryAuth(ctx, func() error {
		if _, err := c.api.KVv2(c.opts.KVMount).Put(ctx, path, map[string]any{"value": value}); err != nil {
			return classify(fmt.Errorf("write %s/%s: %w", c.opts.KVMount, path, err))
		}
		return nil
	})
}

// ErrConflict means a check-and-set write lost to another writer: read again and retry.
var ErrConflict = errors.New("vault: the secret changed since it was read")

// WriteKVCAS writes value at path only if the latest version is still version (0: the path
// must not exist yet), so two operators editing one secret (the API key set) cannot overwrite
// each other. It returns ErrConflict when the version moved.
func (c *Client) WriteKVCAS(ctx context.Context, path, value string, version int) error {
	return c.retryAuth(ctx, func() error {
		if _, err := c.api.KVv2(c.opts.KVMount).Put(ctx, path, map[string]any{"value": value}, api.WithCheckAndSet(version)); err != nil {
			if strings.Contains(err.Error(), "check-and-set") {
				return fmt.Errorf("%w: %s/%s", ErrConflict, c.opts.KVMount, path)
			}
			return classify(fmt.Errorf("write %s/%s: %w", c.opts.KVMount, path, err))
		}
		return nil
	})
}
