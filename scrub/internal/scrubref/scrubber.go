package scrubref

import (
	"fmt"
	"strings"
	"sync/atomic"
)

// CardMask says how much of a card number a redaction keeps.
type CardMask int

const (
	// MaskBrandLast4 writes "[card:visa:4242]" (the default).
	MaskBrandLast4 CardMask = iota
	// MaskFirst6Last4 writes "[card:visa:424242…4242]", the most PCI DSS 3.4.1 allows.
	MaskFirst6Last4
)

// ParseCardMask reads "brand_last4" or "first6_last4".
func ParseCardMask(s string) (CardMask, error) {
	switch strings.ToLower(s) {
	case "", "brand_last4":
		return MaskBrandLast4, nil
	case "first6_last4":
		return MaskFirst6Last4, nil
	}
	return 0, fmt.Errorf("card mask %q is not brand_last4 or first6_last4", s)
}

// Options configure a Scrubber.
type Options struct {
	// CardMask is how card numbers are redacted.
	CardMask CardMask
	// ExtraKeys are sensitive key names added to DefaultKeys.
	ExtraKeys []KeyRule
}

// Scrubber finds and redacts sensitive data. It is safe for concurrent use.
type Scrubber struct {
	mask CardMask
	keys *keyTable
	// work, when set (tests only), counts the bytes the detectors examine, so a test can
	// hold the work to a small multiple of the input's size without timing anything.
	work *atomic.Int64
}

// countWork adds n examined bytes to the work counter, when there is one.
func (s *Scrubber) countWork(n int) {
	if s.work != nil {
		s.work.Add(int64(n))
	}
}

// New returns a Scrubber with DefaultKeys plus o.ExtraKeys.
func New(o Options) *Scrubber {
	rules := append(append([]KeyRule(nil), DefaultKeys...), o.ExtraKeys...)
	return &Scrubber{mask: o.CardMask, keys: newKeyTable(rules)}
}

// std is the default Scrubber behind the package-level functions. It is built once and
// never changed.
var std = New(Options{})

// Default returns the Scrubber with default options.
func Default() *Scrubber { return std }

// KeyKind reports whether a key name (JSON key, form field, query parameter, header name) is
// sensitive, and of which kind.
func (s *Scrubber) KeyKind(name string) (Kind, bool) {
	var buf [64]byte
	if len(name) > 256 {
		return "", false
	}
	return s.keys.lookup(normKey(buf[:0], []byte(name)))
}
