package proxy

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestClientKeying(t *testing.T) {
	tests := []struct {
		name, a, b string
		same       bool
		key        string
	}{
		{name: "one IPv4 address", a: "203.0.113.7", b: "203.0.113.7", same: true, key: "203.0.113.7"},
		{name: "IPv4 neighbours", a: "203.0.113.7", b: "203.0.113.8", same: false, key: "203.0.113.7"},
		{name: "IPv4-mapped IPv6 is IPv4", a: "::ffff:203.0.113.7", b: "203.0.113.7", same: true, key: "203.0.113.7"},
		{name: "one IPv6 /64", a: "2001:db8:1:2::1", b: "2001:db8:1:2:ffff:ffff:ffff:ffff", same: true, key: "2001:db8:1:2::/64"},
		{name: "next IPv6 /64", a: "2001:db8:1:2::1", b: "2001:db8:1:3::1", same: false, key: "2001:db8:1:2::/64"},
		{name: "a zone is dropped", a: "fe80::1%eth0", b: "fe80::2", same: true, key: "fe80::/64"},
		{name: "garbage shares one key", a: "not-an-ip", b: "", same: true, key: "unknown"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if same := clientAddr(tc.a) == clientAddr(tc.b); same != tc.same {
				t.Errorf("%s and %s share a bucket: %v, want %v", tc.a, tc.b, same, tc.same)
			}
			if k := ClientKey(tc.a); k != tc.key {
				t.Errorf("ClientKey(%s) = %s, want %s", tc.a, k, tc.key)
			}
		})
	}
}

func TestClientLimiterBurstRefillAndRetryAfter(t *testing.T) {
	l := newClientLimiter(2, 3, 16)
	c := clientAddr("203.0.113.7")
	now := time.Unix(1_700_000_000, 0)
	if ok, _ := l.Allow(c, now); !ok || l.Len() != 0 {
		t.Fatalf("a new client: allowed %v, %d buckets; want allowed without a bucket stored", ok, l.Len())
	}
	for i := range 3 {
		if ok, _ := l.Take(c, now); !ok {
			t.Fatalf("take %d within the burst refused", i)
		}
	}
	ok, wait := l.Take(c, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: %v, wait %s; want refused, 500ms (2 a second)", ok, wait)
	}
	if ok, wait := l.Allow(c, now.Add(200*time.Millisecond)); ok || wait != 300*time.Millisecond {
		t.Fatalf("Allow 200ms later: %v, wait %s; want refused, 300ms", ok, wait)
	}
	if ok, _ := l.Allow(c, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("a token refilled is not allowed")
	}
	if ok, _ := l.Allow(c, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("Allow took the token")
	}
	if ok, _ := l.Take(c, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("Take of the refilled token refused")
	}
	// Retry-After rounds up: 500ms is 1 s.
	if s := retryAfterSeconds(&clientLimitError{wait: 500 * time.Millisecond}, kindOf(ErrClientRateLimited)); s != 1 {
		t.Errorf("Retry-After %d, want 1", s)
	}
	// A clock that went back adds nothing and takes nothing.
	if ok, _ := l.Take(c, now); ok {
		t.Error("a clock set back refilled the bucket")
	}
}

func TestClientLimiterIPv6SharesTheSlash64(t *testing.T) {
	l := newClientLimiter(1, 2, 16)
	now := time.Unix(1_700_000_000, 0)
	for i := range 2 {
		if ok, _ := l.Take(clientAddr(fmt.Sprintf("2001:db8:1:2::%x", i+1)), now); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	if ok, _ := l.Allow(clientAddr("2001:db8:1:2:abcd::9"), now); ok {
		t.Error("another address of the same /64 has a full bucket")
	}
	if ok, _ := l.Allow(clientAddr("2001:db8:1:3::1"), now); !ok {
		t.Error("the next /64 is limited too")
	}
}

// drain takes burst tokens for each of clients at now.
func drain(t *testing.T, l *clientLimiter, clients []netip.Addr, burst int, now time.Time) {
	t.Helper()
	for _, c := range clients {
		for range burst {
			l.Take(c, now)
		}
	}
}

func addrs(format string, n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = clientAddr(fmt.Sprintf(format, i))
	}
	return out
}

func TestClientLimiterTableIsBounded(t *testing.T) {
	const maxClients, burst = 4, 5
	l := newClientLimiter(1, burst, maxClients)
	now := time.Unix(1_700_000_000, 0)
	for i, c := range addrs("198.51.100.%d", 100) {
		l.Take(c, now.Add(time.Duration(i)*time.Millisecond))
		if n := l.Len(); n > maxClients {
			t.Fatalf("after %d clients: %d buckets, bound %d", i+1, n, maxClients)
		}
	}
}

// TestClientLimiterEvictsOnlyFullBuckets: a newcomer takes the least recently used
// bucket's place once that bucket has refilled (nothing is lost), never before.
func TestClientLimiterEvictsOnlyFullBuckets(t *testing.T) {
	const maxClients, burst = 4, 5
	l := newClientLimiter(1, burst, maxClients)
	now := time.Unix(1_700_000_000, 0)
	old := addrs("198.51.100.%d", maxClients)
	drain(t, l, old, burst, now)
	newcomer := clientAddr("192.0.2.1")
	// Refilled to 4 of 5: the table keeps them, the newcomer shares the overflow bucket.
	l.Take(newcomer, now.Add(4*time.Second))
	if _, ok := l.buckets[newcomer]; ok || l.Len() != maxClients {
		t.Fatal("a newcomer got a bucket while every bucket in the table was being limited")
	}
	// The least recently used bucket (old[0]) is full 5 s after it was drained: replaced.
	l.Take(newcomer, now.Add(5*time.Second))
	if _, ok := l.buckets[newcomer]; !ok || l.Len() != maxClients {
		t.Fatal("the newcomer did not take the place of a full bucket")
	}
	if _, ok := l.buckets[old[0]]; ok {
		t.Error("the least recently used bucket is still there")
	}
	if ok, _ := l.Allow(old[0], now.Add(5*time.Second)); !ok {
		t.Error("the evicted client, whose bucket was full, is limited")
	}
}

// TestClientLimiterAttackerCannotExemptHimself: an attacker with more addresses than the
// table holds gets no more refusals through than a table without bound would let him (only
// full buckets are forgotten), and a newcomer while the table is full of his drained
// buckets is limited, not waved through.
func TestClientLimiterAttackerCannotExemptHimself(t *testing.T) {
	const burst, rate = 5, 1
	attacker := addrs("2001:db8:%x::1", 1000) // 1000 different /64s
	now := time.Unix(1_700_000_000, 0)
	through := func(l *clientLimiter) (allowed int) {
		// 1000 refusals a second: ten in a row from each address, then the next address.
		for step := range 30_000 {
			at := now.Add(time.Duration(step) * time.Millisecond)
			c := attacker[(step/10)%len(attacker)]
			if ok, _ := l.Allow(c, at); !ok {
				continue
			}
			if ok, _ := l.Take(c, at); ok {
				allowed++
			}
		}
		return allowed
	}
	bounded := newClientLimiter(rate, burst, 16)
	got, unbounded := through(bounded), through(newClientLimiter(rate, burst, 1<<20))
	if got > unbounded {
		t.Errorf("with a table of 16 the attacker got %d refusals through, more than the %d a table without bound allows", got, unbounded)
	}
	if bounded.Len() != 16 {
		t.Errorf("%d buckets, bound 16", bounded.Len())
	}
	// The table full of drained buckets, the overflow bucket drained by one more address: a
	// newcomer is limited.
	l := newClientLimiter(rate, burst, 16)
	drain(t, l, attacker[:17], burst, now)
	if ok, _ := l.Allow(clientAddr("192.0.2.77"), now); ok {
		t.Error("a newcomer is waved through while the table is full of drained buckets")
	}
	t.Logf("refusals through in 30 s: %d with a table of 16, %d without bound", got, unbounded)
}
