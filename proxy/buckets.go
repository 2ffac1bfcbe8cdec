package proxy

import (
	"net/netip"
	"sync"
	"time"
)

// clientLimiter holds a token bucket per client (rate_limit): rate tokens a second, at most
// burst saved up. A client is an IPv4 address or an IPv6 /64 (clientAddr). Every operation
// is O(1): one map lookup and a few pointer moves.
//
// The table has a fixed size, max buckets, kept in least-recently-used order. A client that
// has no bucket when the table is full gets one only by taking the place of the least
// recently used bucket, and only when that bucket has refilled to the brim: forgetting a
// full bucket loses nothing, since a new bucket starts full too. Evicting the least recently
// used bucket whatever its level would let an attacker with more addresses than the table
// holds push his own drained buckets out and come back to a full one; refusing newcomers
// would lock out everyone else. So a client that cannot get a bucket of its own shares one
// overflow bucket with every other such client: it is limited, never waved through, and an
// attacker who fills the table limits only the clients that arrive while it is full of
// drained buckets, at the shared rate, for as long as he keeps them drained.
type clientLimiter struct {
	rate, burst float64
	max         int

	mu      sync.Mutex
	buckets map[netip.Addr]*clientBucket
	// head is the most recently used bucket, tail the least.
	head, tail *clientBucket
	overflow   clientBucket
}

// clientBucket is one client's bucket, a node of the limiter's LRU list.
type clientBucket struct {
	key        netip.Addr
	tokens     float64
	last       time.Time
	prev, next *clientBucket
}

// newClientLimiter returns a limiter of perSecond tokens a second with bursts of burst, for
// at most maxClients clients at once.
func newClientLimiter(perSecond, burst, maxClients int) *clientLimiter {
	l := &clientLimiter{rate: float64(perSecond), burst: float64(burst), max: max(maxClients, 1),
		buckets: make(map[netip.Addr]*clientBucket)}
	l.overflow.tokens = l.burst
	return l
}

// Allow reports whether client's bucket holds a token at now, without taking it, and when it
// does not, how long until it does. A client without a bucket has a full one, unless the
// table is full of clients still being limited: then the overflow bucket answers.
func (l *clientLimiter) Allow(client netip.Addr, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.find(client, now, false)
	if b == nil {
		return true, 0
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		return true, 0
	}
	return false, l.wait(b)
}

// Take takes a token from client's bucket at now (the cost of one refusal). When there is
// none it returns false and how long until there is one; the level never goes below zero.
func (l *clientLimiter) Take(client netip.Addr, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.find(client, now, true)
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, l.wait(b)
}

// Len is how many clients have a bucket of their own.
func (l *clientLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// find returns client's bucket, now the most recently used. A client without one gets a new
// full bucket (nil unless create: a full bucket need not be stored to be read) when the table
// has room or its least recently used bucket is full, which it then replaces; else the
// overflow bucket.
func (l *clientLimiter) find(client netip.Addr, now time.Time, create bool) *clientBucket {
	if b, ok := l.buckets[client]; ok {
		l.unlink(b)
		l.pushFront(b)
		return b
	}
	var b *clientBucket
	switch {
	case len(l.buckets) < l.max:
		if !create {
			return nil
		}
		b = &clientBucket{}
	case l.levelAt(l.tail, now) >= l.burst:
		if !create {
			return nil
		}
		b = l.tail
		l.unlink(b)
		delete(l.buckets, b.key)
	default:
		return &l.overflow
	}
	*b = clientBucket{key: client, tokens: l.burst, last: now}
	l.buckets[client] = b
	l.pushFront(b)
	return b
}

// levelAt is b's level at now, without changing it.
func (l *clientLimiter) levelAt(b *clientBucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		return min(l.burst, b.tokens+d.Seconds()*l.rate)
	}
	return b.tokens
}

// refill brings b's level to now (a clock that went back adds nothing).
func (l *clientLimiter) refill(b *clientBucket, now time.Time) {
	if now.After(b.last) {
		b.tokens = l.levelAt(b, now)
		b.last = now
	}
}

// wait is how long until b holds a whole token.
func (l *clientLimiter) wait(b *clientBucket) time.Duration {
	return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

func (l *clientLimiter) unlink(b *clientBucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		l.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		l.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

func (l *clientLimiter) pushFront(b *clientBucket) {
	b.next = l.head
	if l.head != nil {
		l.head.prev = b
	}
	l.head = b
	if l.tail == nil {
		l.tail = b
	}
}
