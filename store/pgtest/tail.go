package pgtest

import (
	"io"
	"sync"
)

// tailSize is how much recent output is kept for error messages.
const tailSize = 4 << 10

// tailWriter passes output on to dst and keeps its last few KiB for error messages. Write
// errors from dst are dropped: refusing the server's output would block it on a full pipe.
type tailWriter struct {
	mu   sync.Mutex
	dst  io.Writer
	tail []byte
}

func newTailWriter(dst io.Writer) *tailWriter { return &tailWriter{dst: dst} }

// Write passes p on and remembers it.
func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.dst.Write(p)
	w.tail = append(w.tail, p...)
	if len(w.tail) > tailSize {
		w.tail = append(w.tail[:0], w.tail[len(w.tail)-tailSize:]...)
	}
	return len(p), nil
}

// Tail returns the most recent output.
func (w *tailWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.tail)
}
