package devstack

import (
	"bytes"
	"io"
	"sync"

	"github.com/tokenwall/tokenwall/scrub"
)

const (
	// maxPending bounds a partial line kept while waiting for its newline.
	maxPending = 64 << 10
	// keepBack is how much of an over-long line is held back at a cut, more than the longest
	// grouped card number (19 digits and 4 separators).
	keepBack = 64
	// tailSize is how much recent output is kept for error messages.
	tailSize = 4 << 10
)

// childLog is the writer under a child's stdout and stderr. It scrubs whole lines, so that a
// card number split across two reads of the pipe is still found, and keeps the last few KiB
// for the error message when the child fails to start. Write errors from dst are dropped:
// refusing the child's output would block it on a full pipe.
type childLog struct {
	mu sync.Mutex
	// redact, when set, rewrites each complete line before it is scrubbed.
	redact  func(line []byte) []byte
	dst     io.Writer
	pending []byte
	tail    []byte
}

func newChildLog(dst io.Writer) *childLog { return &childLog{dst: dst} }

// Write buffers p and passes on every complete line, scrubbed.
func (l *childLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pending = append(l.pending, p...)
	if i := bytes.LastIndexByte(l.pending, '\n'); i >= 0 {
		l.emit(l.pending[:i+1])
		l.pending = append(l.pending[:0], l.pending[i+1:]...)
	}
	if len(l.pending) > maxPending {
		cut := safeCut(l.pending)
		l.emit(l.pending[:cut])
		l.pending = append(l.pending[:0], l.pending[cut:]...)
	}
	return len(p), nil
}

// Flush passes on a last line that has no newline; the child calls it once it has exited.
func (l *childLog) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.pending) > 0 {
		l.emit(l.pending)
		l.pending = l.pending[:0]
	}
}

// Tail returns the most recent output, already scrubbed.
func (l *childLog) Tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.tail)
}

func (l *childLog) emit(b []byte) {
	if l.redact != nil {
		var buf bytes.Buffer
		for len(b) > 0 {
			line := b
			if i := bytes.IndexByte(b, '\n'); i >= 0 {
				line = b[:i+1]
			}
			buf.Write(l.redact(line))
			b = b[len(line):]
		}
		b = buf.Bytes()
	}
	out := scrub.Text(b)
	_, _ = l.dst.Write(out)
	l.tail = append(l.tail, out...)
	if len(l.tail) > tailSize {
		l.tail = append(l.tail[:0], l.tail[len(l.tail)-tailSize:]...)
	}
}

// safeCut returns where to split an over-long line: just after the last byte, at least
// keepBack bytes from the end, that cannot be part of a card number, so that no number is cut
// in two. With no such byte it returns len(b).
func safeCut(b []byte) int {
	for i := len(b) - keepBack - 1; i >= 0; i-- {
		if c := b[i]; (c < '0' || c > '9') && c != ' ' && c != '-' {
			return i + 1
		}
	}
	return len(b)
}
