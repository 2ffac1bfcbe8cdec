package vault

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Reader reads one secret. *Client is the real one; the interface lets the cache be driven
// by a clock in tests without a second implementation of Vault.
type Reader interface {
	ReadKV(ctx context.Context, name, path string) (Secret, error)
}

// CacheOptions configure a Cache.
type CacheOptions struct {
	// Paths maps a secret's logical name to its KV v2 path.
	Paths map[string]string
	// RefreshInterval is the period of the background refresh.
	RefreshInterval time.Duration
	// MaxAge is how old a cached secret may get before Get refuses it with ErrStale.
	MaxAge time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnRefresh, when set, is called after every refresh of one secret with its outcome.
	OnRefresh func(name string, err error)
}

type entry struct {
	secret  Secret
	fetched time.Time
}

// Cache holds tokenwall's secrets in memory. Every secret must load once at start-up (Load);
// afterwards a failed refresh keeps the last value until it is older than MaxAge.
type Cache struct {
	r    Reader
	opts CacheOptions

	mu      sync.RWMutex
	entries map[string]entry

	refreshMu sync.Mutex // one refresh at a time
}

// NewCache returns an empty cache reading through r.
func NewCache(r Reader, o CacheOptions) *Cache {
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Cache{r: r, opts: o, entries: make(map[string]entry, len(o.Paths))}
}

// Load reads every configured secret and fails if any is missing or unreadable. It is the
// start-up check: tokenwall does not start without its secrets.
func (c *Cache) Load(ctx context.Context) error {
	var errs []error
	for name := range c.opts.Paths {
		if err := c.refreshOne(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Refresh re-reads every secret now (after a 401 from the gateway, say). It returns every
// failure, joined; secrets that did refresh keep their new value.
func (c *Cache) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	var errs []error
	for name := range c.opts.Paths {
		if err := c.refreshOne(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RefreshSecret re-reads one secret now; tokenwall re-reads the API key set this way more
// often than the rest, so that a revoked key is refused soon.
func (c *Cache) RefreshSecret(ctx context.Context, name string) error {
	if _, ok := c.opts.Paths[name]; !ok {
		return fmt.Errorf("secret %s: %w: not configured", name, ErrMissing)
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshOne(ctx, name)
}

func (c *Cache) refreshOne(ctx context.Context, name string) error {
	s, err := c.r.ReadKV(ctx, name, c.opts.Paths[name])
	if c.opts.OnRefresh != nil {
		c.opts.OnRefresh(name, err)
	}
	if err != nil {
		return fmt.Errorf("secret %s: %w", name, err)
	}
	c.mu.Lock()
	c.entries[name] = entry{secret: s, fetched: c.opts.Now()}
	c.mu.Unlock()
	return nil
}

// Get returns the cached secret, or ErrStale once it is older than MaxAge, or ErrMissing
// when it never loaded.
func (c *Cache) Get(name string) (Secret, error) {
	c.mu.RLock()
	e, ok := c.entries[name]
	c.mu.RUnlock()
	if !ok {
		return Secret{}, fmt.Errorf("secret %s: %w", name, ErrMissing)
	}
	if age := c.opts.Now().Sub(e.fetched); age > c.opts.MaxAge {
		return Secret{}, fmt.Errorf("secret %s: %w (age %s, max %s)", name, ErrStale, age.Round(time.Second), c.opts.MaxAge)
	}
	return e.secret, nil
}

// Ages returns how long ago each loaded secret was last read from Vault.
func (c *Cache) Ages() map[string]time.Duration {
	now := c.opts.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]time.Duration, len(c.entries))
	for n, e := range c.entries {
		out[n] = now.Sub(e.fetched)
	}
	return out
}

// Fresh reports whether every configured secret is loaded and within MaxAge.
func (c *Cache) Fresh() bool {
	for name := range c.opts.Paths {
		if _, err := c.Get(name); err != nil {
			return false
		}
	}
	return true
}

// Run refreshes the cache every RefreshInterval until ctx ends. tick, when non-nil, is also
// called each period (token renewal hangs there).
func (c *Cache) Run(ctx context.Context, tick func(context.Context)) {
	t := time.NewTicker(c.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if tick != nil {
				tick(ctx)
			}
			_ = c.Refresh(ctx) // failures are reported through OnRefresh; the old value stays
		}
	}
}
