package scrubref

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// streamSizes are the buffer sizes of ScanReader; tests shrink them to reach every boundary.
// chunk must be at least twice overlap, so that every buffer decides something.
type streamSizes struct {
	// chunk is how much is read at a time.
	chunk int
	// overlap is how far before the end of a buffer findings stop being decided: a finding
	// that starts later is decided with the next buffer, which holds all of its line. A line
	// shorter than overlap is never split between two buffers.
	overlap int
	// context is how much is carried before the point where the next buffer's findings
	// start, for detectors that look back (key names, "routing" before a number).
	context int
}

var defaultStreamSizes = streamSizes{chunk: 256 << 10, overlap: 8 << 10, context: 256}

const (
	// maxCopyLine is the longest line Copy scrubs whole; a longer one is cut.
	maxCopyLine = 1 << 20
	// copyKeepBack is how much of an over-long line Copy holds back at a cut: more than the
	// longest grouped card number, which may still be arriving.
	copyKeepBack = 64
)

// Cut ranks: how good a place just after a byte is to split a stream.
const (
	// cutNone: the byte can be part of a card number (a digit or a group separator).
	cutNone = iota
	// cutCard: no card number runs across the byte, but an IBAN, a token or a key and its
	// value may (a letter, "_", ".", "/", ":", "=", a quote…).
	cutCard
	// cutWord: a byte that is in no IBAN, token or card number and does not join a key to
	// its value ("(", "<", "|", a byte above 0x7f…).
	cutWord
	// cutValue: a control byte or one that ends an unquoted value ("," ";" "&" "}" "]").
	cutValue
	// cutLine: a newline, which ends every finding.
	cutLine
)

// cutRank says how good a place just after c is to split a stream.
func cutRank(c byte) int {
	switch {
	case c == '\n':
		return cutLine
	case c < 0x20 || c == 0x7f || c == ',' || c == ';' || c == '&' || c == '}' || c == ']':
		return cutValue
	case c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '+' || c == '%':
		return cutNone
	case isAlnum(c) || strings.IndexByte("._~/=:\"'\\", c) >= 0:
		return cutCard
	}
	return cutWord
}

// cutPoint returns where to split b in (lo, hi]: just after the last newline there, else
// just after the last byte of the best rank that is there, else hi. floor is the lowest rank
// worth taking: below it, hi is returned.
func cutPoint(b []byte, lo, hi, floor int) int {
	var at [cutLine + 1]int
	for i := hi; i > lo; i-- {
		r := cutRank(b[i-1])
		if r == cutLine {
			return i
		}
		if at[r] == 0 {
			at[r] = i
		}
	}
	for r := cutValue; r >= max(floor, cutCard); r-- {
		if at[r] != 0 {
			return at[r]
		}
	}
	return hi
}

// ScanReader reads r to its end and calls fn with each finding and its byte offset in the
// stream, in order. It holds at most a few hundred KiB, whatever the size of r, and is
// binary-safe: any byte may appear, NUL included.
//
// r is read in chunks of 256 KiB, and the end of each chunk is carried into the next, so
// that a finding across a chunk boundary is reported once, at its offset. Findings are
// decided on whole lines when lines are shorter than 8 KiB; a longer line, or data without
// newlines, is split only after a byte that no card number can hold (a NUL, a letter…), so
// card numbers are found exactly as in one call to Find (unless 8 KiB hold nothing but digits
// and separators). A key-value pair or token longer than 8 KiB across such a split may be
// reported shorter than it is.
//
// In the Finding passed to fn, Start is 0 and End the finding's length: the stream may be
// longer than an int can index. An error from fn stops the scan and is returned as is; a read
// error is returned wrapped.
func (s *Scrubber) ScanReader(r io.Reader, fn func(offset int64, f Finding) error) error {
	return s.scanReader(r, fn, defaultStreamSizes)
}

func (s *Scrubber) scanReader(r io.Reader, fn func(offset int64, f Finding) error, z streamSizes) error {
	buf := make([]byte, 0, z.chunk+2*z.overlap+z.context)
	var (
		base int64 // offset of buf[0] in the stream
		// from is where the findings of this buffer start: the ones before it were decided
		// with the previous buffer.
		from int64
		// reported is the end of the last finding reported; nothing before it is reported again.
		reported int64
		found    []Finding
	)
	for {
		n, err := io.ReadFull(r, buf[len(buf):len(buf)+z.chunk])
		buf = buf[:len(buf)+n]
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return fmt.Errorf("scrub: read: %w", err)
		}
		// Findings starting before commit are decided now; commit is a line start when the
		// last overlap bytes before hi hold one.
		commit := len(buf)
		if !eof {
			hi := len(buf) - z.overlap
			commit = cutPoint(buf, max(int(from-base), hi-z.overlap), hi, cutCard)
		}
		found = s.appendFindings(found[:0], nil, buf)
		for _, f := range found {
			start := base + int64(f.Start)
			if f.Start >= commit {
				break
			}
			if start < from || start < reported {
				continue
			}
			reported = base + int64(f.End)
			f.Start, f.End = 0, f.End-f.Start
			if err := fn(start, f); err != nil {
				return err
			}
		}
		if eof {
			return nil
		}
		from = base + int64(commit)
		keep := max(0, commit-z.context)
		base += int64(keep)
		buf = buf[:copy(buf, buf[keep:])]
	}
}

// Copy copies src to dst line by line, scrubbed, and returns the number of bytes written.
// Lines up to 1 MiB are scrubbed whole. A longer line is cut, and each part scrubbed on its
// own: after a control byte or one that ends a value ("," ";" "&" "}" "]") when there is one,
// else after one that ends a word ("(", "|"…), else after any byte that cannot be part of a
// card number, so that no card number is cut in two. A value across such a cut may be
// redacted only up to the cut. (A megabyte of nothing but digits and separators is cut where
// it must be.)
//
// A last line without a newline is scrubbed and written too. When reading fails, the partial
// line read so far is dropped, not written: it may end in half a card number.
func (s *Scrubber) Copy(dst io.Writer, src io.Reader) (int64, error) {
	return s.copyLines(dst, src, maxCopyLine)
}

func (s *Scrubber) copyLines(dst io.Writer, src io.Reader, maxLine int) (int64, error) {
	br := bufio.NewReaderSize(src, min(64<<10, max(16, maxLine)))
	var (
		line, out []byte
		written   int64
	)
	emit := func(b []byte) error {
		out = s.AppendText(out[:0], b)
		n, err := dst.Write(out)
		written += int64(n)
		if err != nil {
			return fmt.Errorf("scrub: write: %w", err)
		}
		return nil
	}
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		switch {
		case err == nil:
			if err := emit(line); err != nil {
				return written, err
			}
			line = line[:0]
		case errors.Is(err, bufio.ErrBufferFull):
			for len(line) > maxLine {
				// Prefer the last byte that ends a value, however early; else the last that
				// ends a word; else the last card-safe byte; else (a megabyte of digits and
				// separators) a hard cut.
				cut := cutPoint(line, 0, len(line)-copyKeepBack, cutCard)
				if err := emit(line[:cut]); err != nil {
					return written, err
				}
				line = line[:copy(line, line[cut:])]
			}
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				if err := emit(line); err != nil {
					return written, err
				}
			}
			return written, nil
		default:
			return written, fmt.Errorf("scrub: read: %w", err)
		}
	}
}
