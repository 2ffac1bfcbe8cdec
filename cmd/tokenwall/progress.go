package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

const (
	// progressInterval is the shortest time between two redraws of the bar (at most 10 a second).
	progressInterval = 100 * time.Millisecond
	// progressWidth is the number of cells of the bar itself.
	progressWidth = 30
	// clearLine returns to the start of the line and erases it.
	clearLine = "\r\x1b[K"
)

// progress draws "[#####     ] 12.0 MiB / 40.0 MiB  30%" on one terminal line, redrawn in
// place. When its writer is not a terminal it writes nothing at all, so that redirected
// output holds no control characters. It is used from one goroutine.
type progress struct {
	w io.Writer
	// on: w is a terminal.
	on    bool
	total int64
	done  int64
	now   func() time.Time
	last  time.Time // when the bar was last drawn; zero before the first time
	drawn bool      // the bar is on the screen now
	// records: the bar counts records, not bytes.
	records bool
	// beforeDraw runs just before the bar is drawn, with the line already erased: output
	// held back meanwhile (findings on stdout) is written there, above the bar.
	beforeDraw func()
}

// newProgress returns a bar for total bytes on w, drawn only when terminal is true.
func newProgress(w io.Writer, terminal bool, total int64, now func() time.Time) *progress {
	return &progress{w: w, on: terminal, total: total, now: now}
}

// Add counts n more bytes done and redraws the bar if it was last drawn long enough ago.
func (p *progress) Add(n int64) {
	p.done += n
	if !p.on {
		return
	}
	t := p.now()
	if !p.last.IsZero() && t.Sub(p.last) < progressInterval {
		return
	}
	p.last = t
	p.Clear()
	if p.beforeDraw != nil {
		p.beforeDraw()
	}
	_, _ = io.WriteString(p.w, p.bar())
	p.drawn = true
}

// Clear erases the bar, if it is drawn, so that a message can be written on a clean line.
// The next Add draws it again.
func (p *progress) Clear() {
	if p.drawn {
		_, _ = io.WriteString(p.w, clearLine)
		p.drawn = false
	}
}

// bar is the text of the bar, with the sequence that erases the line before it.
func (p *progress) bar() string {
	pct := int64(100)
	if p.total > 0 {
		pct = min(100, p.done*100/p.total)
	}
	cells := int(pct) * progressWidth / 100
	done, total := humanBytes(p.done), humanBytes(p.total)
	if p.records {
		done, total = fmt.Sprintf("%d", p.done), fmt.Sprintf("%d records", p.total)
	}
	return fmt.Sprintf("%s[%s%s] %s / %s %3d%%", clearLine, strings.Repeat("#", cells),
		strings.Repeat(" ", progressWidth-cells), done, total, pct)
}

// humanBytes prints n in B, KiB, MiB, GiB or TiB, with one decimal above bytes.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n)
	for _, unit := range []string{"KiB", "MiB", "GiB"} {
		v /= 1024
		if v < 1024 {
			return fmt.Sprintf("%.1f %s", v, unit)
		}
	}
	return fmt.Sprintf("%.1f TiB", v/1024)
}

// isTerminal reports whether w is a character device, a terminal in practice (/dev/null is
// one too, where the bar does no harm).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// countingReader passes reads through and counts the bytes on a progress bar and in n.
type countingReader struct {
	r io.Reader
	p *progress
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.p.Add(int64(n))
	return n, err
}
