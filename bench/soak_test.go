package bench

import (
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// soakDuration is how long TestSoak drives load: TOKENWALL_SOAK (a Go duration; `make soak`
// sets minutes), 3 s by default so that `make test` runs a short soak.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("TOKENWALL_SOAK")
	if v == "" {
		return 3 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("TOKENWALL_SOAK=%q: %v", v, err)
	}
	return d
}

// TestSoak sends checkouts from 16 concurrent clients through tokenwall (in process, a
// stand-in gateway, a real upstream server) for the soak duration, then checks that every
// request succeeded and that goroutines and heap come back down: no leak per request.
func TestSoak(t *testing.T) {
	d := soakDuration(t)
	up := newUpstreamT(t)
	tw := newTokenwall(t, up.URL)
	var ok, failed atomic.Int64
	load := func(until time.Time) {
		var wg sync.WaitGroup
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(until) {
					req := httptest.NewRequest(http.MethodPost, "https://tokenwall.test/checkout/submit", strings.NewReader(checkoutForm))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.RemoteAddr = "127.0.0.1:50000"
					rec := httptest.NewRecorder()
					tw.ServeHTTP(rec, req)
					if rec.Code == http.StatusOK {
						ok.Add(1)
					} else if failed.Add(1) == 1 {
						t.Logf("first failure: status %d: %s", rec.Code, strings.TrimSpace(rec.Body.String()))
					}
				}
			}()
		}
		wg.Wait()
	}
	// Warm up at the same concurrency, so the keep-alive pool to the upstream (bounded by
	// max_idle_conns_per_host) is part of the baseline, not counted as growth.
	load(time.Now().Add(500 * time.Millisecond))
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	ok.Store(0)

	load(time.Now().Add(d))
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Fatalf("%d ok, %d failed", ok.Load(), failed.Load())
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("soak %s: %d checkouts (%.0f/s), goroutines %d -> %d, heap in use %d KiB -> %d KiB",
		d, ok.Load(), float64(ok.Load())/d.Seconds(), goroutines, runtime.NumGoroutine(), before.HeapInuse>>10, after.HeapInuse>>10)
	if g := runtime.NumGoroutine(); g > goroutines+8 {
		t.Errorf("goroutines grew from %d to %d", goroutines, g)
	}
	if after.HeapInuse > before.HeapInuse+64<<20 {
		t.Errorf("heap in use grew by %d MiB", (after.HeapInuse-before.HeapInuse)>>20)
	}
}
