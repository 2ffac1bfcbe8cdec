package main

import (
	"bufio"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokenwall/tokenwall/scrub"
)

// scanDetail is the long help of tokenwall scan.
const scanDetail = `Reads every regular file under each PATH, byte for byte (database files too), and prints
where it holds card numbers or other sensitive data, one line each, sorted by path then
offset:

  PATH:OFFSET: KIND [BRAND ****LAST4]

With --json, one object a line: {"path","offset","kind","brand","last4","gunzipped"}, brand
and last4 only for card numbers and track data.

Files ending in .gz are decompressed; their offsets count in the decompressed data and the
path is followed by " (gunzipped)". Symbolic links are not followed and sockets, pipes and
devices are not read: each is named on stderr. A progress bar is drawn on stderr when it is
a terminal, and a summary line ends the run.

Exit code: 0 nothing found, 1 something found, 2 an error (a PATH or file that could not be
read), whatever was found.`

// scanCmd is tokenwall scan.
type scanCmd struct {
	JSON  bool     `name:"json" help:"Print JSON lines: {\"path\",\"offset\",\"kind\",\"brand\",\"last4\",\"gunzipped\"}."`
	Paths []string `arg:"" name:"path" help:"Files or folders to scan."`
}

// Help is the long help (kong.HelpProvider).
func (c *scanCmd) Help() string { return scanDetail }

func (c *scanCmd) run(e cmdEnv) int {
	return scanRun{paths: c.Paths, json: c.JSON, stdout: e.stdout, stderr: e.stderr,
		terminal: isTerminal(e.stderr), now: time.Now}.run(e.ctx)
}

// scanRun is one run of tokenwall scan.
type scanRun struct {
	paths  []string
	json   bool
	stdout io.Writer
	stderr io.Writer
	// terminal: stderr is a terminal, so the progress bar is drawn.
	terminal bool
	now      func() time.Time
}

// scanFinding is one finding as --json prints it. It never holds more of a card number
// than the brand and last four.
type scanFinding struct {
	Path      string      `json:"path"`
	Offset    int64       `json:"offset"`
	Kind      scrub.Kind  `json:"kind"`
	Brand     scrub.Brand `json:"brand,omitempty"`
	Last4     string      `json:"last4,omitempty"`
	Gunzipped bool        `json:"gunzipped"`
}

// scanFile is a regular file to scan.
type scanFile struct {
	path string
	size int64
}

// run scans and returns the exit code.
func (s scanRun) run(ctx context.Context) int {
	var (
		failed  bool
		scanned int
		read    int64
		found   int
	)
	files, ok := s.collect(ctx)
	failed = !ok
	var total int64
	for _, f := range files {
		total += f.size
	}

	out := bufio.NewWriterSize(s.stdout, 64<<10)
	bar := newProgress(s.stderr, s.terminal, total, s.now)
	// Findings wait in out while the bar is up; they are written above it at each redraw.
	bar.beforeDraw = func() { _ = out.Flush() }
	sc := scrub.Default()
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			bar.Clear()
			fmt.Fprintf(s.stderr, "tokenwall: scan: stopped before %s: %v\n", f.path, err)
			failed = true
			break
		}
		n, bytesRead, err := s.scanOne(ctx, sc, f.path, out, bar)
		found += n
		read += bytesRead
		if err != nil {
			bar.Clear()
			fmt.Fprintf(s.stderr, "tokenwall: scan: %v\n", err)
			failed = true
			continue
		}
		scanned++
	}
	bar.Clear()
	if err := out.Flush(); err != nil {
		fmt.Fprintf(s.stderr, "tokenwall: scan: write: %v\n", err)
		failed = true
	}
	fmt.Fprintf(s.stderr, "scanned %d files, %d bytes: %d findings\n", scanned, read, found)
	switch {
	case failed:
		return 2
	case found > 0:
		return 1
	}
	return 0
}

// collect walks the paths and returns the regular files under them, sorted by path. It
// reports on stderr every path it cannot read (ok is then false) and every one it will not
// read: symbolic links, which are not followed, and sockets, pipes and devices, which hold
// no stored data and could block the scan or never end.
func (s scanRun) collect(ctx context.Context) (files []scanFile, ok bool) {
	ok = true
	seen := map[string]bool{}
	for _, root := range s.paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if cerr := ctx.Err(); cerr != nil {
				return cerr
			}
			if err != nil {
				// Lstat of a PATH failed, or a folder could not be listed: say so and go on.
				fmt.Fprintf(s.stderr, "tokenwall: scan: %v\n", err)
				ok = false
				return nil
			}
			switch t := d.Type(); {
			case t.IsDir():
				return nil
			case t.IsRegular():
				info, err := d.Info()
				if err != nil {
					fmt.Fprintf(s.stderr, "tokenwall: scan: %v\n", err)
					ok = false
					return nil
				}
				if !seen[path] {
					seen[path] = true
					files = append(files, scanFile{path: path, size: info.Size()})
				}
			case t&fs.ModeSymlink != 0:
				fmt.Fprintf(s.stderr, "tokenwall: scan: %s: symbolic link, not followed\n", displayPath(path))
			default:
				fmt.Fprintf(s.stderr, "tokenwall: scan: %s: %s, not read\n", displayPath(path), fileKind(t))
			}
			return nil
		})
		if err != nil {
			fmt.Fprintf(s.stderr, "tokenwall: scan: %v\n", err)
			return files, false
		}
	}
	slices.SortFunc(files, func(a, b scanFile) int { return cmp.Compare(a.path, b.path) })
	return files, ok
}

// fileKind names a file type that is neither a folder, a regular file nor a symbolic link.
func fileKind(t fs.FileMode) string {
	switch {
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// scanOne scans one file and prints its findings to out. It returns how many it found and
// how many bytes it read from the file, also when it fails partway.
func (s scanRun) scanOne(ctx context.Context, sc *scrub.Scrubber, path string, out io.Writer, bar *progress) (found int, read int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err // *PathError: "open PATH: …"
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("%s: %w", displayPath(path), cerr)
		}
	}()
	counted := &countingReader{r: ctxReader{ctx: ctx, r: f}, p: bar}
	var r io.Reader = counted
	gz := isGzipName(path)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, counted.n, fmt.Errorf("%s: gunzip: %w", displayPath(path), err)
		}
		defer zr.Close()
		r = zr
	}
	err = sc.ScanReader(r, func(off int64, f scrub.Finding) error {
		found++
		return s.print(out, path, gz, off, f)
	})
	if err != nil {
		return found, counted.n, fmt.Errorf("%s: %w", displayPath(path), err)
	}
	return found, counted.n, nil
}

// print writes one finding: "PATH:OFFSET: KIND DETAIL", or a JSON line.
func (s scanRun) print(out io.Writer, path string, gz bool, off int64, f scrub.Finding) error {
	sf := scanFinding{Path: path, Offset: off, Kind: f.Kind, Gunzipped: gz}
	if (f.Kind == scrub.KindCard || f.Kind == scrub.KindTrack) && f.Brand != "" && len(f.Last4) == 4 {
		sf.Brand, sf.Last4 = f.Brand, f.Last4
	}
	if s.json {
		line, err := json.Marshal(sf)
		if err != nil {
			return fmt.Errorf("encode finding: %w", err)
		}
		_, err = out.Write(append(line, '\n'))
		return err
	}
	name := displayPath(path)
	if gz {
		name += " (gunzipped)"
	}
	detail := string(sf.Kind)
	if sf.Last4 != "" {
		detail += " " + string(sf.Brand) + " ****" + sf.Last4
	}
	_, err := fmt.Fprintf(out, "%s:%d: %s\n", name, off, detail)
	return err
}

// displayPath quotes a path holding control characters, so that a file name cannot forge an
// output line.
func displayPath(p string) string {
	if strings.ContainsFunc(p, unicode.IsControl) {
		return strconv.Quote(p)
	}
	return p
}
