package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, time.November, 28, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeReader serves secrets from memory; a name with an error set fails.
type fakeReader struct {
	mu     sync.Mutex
	values map[string]string
	errs   map[string]error
	reads  []string // "name path" of every call
}

func newFakeReader() *fakeReader {
	return &fakeReader{values: map[string]string{}, errs: map[string]error{}}
}

func (f *fakeReader) ReadKV(_ context.Context, name, path string) (Secret, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads = append(f.reads, name+" "+path)
	if err := f.errs[name]; err != nil {
		return Secret{}, err
	}
	v, ok := f.values[name]
	if !ok {
		return Secret{}, fmt.Errorf("%s: %w", path, ErrMissing)
	}
	return NewSecret(name, []byte(v), 1), nil
}

func (f *fakeReader) set(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values[name] = value
	delete(f.errs, name)
}

func (f *fakeReader) fail(name string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[name] = err
}

func (f *fakeReader) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reads)
}

// refreshLog records OnRefresh calls.
type refreshLog struct {
	mu    sync.Mutex
	calls []string // "name ok" or "name err"
}

func (r *refreshLog) record(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = "err"
	}
	r.calls = append(r.calls, name+" "+outcome)
}

func (r *refreshLog) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	slices.Sort(out)
	return out
}

const maxAge = 10 * time.Minute

var testPaths = map[string]string{
	SecretStripeKey:  "tokenwall/stripe",
	SecretSigningKey: "tokenwall/signing",
}

func newTestCache(r Reader, clk *fakeClock, log *refreshLog) *Cache {
	return NewCache(r, CacheOptions{
		Paths:           testPaths,
		RefreshInterval: time.Minute,
		MaxAge:          maxAge,
		Now:             clk.Now,
		OnRefresh:       log.record,
	})
}

func TestCacheLoad(t *testing.T) {
	sealed := errors.New("vault is sealed (test)")
	for _, tc := range []struct {
		name       string
		values     map[string]string
		errs       map[string]error
		wantErr    []string // names the error must mention
		wantNotErr []string // names it must not mention
		wantIs     error
		loaded     []string // names Get then returns
		refreshed  []string
	}{
		{
			name:      "all load",
			values:    map[string]string{SecretStripeKey: "sk_a", SecretSigningKey: "sig_a"},
			loaded:    []string{SecretStripeKey, SecretSigningKey},
			refreshed: []string{"signing_key ok", "stripe_key ok"},
		},
		{
			name:       "one missing",
			values:     map[string]string{SecretSigningKey: "sig_a"},
			wantErr:    []string{SecretStripeKey},
			wantNotErr: []string{SecretSigningKey},
			wantIs:     ErrMissing,
			loaded:     []string{SecretSigningKey},
			refreshed:  []string{"signing_key ok", "stripe_key err"},
		},
		{
			name:      "both fail differently",
			errs:      map[string]error{SecretStripeKey: sealed, SecretSigningKey: fmt.Errorf("login: %w", ErrAuth)},
			wantErr:   []string{SecretStripeKey, SecretSigningKey},
			wantIs:    ErrAuth,
			refreshed: []string{"signing_key err", "stripe_key err"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFakeReader()
			for n, v := range tc.values {
				r.set(n, v)
			}
			for n, err := range tc.errs {
				r.fail(n, err)
			}
			var log refreshLog
			c := newTestCache(r, newFakeClock(), &log)
			err := c.Load(context.Background())
			if len(tc.wantErr) == 0 && err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(tc.wantErr) > 0 && err == nil {
				t.Fatalf("Load succeeded, want an error naming %v", tc.wantErr)
			}
			for _, n := range tc.wantErr {
				if !strings.Contains(err.Error(), "secret "+n+":") {
					t.Errorf("Load error %q does not name %s", err, n)
				}
			}
			for _, n := range tc.wantNotErr {
				if strings.Contains(err.Error(), n) {
					t.Errorf("Load error %q names %s, which loaded", err, n)
				}
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("errors.Is(Load error, %v) = false", tc.wantIs)
			}
			for n := range testPaths {
				_, gerr := c.Get(n)
				if slices.Contains(tc.loaded, n) != (gerr == nil) {
					t.Errorf("Get(%s) error = %v, loaded = %v", n, gerr, slices.Contains(tc.loaded, n))
				}
			}
			if got := c.Fresh(); got != (len(tc.loaded) == len(testPaths)) {
				t.Errorf("Fresh = %v with %d of %d loaded", got, len(tc.loaded), len(testPaths))
			}
			if got := log.take(); !slices.Equal(got, tc.refreshed) {
				t.Errorf("OnRefresh calls = %v, want %v", got, tc.refreshed)
			}
		})
	}
}

func TestCacheReadsConfiguredPaths(t *testing.T) {
	r := newFakeReader()
	r.set(SecretStripeKey, "sk_a")
	r.set(SecretSigningKey, "sig_a")
	c := newTestCache(r, newFakeClock(), &refreshLog{})
	if err := c.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := slices.Sorted(slices.Values(r.reads))
	want := []string{"signing_key tokenwall/signing", "stripe_key tokenwall/stripe"}
	if !slices.Equal(got, want) {
		t.Errorf("reads = %v, want %v", got, want)
	}
}

func TestCacheGetBeforeLoad(t *testing.T) {
	c := newTestCache(newFakeReader(), newFakeClock(), &refreshLog{})
	_, err := c.Get(SecretStripeKey)
	if !errors.Is(err, ErrMissing) {
		t.Errorf("Get before Load: error = %v, want ErrMissing", err)
	}
	if !strings.Contains(fmt.Sprint(err), SecretStripeKey) {
		t.Errorf("error %q does not name the secret", err)
	}
	if c.Fresh() {
		t.Errorf("Fresh = true before Load")
	}
	if ages := c.Ages(); len(ages) != 0 {
		t.Errorf("Ages = %v before Load, want empty", ages)
	}
}

// TestCacheLifecycle walks one cache through fresh, ageing, failing refreshes, stale and
// recovered, on a fake clock.
func TestCacheLifecycle(t *testing.T) {
	r := newFakeReader()
	r.set(SecretStripeKey, "sk_v1")
	r.set(SecretSigningKey, "sig_v1")
	clk := newFakeClock()
	var log refreshLog
	c := newTestCache(r, clk, &log)
	ctx := context.Background()
	if err := c.Load(ctx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	log.take()

	t.Run("fresh after load", func(t *testing.T) {
		checkCache(t, c, cacheWant{value: "sk_v1", fresh: true, age: 0})
	})
	t.Run("ageing within max age", func(t *testing.T) {
		clk.Advance(4 * time.Minute)
		checkCache(t, c, cacheWant{value: "sk_v1", fresh: true, age: 4 * time.Minute})
	})
	t.Run("failed refresh keeps the last value", func(t *testing.T) {
		r.fail(SecretStripeKey, fmt.Errorf("dial: %w", ErrUnreachable))
		r.fail(SecretSigningKey, fmt.Errorf("dial: %w", ErrUnreachable))
		err := c.Refresh(ctx)
		if !errors.Is(err, ErrUnreachable) {
			t.Errorf("Refresh error = %v, want ErrUnreachable", err)
		}
		checkRefreshCalls(t, &log, "signing_key err", "stripe_key err")
		checkCache(t, c, cacheWant{value: "sk_v1", fresh: true, age: 4 * time.Minute})
	})
	t.Run("exactly max age still served", func(t *testing.T) {
		clk.Advance(maxAge - 4*time.Minute)
		checkCache(t, c, cacheWant{value: "sk_v1", fresh: true, age: maxAge})
	})
	t.Run("past max age is stale", func(t *testing.T) {
		clk.Advance(time.Second)
		if err := c.Refresh(ctx); err == nil {
			t.Errorf("Refresh succeeded while the reader fails")
		}
		checkRefreshCalls(t, &log, "signing_key err", "stripe_key err")
		checkCache(t, c, cacheWant{value: "", stale: true, fresh: false, age: maxAge + time.Second})
	})
	t.Run("one secret back is not enough", func(t *testing.T) {
		r.set(SecretStripeKey, "sk_v2")
		err := c.Refresh(ctx)
		if err == nil || !strings.Contains(err.Error(), SecretSigningKey) || strings.Contains(err.Error(), "secret "+SecretStripeKey) {
			t.Errorf("Refresh error = %v, want one naming only %s", err, SecretSigningKey)
		}
		checkRefreshCalls(t, &log, "signing_key err", "stripe_key ok")
		checkCache(t, c, cacheWant{value: "sk_v2", fresh: false, age: 0})
		if _, err := c.Get(SecretSigningKey); !errors.Is(err, ErrStale) {
			t.Errorf("Get(signing_key) = %v, want ErrStale", err)
		}
	})
	t.Run("successful refresh restores", func(t *testing.T) {
		r.set(SecretSigningKey, "sig_v2")
		if err := c.Refresh(ctx); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		checkRefreshCalls(t, &log, "signing_key ok", "stripe_key ok")
		checkCache(t, c, cacheWant{value: "sk_v2", fresh: true, age: 0})
		s, err := c.Get(SecretSigningKey)
		if err != nil || string(s.Reveal()) != "sig_v2" {
			t.Errorf("Get(signing_key) = %v, want the new value", err)
		}
	})
}

// cacheWant is the state TestCacheLifecycle expects of the cache at one step.
type cacheWant struct {
	value string // of the Stripe key, "" when Get must fail
	stale bool
	fresh bool
	age   time.Duration
}

// checkCache checks c's Stripe key, freshness and age against w, and that no error text
// holds a secret value.
func checkCache(t *testing.T, c *Cache, w cacheWant) {
	t.Helper()
	s, err := c.Get(SecretStripeKey)
	switch {
	case w.value != "" && err != nil:
		t.Errorf("Get: %v, want a value", err)
	case w.value != "" && string(s.Reveal()) != w.value:
		t.Errorf("Get returned the wrong value")
	case w.value == "" && err == nil:
		t.Errorf("Get returned a value, want an error")
	}
	if got := errors.Is(err, ErrStale); got != w.stale {
		t.Errorf("errors.Is(err, ErrStale) = %v, want %v (err %v)", got, w.stale, err)
	}
	if err != nil && (strings.Contains(err.Error(), "sk_v") || strings.Contains(err.Error(), "sig_v")) {
		t.Errorf("error text holds a secret value")
	}
	if got := c.Fresh(); got != w.fresh {
		t.Errorf("Fresh = %v, want %v", got, w.fresh)
	}
	if got := c.Ages()[SecretStripeKey]; got != w.age {
		t.Errorf("Ages()[stripe_key] = %v, want %v", got, w.age)
	}
}

// checkRefreshCalls takes the OnRefresh calls log recorded since the last take and checks
// they are wantCalls ("name ok" or "name err", sorted).
func checkRefreshCalls(t *testing.T, log *refreshLog, wantCalls ...string) {
	t.Helper()
	if got := log.take(); !slices.Equal(got, wantCalls) {
		t.Errorf("OnRefresh calls = %v, want %v", got, wantCalls)
	}
}

func TestCacheAges(t *testing.T) {
	r := newFakeReader()
	r.set(SecretStripeKey, "sk")
	r.set(SecretSigningKey, "sig")
	clk := newFakeClock()
	c := newTestCache(r, clk, &refreshLog{})
	if err := c.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	clk.Advance(90 * time.Second)
	r.fail(SecretSigningKey, ErrSealed)
	_ = c.Refresh(context.Background()) // the Stripe key refreshes, the signing key does not
	clk.Advance(30 * time.Second)
	got := c.Ages()
	want := map[string]time.Duration{SecretStripeKey: 30 * time.Second, SecretSigningKey: 120 * time.Second}
	if len(got) != len(want) {
		t.Fatalf("Ages = %v, want %v", got, want)
	}
	for n, w := range want {
		if got[n] != w {
			t.Errorf("Ages()[%s] = %v, want %v", n, got[n], w)
		}
	}
}

func TestCacheDefaultClock(t *testing.T) {
	r := newFakeReader()
	r.set(SecretStripeKey, "sk")
	r.set(SecretSigningKey, "sig")
	c := NewCache(r, CacheOptions{Paths: testPaths, MaxAge: time.Hour})
	if err := c.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !c.Fresh() {
		t.Errorf("Fresh = false right after Load with the real clock")
	}
	if age := c.Ages()[SecretStripeKey]; age < 0 || age > time.Minute {
		t.Errorf("age = %v right after Load", age)
	}
}

func TestCacheRun(t *testing.T) {
	r := newFakeReader()
	r.set(SecretStripeKey, "sk")
	r.set(SecretSigningKey, "sig")
	var ticks sync.WaitGroup
	ticks.Add(3)
	var (
		mu       sync.Mutex
		tickSeen int
	)
	c := NewCache(r, CacheOptions{Paths: testPaths, RefreshInterval: time.Millisecond, MaxAge: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx, func(context.Context) {
			mu.Lock()
			defer mu.Unlock()
			if tickSeen++; tickSeen <= 3 {
				ticks.Done()
			}
		})
	}()
	waited := make(chan struct{})
	go func() { ticks.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not tick three times in 10s")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	// Each tick refreshes both secrets; the refresh after the third tick may still be running
	// when the count is taken, so at least two full rounds.
	if n := r.readCount(); n < 4 {
		t.Errorf("%d reads after three ticks, want at least 4", n)
	}
	if !c.Fresh() {
		t.Errorf("Fresh = false after Run refreshed")
	}
}
