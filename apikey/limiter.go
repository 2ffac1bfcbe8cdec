package apikey

import (
	"sync"
	"time"
)

// Limiter is a token bucket per API key: rate tokens a second, at most burst saved up.
type Limiter struct {
	rate, burst float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewLimiter returns a limiter of perSecond requests a second with bursts of burst.
func NewLimiter(perSecond, burst int) *Limiter {
	return &Limiter{rate: float64(perSecond), burst: float64(burst), buckets: map[string]*bucket{}}
}

// Allow takes a token from key's bucket at now. When there is none it returns false and how
// long until there is one.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}
