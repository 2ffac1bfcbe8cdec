package vault

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/vault/api"
)

// reloginBackoff bounds the wait between failed logins in KeepLoggedIn.
const (
	reloginFirstWait = time.Second
	reloginMaxWait   = time.Minute
)

// RenewToken keeps the client's token usable; Cache.Run calls it at every refresh. With a
// token file it first switches to the file's token when the file changed (a Vault Agent
// rotated it); a renewable token past half its TTL is renewed. A login method's token is left
// to KeepLoggedIn while that runs; otherwise it is renewed here, or replaced by a new login
// when Vault refuses it.
func (c *Client) RenewToken(ctx context.Context) error {
	if c.opts.Auth.loginMethod() {
		if c.watching.Load() {
			return nil
		}
		return c.renewOrLogin(ctx)
	}
	if c.opts.Auth.TokenFile != "" {
		c.authMu.Lock()
		_, err := c.reloadTokenFileLocked()
		c.authMu.Unlock()
		if err != nil {
			return err
		}
	}
	return c.renewHalfway(ctx)
}

// renewOrLogin renews a login method's token, and logs in again when Vault refuses it.
func (c *Client) renewOrLogin(ctx context.Context) error {
	err := c.renewHalfway(ctx)
	if err == nil || !errors.Is(err, ErrAuth) {
		return err
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	return c.login(ctx)
}

// renewHalfway renews the client's token when it is renewable and past half its TTL.
func (c *Client) renewHalfway(ctx context.Context) error {
	s, err := c.api.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return classify(fmt.Errorf("token lookup: %w", err))
	}
	renewable, _ := s.TokenIsRenewable()
	ttl, _ := s.TokenTTL()
	if !renewable || ttl == 0 {
		return nil // root and non-renewable tokens: nothing to do
	}
	var creation time.Duration
	if v, ok := s.Data["creation_ttl"]; ok {
		if n, err := jsonInt(v); err == nil {
			creation = time.Duration(n) * time.Second
		}
	}
	if creation > 0 && ttl > creation/2 {
		return nil
	}
	if _, err := c.api.Auth().Token().RenewSelfWithContext(ctx, 0); err != nil {
		return classify(fmt.Errorf("token renew: %w", err))
	}
	return nil
}

// KeepLoggedIn keeps an AppRole or Kubernetes login alive until ctx ends: Vault's lifetime
// watcher (api.LifetimeWatcher) renews the token before it expires, and when renewal stops
// (the token reached its max TTL, was revoked, or Vault was away for the rest of its TTL) it
// logs in again, retrying with backoff. report, when not nil, is told of each new login (nil)
// and each failed one. For method token it returns at once: RenewToken, at every refresh,
// covers a token file.
func (c *Client) KeepLoggedIn(ctx context.Context, report func(error)) {
	if !c.opts.Auth.loginMethod() {
		return
	}
	if report == nil {
		report = func(error) {}
	}
	c.watching.Store(true)
	defer c.watching.Store(false)
	for ctx.Err() == nil {
		c.authMu.Lock()
		s := c.loginSecret
		c.authMu.Unlock()
		started := time.Now()
		stopped, err := c.watch(ctx, s)
		if !stopped {
			continue // a login elsewhere (after a 403) replaced the token: watch the new one
		}
		if err != nil {
			report(fmt.Errorf("vault: token renewal stopped: %w", err))
		}
		// A token whose renewal stops at once (a role with a tiny TTL) must not turn this
		// loop into a stream of logins.
		if !sleepCtx(ctx, reloginFirstWait-time.Since(started)) {
			return
		}
		c.reloginUntilDone(ctx, report)
	}
}

// sleepCtx waits d (nothing when d <= 0) and reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watch renews s's token until renewal stops (stopped true, with the watcher's error), ctx
// ends, or another login replaces the token (stopped false).
func (c *Client) watch(ctx context.Context, s *api.Secret) (stopped bool, err error) {
	if s == nil || s.Auth == nil || s.Auth.LeaseDuration <= 0 {
		// No login answer, or a token without a TTL: nothing to renew; wait for a new login.
		select {
		case <-ctx.Done():
		case <-c.relogged:
		}
		return false, nil
	}
	w, err := c.api.NewLifetimeWatcher(&api.LifetimeWatcherInput{Secret: s, Increment: s.Auth.LeaseDuration})
	if err != nil {
		return true, fmt.Errorf("lifetime watcher: %w", err)
	}
	go w.Start()
	defer w.Stop()
	select {
	case <-ctx.Done():
		return false, nil
	case <-c.relogged:
		return false, nil
	case err := <-w.DoneCh():
		return true, err
	}
}

// reloginUntilDone logs in until it succeeds or ctx ends, waiting longer after each failure.
func (c *Client) reloginUntilDone(ctx context.Context, report func(error)) {
	wait := reloginFirstWait
	for {
		c.authMu.Lock()
		err := c.login(ctx)
		c.authMu.Unlock()
		if err == nil {
			select {
			case <-c.relogged: // our own login's signal: the loop watches the new token anyway
			default:
			}
			report(nil)
			return
		}
		report(err)
		if !sleepCtx(ctx, wait) {
			return
		}
		wait = min(2*wait, reloginMaxWait)
	}
}
