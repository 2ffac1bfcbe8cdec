package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tokenwall/tokenwall/scrub"
)

// scrubCmd is tokenwall scrub.
type scrubCmd struct {
	CardMask string   `default:"brand_last4" placeholder:"MASK" help:"What a redacted card number keeps: brand_last4 or first6_last4."`
	Files    []string `arg:"" optional:"" name:"file" help:"Files to scrub, in order; - or none: stdin."`

	mask scrub.CardMask // CardMask, parsed
}

// Help is the long help (kong.HelpProvider).
func (c *scrubCmd) Help() string {
	return `Writes the files, in order, to stdout with card numbers, CVCs, SSNs, IBANs, secrets and
other sensitive values redacted. With no FILE, or FILE "-", reads stdin. Files ending in .gz
(and gzip data on stdin) are decompressed. A file that cannot be read is named on stderr and
the others are still written; the exit code is then 2.`
}

// Validate checks --card-mask before anything is read.
func (c *scrubCmd) Validate() error {
	mask, err := scrub.ParseCardMask(c.CardMask)
	if err != nil {
		return fmt.Errorf("--card-mask: %w", err)
	}
	c.mask = mask
	return nil
}

func (c *scrubCmd) run(e cmdEnv) int {
	sc := scrub.New(scrub.Options{CardMask: c.mask})
	names := c.Files
	if len(names) == 0 {
		names = []string{"-"}
	}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	code := 0
	for _, name := range names {
		if err := e.ctx.Err(); err != nil {
			fmt.Fprintf(e.stderr, "tokenwall: scrub: stopped before %s: %v\n", name, err)
			return 2
		}
		err := scrubOne(e.ctx, sc, name, e.stdin, out)
		// Flushed after every file, so a failing stdout stops the run at once.
		if ferr := out.Flush(); ferr != nil {
			fmt.Fprintf(e.stderr, "tokenwall: scrub: write: %v\n", ferr)
			return 2
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "tokenwall: scrub: %v\n", err)
			code = 2
		}
	}
	return code
}

// scrubOne copies one file ("-": stdin) to out, scrubbed. Errors name the file.
func scrubOne(ctx context.Context, sc *scrub.Scrubber, name string, stdin io.Reader, out *bufio.Writer) (err error) {
	var (
		r   io.Reader
		dst io.Writer = out
	)
	gz := isGzipName(name)
	if name == "-" {
		name = "stdin"
		// Each line is passed on at once, so that "tail -f app.log | tokenwall scrub" follows.
		dst = lineFlusher{out}
		br := bufio.NewReader(stdin)
		head, _ := br.Peek(2)
		gz = bytes.Equal(head, []byte{0x1f, 0x8b})
		r = br
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err // *PathError: "open NAME: …"
		}
		defer func() {
			if cerr := f.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("%s: %w", name, cerr)
			}
		}()
		r = f
	}
	r = ctxReader{ctx: ctx, r: r}
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return fmt.Errorf("%s: gunzip: %w", name, err)
		}
		defer zr.Close()
		r = zr
	}
	if _, err := sc.Copy(dst, r); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// isGzipName reports whether a file name ends in ".gz" (in any case).
func isGzipName(name string) bool { return strings.EqualFold(filepath.Ext(name), ".gz") }

// lineFlusher flushes after every write: Copy writes whole lines.
type lineFlusher struct{ w *bufio.Writer }

func (l lineFlusher) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if err == nil {
		err = l.w.Flush()
	}
	return n, err
}

// ctxReader fails reads once ctx is done, so that an interrupt stops a long file.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
