package scrub

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// The main loop tests eight bytes at a time with bit tricks; these tests hold each trick to
// the byte-by-byte rule it stands for.

// Every two bytes that begin a prefixed secret stop nextStop, wherever they fall in a word.
func TestNextStopFindsEveryPrefixStart(t *testing.T) {
	keys := newKeyTable(DefaultKeys)
	for c := 0; c < 256; c++ {
		for d := 0; d < 256; d++ {
			for at := 0; at < 18; at++ {
				line := bytes.Repeat([]byte{'x'}, 20)
				line[at], line[at+1] = byte(c), byte(d)
				want := len(line)
				if prefixStart(line, at) {
					want = at
				} else if classes[c] != 0 || classes[d] != 0 {
					continue // a digit or separator stops it for its own reasons
				}
				if got := keys.nextStop(line, 0, 0, true); got != want {
					t.Fatalf("nextStop(%q) = %d, want %d", line, got, want)
				}
				x, y := words8(line, at&^7)
				if want == at && prefixStarts(x, y)>>(8*(at%8))&0x80 == 0 {
					t.Fatalf("prefixStarts misses %q at %d", line[at:at+2], at)
				}
			}
		}
	}
}

// routingKeyIn is bytes.Contains(bytes.ToLower(ctx), key) without the allocation.
func TestRoutingKeyInMatchesToLower(t *testing.T) {
	pieces := []string{"routing", "ROUTING", "Rout", "ing", "rout\u0130ng", "ROUT\u0130NG", "\u0130", "\xc4", "\xb0",
		"aba", "ABA", "a", "b", "rtn", "RTN", "r", "t", "n", " ", ":", "=", "\u212a", "\xff", "é", "日本", "number", "0"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		var ctx []byte
		for len(ctx) < 40 && r.IntN(8) != 0 {
			ctx = append(ctx, pieces[r.IntN(len(pieces))]...)
		}
		ctx = ctx[max(0, len(ctx)-40):] // the 40-byte window may cut a rune in two
		lower := bytes.ToLower(ctx)
		want := bytes.Contains(lower, []byte("routing")) || bytes.Contains(lower, []byte("aba")) || bytes.Contains(lower, []byte("rtn"))
		if got := routingKeyIn(ctx); got != want {
			t.Fatalf("routingKeyIn(%q) = %v, want %v", ctx, got, want)
		}
	}
}

// mayMatch reads the common key tails eight bytes at a time; keyTailSlow reads every tail
// byte by byte. Both must give the filter the same tail.
func TestMayMatchMatchesByteByByte(t *testing.T) {
	keys := newKeyTable(DefaultKeys)
	alphabet := []byte("aZ09cvCVnumberPIN_-. \"'/:x\xc3")
	r := rand.New(rand.NewPCG(3, 4))
	for range 500_000 {
		src := make([]byte, 1+r.IntN(14))
		for i := range src {
			src[i] = alphabet[r.IntN(len(alphabet))]
		}
		src = append(src, ':')
		i := len(src) - 1
		for lo := 0; lo < i; lo++ {
			k := i
			for k > lo && (src[k-1] == '"' || src[k-1] == ' ' || src[k-1] == '\'') {
				k--
			}
			t4, got := keyTailSlow(src, lo, k)
			want := got > 0 && (has(&keys.filter3, packedHash(t4&0xFFFFFF, got >= 3)) || has(&keys.filter4, packedHash(t4, got >= 4)))
			if keys.mayMatch(src, lo, i) != want {
				t.Fatalf("mayMatch(%q, lo %d) = %v, want %v", src, lo, !want, want)
			}
		}
	}
}
