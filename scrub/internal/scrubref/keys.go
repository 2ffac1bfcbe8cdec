package scrubref

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// KeyRule marks a key name (a JSON key, form field, query parameter or header name) whose
// value is sensitive. Names are compared normalised: lower case, with "_", "-", "." and
// spaces removed, so "card_cvc", "cardCvc" and "Card-CVC" are one name. With Suffix, any
// key ending in Name matches too ("card_cvc" ends in "cvc").
type KeyRule struct {
	Name   string
	Kind   Kind
	Suffix bool
}

// DefaultKeys is the list of sensitive key names. Config adds to it (scrub.extra_keys).
var DefaultKeys = []KeyRule{
	// Card data other than the number, which is found by its shape wherever it is.
	{Name: "cvc", Kind: KindCVC, Suffix: true},
	{Name: "cvc2", Kind: KindCVC, Suffix: true},
	{Name: "cvv", Kind: KindCVC, Suffix: true},
	{Name: "cvv2", Kind: KindCVC, Suffix: true},
	{Name: "cid", Kind: KindCVC},
	{Name: "csc", Kind: KindCVC, Suffix: true},
	{Name: "securitycode", Kind: KindCVC, Suffix: true},
	{Name: "cardverificationcode", Kind: KindCVC, Suffix: true},
	{Name: "cardnumber", Kind: KindCard, Suffix: true},
	{Name: "ccnumber", Kind: KindCard, Suffix: true},
	{Name: "pan", Kind: KindCard},
	{Name: "primaryaccountnumber", Kind: KindCard, Suffix: true},
	{Name: "expmonth", Kind: KindExpiry, Suffix: true},
	{Name: "expyear", Kind: KindExpiry, Suffix: true},
	{Name: "cardexp", Kind: KindExpiry, Suffix: true},
	{Name: "ccexp", Kind: KindExpiry, Suffix: true},
	{Name: "cardexpiry", Kind: KindExpiry, Suffix: true},
	{Name: "cardexpiration", Kind: KindExpiry, Suffix: true},
	{Name: "expirydate", Kind: KindExpiry, Suffix: true},
	{Name: "expirationdate", Kind: KindExpiry, Suffix: true},
	{Name: "pin", Kind: KindPIN},
	{Name: "cardpin", Kind: KindPIN, Suffix: true},
	{Name: "pinblock", Kind: KindPIN, Suffix: true},
	{Name: "pinnumber", Kind: KindPIN, Suffix: true},
	{Name: "track", Kind: KindTrack},
	{Name: "track1", Kind: KindTrack, Suffix: true},
	{Name: "track2", Kind: KindTrack, Suffix: true},
	{Name: "trackdata", Kind: KindTrack, Suffix: true},
	{Name: "magstripe", Kind: KindTrack, Suffix: true},
	// Identity and bank data.
	{Name: "ssn", Kind: KindSSN, Suffix: true},
	{Name: "socialsecuritynumber", Kind: KindSSN, Suffix: true},
	{Name: "iban", Kind: KindIBAN, Suffix: true},
	{Name: "accountnumber", Kind: KindAccount, Suffix: true},
	{Name: "accountno", Kind: KindAccount, Suffix: true},
	{Name: "acctnumber", Kind: KindAccount, Suffix: true},
	{Name: "bankaccount", Kind: KindAccount, Suffix: true},
	{Name: "routingnumber", Kind: KindRouting, Suffix: true},
	{Name: "routing", Kind: KindRouting},
	{Name: "aba", Kind: KindRouting},
	{Name: "abanumber", Kind: KindRouting, Suffix: true},
	{Name: "sortcode", Kind: KindRouting, Suffix: true},
	// Credentials.
	{Name: "password", Kind: KindPassword, Suffix: true},
	{Name: "passwd", Kind: KindPassword, Suffix: true},
	{Name: "pwd", Kind: KindPassword},
	{Name: "passphrase", Kind: KindPassword, Suffix: true},
	{Name: "secret", Kind: KindSecret, Suffix: true},
	{Name: "secretkey", Kind: KindSecret, Suffix: true},
	{Name: "secretid", Kind: KindSecret, Suffix: true},
	{Name: "privatekey", Kind: KindSecret, Suffix: true},
	{Name: "signingkey", Kind: KindSecret, Suffix: true},
	{Name: "apikey", Kind: KindAPIKey, Suffix: true},
	{Name: "accesskey", Kind: KindAPIKey, Suffix: true},
	{Name: "token", Kind: KindToken, Suffix: true},
	{Name: "authorization", Kind: KindAuthorization, Suffix: true},
	{Name: "auth", Kind: KindAuthorization},
	{Name: "cookie", Kind: KindCookie, Suffix: true},
}

// normKey appends the normalised form of key to dst: ASCII letters lower-cased, digits
// kept, everything else dropped.
func normKey(dst []byte, key []byte) []byte {
	for _, c := range key {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			dst = append(dst, c)
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+'a'-'A')
		}
	}
	return dst
}

// keyTable looks normalised key names up: exact names in a map, suffix rules by the
// suffix lengths in use. Two 64 Ki-bit filters on the key's last bytes reject almost every
// harmless key ("level", "time", "request_id") before any map lookup.
type keyTable struct {
	exact      map[string]Kind
	suffix     map[string]Kind
	suffixLens []int
	// filter3 holds the last three bytes of three-byte names, filter4 the last four bytes of
	// longer ones: a key passes when either holds its own tail.
	filter3 [1 << 16 / 64]uint64
	filter4 [1 << 16 / 64]uint64
}

// tailHash hashes the last n (3 or 4) bytes of k, packed with a length mark, into 16 bits
// with one multiplication.
func tailHash(k []byte, n int) uint32 {
	var t uint32
	for _, c := range k[max(0, len(k)-n):] {
		t = t<<8 | uint32(c)
	}
	return packedHash(t, len(k) >= n)
}

func packedHash(t uint32, full bool) uint32 {
	if full {
		t ^= 0x5bd1e995
	}
	return (t * 0x9E3779B1) >> 16
}

func set(f *[1 << 16 / 64]uint64, h uint32)      { f[h/64] |= 1 << (h % 64) }
func has(f *[1 << 16 / 64]uint64, h uint32) bool { return f[h/64]&(1<<(h%64)) != 0 }

func (t *keyTable) mark(k []byte) {
	if len(k) <= 3 {
		set(&t.filter3, tailHash(k, 3))
		return
	}
	set(&t.filter4, tailHash(k, 4))
}

// pass is the filter test of a normalised key (or its normalised tail).
func (t *keyTable) pass(k []byte) bool {
	return has(&t.filter3, tailHash(k, 3)) || has(&t.filter4, tailHash(k, 4))
}

func newKeyTable(rules []KeyRule) *keyTable {
	t := &keyTable{exact: map[string]Kind{}, suffix: map[string]Kind{}}
	lens := map[int]bool{}
	for _, r := range rules {
		n := string(normKey(nil, []byte(r.Name)))
		if n == "" {
			continue
		}
		t.exact[n] = r.Kind
		t.mark([]byte(n))
		if r.Suffix {
			t.suffix[n] = r.Kind
			lens[len(n)] = true
		}
	}
	for l := range lens {
		t.suffixLens = append(t.suffixLens, l)
	}
	// Longest suffix first: the most specific rule wins (primary_account_number is a card,
	// not an account number), whatever order the map gives.
	slices.Sort(t.suffixLens)
	slices.Reverse(t.suffixLens)
	return t
}

// lookup returns the kind of a normalised key name.
func (t *keyTable) lookup(k []byte) (Kind, bool) {
	if len(k) == 0 {
		return "", false
	}
	if !t.pass(k) {
		return "", false
	}
	if kind, ok := t.exact[string(k)]; ok {
		return kind, true
	}
	for _, l := range t.suffixLens {
		if l < len(k) {
			if kind, ok := t.suffix[string(k[len(k)-l:])]; ok {
				return kind, true
			}
		}
	}
	return "", false
}

// keyTail classifies the bytes of a key for keyTailSlow: 0 ends the key, keySkip is dropped
// by normalisation ("_", "-", ".", " "), anything else is the byte lower-cased.
const keySkip = 1

var keyTail = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			t[c] = uint8(c)
		case c >= 'A' && c <= 'Z':
			t[c] = uint8(c + 'a' - 'A')
		case c == '_' || c == '-' || c == '.' || c == ' ':
			t[c] = keySkip
		}
	}
	return t
}()

// mayMatch is the cheap first test of the key before the ":" or "=" at i: the last four
// normalised bytes of the key against the filter, read straight from src. It has no false
// negatives; keyValue does the full lookup.
func (t *keyTable) mayMatch(src []byte, lo, i int) bool {
	k := i
	for k > lo {
		if c := src[k-1]; c != '"' && c != ' ' && c != '\'' {
			break
		}
		k--
	}
	// The tail, packed: t4 holds the last four normalised bytes (the last in the low byte),
	// got how many there were. The common cases are read from the eight bytes before k at
	// once: four letters or digits, or five with one "_", "-", "." or " " among them ("t_id"
	// of "request_id").
	var t4 uint32
	got := 0
	if k-8 >= lo {
		// Byte 0 of r is src[k-1], byte 1 src[k-2], and so on.
		r := bits.ReverseBytes64(binary.LittleEndian.Uint64(src[k-8:]))
		alnum := between(r, 0x2F, 0x3A) | between(r|ones*0x20, 0x60, 0x7B)
		// Letters have bit 6 set, digits not: set bit 5 of letters to lower-case them.
		lower := r | (r&(ones*0x40))>>1
		const four, five = 0x80808080, 0x8080808080
		if alnum&four == four {
			t4, got = uint32(lower), 4
		} else if skip := between(r, 0x2C, 0x2F) | exactZeroBytes(r^(ones*'_')) | exactZeroBytes(r^(ones*' ')); (alnum|skip)&five == five && bits.OnesCount64(skip&five) == 1 {
			// Drop the one skipped byte (0 to 3; at 4 the first case held).
			below := uint64(1)<<(bits.TrailingZeros64(skip)&^7) - 1
			t4, got = uint32(lower&below|lower>>8&^below), 4
		}
	}
	if got == 0 {
		t4, got = keyTailSlow(src, lo, k)
		if got == 0 {
			return false
		}
	}
	return has(&t.filter3, packedHash(t4&0xFFFFFF, got >= 3)) || has(&t.filter4, packedHash(t4, got >= 4))
}

// pass4 is the filter test of a tail of four normalised bytes, the last in the low byte.
func (t *keyTable) pass4(t4 uint32) bool {
	return has(&t.filter3, packedHash(t4&0xFFFFFF, true)) || has(&t.filter4, packedHash(t4, true))
}

// exactZeroBytes marks the zero bytes of t, and only those.
func exactZeroBytes(t uint64) uint64 {
	return ^((t&^highs + ones*0x7F) | t) & highs
}

// keyTailSlow reads the tail of a key ending at k byte by byte, for every case.
func keyTailSlow(src []byte, lo, k int) (t4 uint32, got int) {
	for p := k - 1; p >= lo && got < 4 && k-p <= maxKeyLen; p-- {
		c := keyTail[src[p]]
		if c <= keySkip {
			if c == 0 {
				break // not a key byte: the key ends here
			}
			continue
		}
		t4 |= uint32(c) << (8 * got)
		got++
	}
	return t4, got
}
