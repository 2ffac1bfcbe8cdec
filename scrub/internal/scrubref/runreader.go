package scrubref

import (
	"encoding/binary"
	"math/bits"
)

// runReader reads a run of digit groups joined by separators, a group at a time, into a
// fixed window (no allocation: this runs on every digit run of every log line). A scan keeps
// one for the whole text, so that a run of chained card numbers is read once.
type runReader struct {
	j     int                  // the next byte to read
	g     [maxGroups + 3]group // a window from the current group (digits)
	n     int                  // groups in g
	count int                  // groups read in all
	done  bool                 // the run has ended
	// at is where the groups in g begin when a card ended the last call one separator byte
	// before them (carry), else -1: a call of digits at at goes on with them.
	at int
}

// reset starts reading the run at i. The window is not cleared: only g[:n] is ever read.
func (r *runReader) reset(i int) {
	r.j, r.n, r.count, r.done = i, 0, 0, false
}

// carry keeps the groups after the card number that ended at group b (ending at end), so
// that the next call of digits, which the scan makes at the next group, does not read them
// again. The reader's state is then what a fresh reader starting at that group would have
// after reading them. Only a one-byte separator (" ", "-" or "+") is carried over: there the
// scan's next stop is that group, whereas the digits of a "%20" are a run of their own.
func (r *runReader) carry(b, end int) {
	if r.g[b].end != end {
		return // the finding grew into track data
	}
	next := r.j
	if b+1 < r.n {
		next = r.g[b+1].start
	} else if r.done {
		return
	}
	if next != end+1 {
		return
	}
	for k := b + 1; k < r.n; k++ {
		r.g[k-b-1] = r.g[k] // one group, most often: no call to copy
	}
	r.n -= b + 1
	r.count = r.n
	r.at = next
}

// fill reads groups of src until n of them are in the window or the run ends.
//
// It reads eight bytes at a time: the non-digit bytes of a word are where its groups end,
// and most are one-byte separators with a digit after them, which go on to the next group
// in the same word. A group's end does not wait for the load at its start, so the groups of
// a run of chained card numbers are found in parallel, not one after the other.
func (r *runReader) fill(src []byte, n int) {
	j, k, done := r.j, r.n, r.done
	for !done && k < n {
		gs, e, w := j, -1, j // the group's start and end (-1: not found yet), the word
	words:
		for ; w+8 <= len(src); w += 8 {
			for nd := ^between(binary.LittleEndian.Uint64(src[w:]), 0x2F, 0x3A) & highs; nd != 0; nd &= nd - 1 {
				p := w + bits.TrailingZeros64(nd)>>3
				if k+1 >= n || !sepByte[src[p]] || p+1 >= len(src) || !isDigit(src[p+1]) {
					e = p // the last group wanted, or not joined by one byte: see below
					break words
				}
				r.g[k] = group{gs, p}
				k, gs = k+1, p+1
			}
		}
		if e < 0 {
			// The run goes on into the last bytes of src, after gs (digits up to w).
			for e = w; e < len(src) && isDigit(src[e]); e++ {
			}
		}
		r.g[k] = group{gs, e}
		k, j = k+1, e
		if l := 0; e < len(src) {
			l = separatorAt(src, e)
			if done = l == 0 || e+l >= len(src) || !isDigit(src[e+l]); !done {
				j += l
			}
		} else {
			done = true
		}
	}
	r.count += k - r.n
	r.j, r.n, r.done = j, k, done
}

// sepByte marks the one-byte digit-group separators (separatorAt).
var sepByte = [256]bool{' ': true, '-': true, '+': true}

// end reads the rest of the run, keeping no group, and returns where it ends: after its
// last digit, where fill stops at the end of a run.
func (r *runReader) end(src []byte) int {
	for !r.done {
		r.n = 0
		r.fill(src, 1)
	}
	return r.j
}
