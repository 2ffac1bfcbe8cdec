package vault

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/kubernetes"
)

// Auth methods tokenwall logs in to Vault with.
const (
	// MethodToken uses a token read from Auth.TokenFile (VAULT_TOKEN when empty), typically
	// one a Vault Agent sidecar writes and rotates.
	MethodToken = "token"
	// MethodAppRole logs in with Auth.RoleID and the secret id read from Auth.SecretIDFile.
	MethodAppRole = "approle"
	// MethodKubernetes logs in with the pod's service account token (Auth.TokenFile,
	// DefaultKubernetesTokenFile when empty) and Auth.Role.
	MethodKubernetes = "kubernetes"
)

// DefaultKubernetesTokenFile is where Kubernetes mounts a pod's service account token.
const DefaultKubernetesTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// Auth is how tokenwall logs in to Vault. Secret material is read from files at login time,
// never held in configuration.
type Auth struct {
	// Method is MethodToken (also when empty), MethodAppRole or MethodKubernetes.
	Method string
	// TokenFile holds the Vault token for method token (when empty, the VAULT_TOKEN variable
	// is used), or the service account JWT for method kubernetes. It is read again whenever
	// it may have changed: a Vault Agent or the kubelet rotates it.
	TokenFile string
	// RoleID and SecretIDFile configure method approle.
	RoleID       string
	SecretIDFile string
	// Role is the Vault role of method kubernetes.
	Role string
	// Mount is the auth mount of approle or kubernetes; empty means the method's name.
	Mount string
}

// mount is the auth mount of the login methods.
func (a Auth) mount() string {
	if a.Mount != "" {
		return a.Mount
	}
	return a.Method
}

// loginMethod reports whether the method logs in (and so gets a token Vault lets it renew
// and that it can replace by logging in again), rather than being handed a token.
func (a Auth) loginMethod() bool { return a.Method == MethodAppRole || a.Method == MethodKubernetes }

// login authenticates as the options say and sets the client's token. Hold authMu.
func (c *Client) login(ctx context.Context) error {
	switch c.opts.Auth.Method {
	case "", MethodToken:
		tok, err := c.readToken()
		if err != nil {
			return err
		}
		c.api.SetToken(tok)
		if _, err := c.api.Auth().Token().LookupSelfWithContext(ctx); err != nil {
			return classify(fmt.Errorf("token lookup: %w", err))
		}
		return nil
	case MethodAppRole:
		return c.loginAppRole(ctx)
	case MethodKubernetes:
		return c.loginKubernetes(ctx)
	default:
		return fmt.Errorf("vault: auth method %q is not one of token, approle, kubernetes", c.opts.Auth.Method)
	}
}

// readToken reads the token of method token from its file, or from VAULT_TOKEN.
func (c *Client) readToken() (string, error) {
	if f := c.opts.Auth.TokenFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("vault: read token file %s: %w", f, err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("%w: token file %s is empty", ErrAuth, f)
		}
		return tok, nil
	}
	tok := strings.TrimSpace(c.opts.Getenv("VAULT_TOKEN"))
	if tok == "" {
		return "", fmt.Errorf("%w: no token: set vault.auth.token_file or VAULT_TOKEN", ErrAuth)
	}
	return tok, nil
}

// loginAppRole logs in with the role id and the secret id file.
func (c *Client) loginAppRole(ctx context.Context) error {
	b, err := os.ReadFile(c.opts.Auth.SecretIDFile)
	if err != nil {
		return fmt.Errorf("vault: read approle secret id file %s: %w", c.opts.Auth.SecretIDFile, err)
	}
	lc, err := c.loginClient()
	if err != nil {
		return err
	}
	s, err := lc.Logical().WriteWithContext(ctx, "auth/"+c.opts.Auth.mount()+"/login", map[string]any{
		"role_id":   c.opts.Auth.RoleID,
		"secret_id": strings.TrimSpace(string(b)),
	})
	if err != nil {
		return classifyLogin("approle", err)
	}
	return c.loggedIn("approle", s)
}

// loginKubernetes logs in with the service account token file, read afresh at each login:
// the kubelet replaces a projected token well before it expires.
func (c *Client) loginKubernetes(ctx context.Context) error {
	file := c.opts.Auth.TokenFile
	if file == "" {
		file = DefaultKubernetesTokenFile
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("vault: read kubernetes service account token %s: %w", file, err)
	}
	jwt := strings.TrimSpace(string(b))
	if jwt == "" {
		return fmt.Errorf("%w: kubernetes service account token %s is empty", ErrAuth, file)
	}
	k, err := kubernetes.NewKubernetesAuth(c.opts.Auth.Role,
		kubernetes.WithServiceAccountToken(jwt), kubernetes.WithMountPath(c.opts.Auth.mount()))
	if err != nil {
		return fmt.Errorf("vault: kubernetes auth: %w", err)
	}
	lc, err := c.loginClient()
	if err != nil {
		return err
	}
	s, err := lc.Auth().Login(ctx, k)
	if err != nil {
		return classifyLogin("kubernetes", err)
	}
	return c.loggedIn("kubernetes", s)
}

// loginClient is a copy of the client without a token (nor a namespace from the
// environment) to log in with: the client keeps its token, which may still be good, until a
// login succeeds.
func (c *Client) loginClient() (*api.Client, error) {
	lc, err := c.api.Clone()
	if err != nil {
		return nil, fmt.Errorf("vault: login client: %w", err)
	}
	lc.ClearToken()
	lc.ClearNamespace()
	return lc, nil
}

// loggedIn takes the token of a login's answer and keeps the answer for the lifetime
// watcher.
func (c *Client) loggedIn(method string, s *api.Secret) error {
	if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
		return fmt.Errorf("%w: %s login returned no token", ErrAuth, method)
	}
	c.api.SetToken(s.Auth.ClientToken)
	c.loginSecret = s
	select {
	case c.relogged <- struct{}{}:
	default:
	}
	return nil
}

// classifyLogin wraps a failed login: Vault answers a wrong role, secret id or JWT with 400
// or 403, and either means the credentials were refused.
func classifyLogin(method string, err error) error {
	var re *api.ResponseError
	if errors.As(err, &re) && (re.StatusCode == 400 || re.StatusCode == 401 || re.StatusCode == 403) {
		return fmt.Errorf("vault: %w: %s login: %w", ErrAuth, method, err)
	}
	return classify(fmt.Errorf("%s login: %w", method, err))
}

// reauth is called after Vault refused the token that was current before a call (before):
// it reports whether the client now holds another token worth one more try. With a token
// file it re-reads the file (a Vault Agent may have written a new token); with a login
// method it logs in again, but only when the token itself is no longer valid, since a 403 is
// also how Vault refuses a path outside the policy.
func (c *Client) reauth(ctx context.Context, before string) bool {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.api.Token() != before {
		return true // another call switched tokens meanwhile
	}
	switch {
	case c.opts.Auth.loginMethod():
		if _, err := c.api.Auth().Token().LookupSelfWithContext(ctx); err == nil || !errors.Is(classify(err), ErrAuth) {
			return false
		}
		return c.login(ctx) == nil
	case c.opts.Auth.TokenFile != "":
		switched, err := c.reloadTokenFileLocked()
		return err == nil && switched
	}
	return false
}

// reloadTokenFileLocked switches to the token in the token file when it is not the one in
// use, and reports whether it did. Hold authMu.
func (c *Client) reloadTokenFileLocked() (bool, error) {
	tok, err := c.readToken()
	if err != nil {
		return false, err
	}
	if tok == c.api.Token() {
		return false, nil
	}
	c.api.SetToken(tok)
	return true, nil
}

// retryAuth runs call and, when Vault refuses the token, runs it once more if reauth found a
// newer token: a rotated token file, or a fresh login after the old token was revoked.
func (c *Client) retryAuth(ctx context.Context, call func() error) error {
	before := c.api.Token()
	err := call()
	if errors.Is(err, ErrAuth) && c.reauth(ctx, before) {
		err = call()
	}
	return err
}
