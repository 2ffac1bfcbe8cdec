package webhooks

import (
	"math/rand/v2"
	"sync"
	"time"
)

// backoff spaces out retries with "full jitter": the delay before attempt n+1 is uniform in
// [0, min(cap, base·2^(n-1))]. Spreading retries over the whole window keeps replicas and
// items from retrying in step against an app that is coming back up.
type backoff struct {
	base, cap time.Duration

	mu  sync.Mutex // rand.Rand is not safe for concurrent use; deliveries run in parallel
	rng *rand.Rand
}

func newBackoff(base, limit time.Duration, src rand.Source) *backoff {
	if src == nil {
		src = globalSource{}
	}
	return &backoff{base: base, cap: limit, rng: rand.New(src)}
}

// ceiling is the upper bound of the delay after attempts failed attempts (at least one).
func (b *backoff) ceiling(attempts int) time.Duration {
	d := b.base
	for i := 1; i < attempts; i++ {
		if d >= b.cap/2 {
			return b.cap
		}
		d *= 2
	}
	return min(d, b.cap)
}

// delay draws the wait before the next attempt after attempts failed ones.
func (b *backoff) delay(attempts int) time.Duration {
	c := b.ceiling(attempts)
	b.mu.Lock()
	defer b.mu.Unlock()
	return time.Duration(b.rng.Int64N(int64(c) + 1))
}

// globalSource is math/rand/v2's goroutine-safe, runtime-seeded generator, the default.
type globalSource struct{}

func (globalSource) Uint64() uint64 { return rand.Uint64() }
