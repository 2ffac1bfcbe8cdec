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

// pairStarts marks exactly the bytes where prefixStart holds, wherever the pair falls in a
// word, the last byte's pair reaching into the next word.
func TestPairStartsIsPrefixStart(t *testing.T) {
	for c := 0; c < 256; c++ {
		for d := 0; d < 256; d++ {
			for at := 0; at < 8; at++ {
				line := bytes.Repeat([]byte{'x'}, 16)
				line[at], line[at+1] = byte(c), byte(d)
				var want uint64
				for p := range 8 {
					if prefixStart(line, p) {
						want |= 0x80 << (8 * p)
					}
				}
				f0 := flagsOf(line[:8])
				if got := pairStarts(f0, f0>>8|uint64(byteFlags[line[8]])<<56); got != want {
					t.Fatalf("pairStarts(%q) = %#x, want %#x", line, got, want)
				}
			}
		}
	}
}

// shortRuns drops only digit runs that nextStop's rule passes over (fewer than eight digits,
// no separator and digit after them, not after two capitals), and each of them whole.
func TestShortRunsDropsOnlyNothing(t *testing.T) {
	alphabet := []byte("0123456789012345 -+%20AZaz:_.\"")
	r := rand.New(rand.NewPCG(7, 8))
	dropped, kept := 0, 0
	for range 300_000 {
		line := make([]byte, 24)
		for i := range line {
			line[i] = alphabet[r.IntN(len(alphabet))]
		}
		const w = 8 // with 16 bytes from w on, as nextStop calls it
		f0 := flagsOf(line[w : w+8])
		d := f0 << 1 & highs
		got := shortRuns(d, f0<<8|flagsAt(line, w-1), f0, f0>>8|uint64(byteFlags[line[w+8]])<<56)
		if got&^d != 0 {
			t.Fatalf("shortRuns(%q) drops non-digits: %#x of %#x", line, got, d)
		}
		// Each run as nextStop meets it: from its first digit in the word on.
		for s := w; s < w+8; s++ {
			if !isDigit(line[s]) || s > w && isDigit(line[s-1]) {
				continue
			}
			e := s
			for e < len(line) && isDigit(line[e]) {
				e++
			}
			inWord := d & (1<<(8*(min(e, w+8)-w)) - 1) &^ (1<<(8*(s-w)) - 1)
			switch got & inWord {
			case 0:
				kept++
			case inWord:
				dropped++
				if e-s >= 8 || s >= 2 && isUpper(line[s-1]) && isUpper(line[s-2]) || e < len(line) && joinsDigits(line, e) {
					t.Fatalf("shortRuns(%q) drops the run at %d, which the rule looks at", line, s)
				}
			default:
				t.Fatalf("shortRuns(%q) drops part of the run at %d: %#x of %#x", line, s, got&inWord, inWord)
			}
		}
	}
	if dropped < 10_000 || kept < 10_000 {
		t.Fatalf("dropped %d runs, kept %d: the inputs do not exercise both", dropped, kept)
	}
}
