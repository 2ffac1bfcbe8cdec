package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scanTree is a folder of files to scan and what each finding there is.
type scanTree struct {
	dir                          string
	clean, log, gzLog, db, badGz string
	cleanSize                    int
	// logAt, gzAt, dbCardAt, dbSSNAt are where the planted values start.
	logAt, gzAt, dbCardAt, dbSSNAt int
}

// newScanTree writes, under t.TempDir():
//
//	clean.log        nothing sensitive
//	app.log          a card number after 50 log lines
//	logs/old.log.gz  an Amex number in the decompressed data
//	data/app.sqlite  a database page: binary header, NULs, a card number and an SSN between NULs
//	link             a symbolic link to app.log (not followed)
//	sock             a unix socket (not read)
func newScanTree(t *testing.T) scanTree {
	t.Helper()
	tr := scanTree{dir: t.TempDir()}
	clean := `{"id":"pm_1Q2w3E","last4":"4242","amount":1999,"ts":1732800000000}` + "\n"
	tr.clean, tr.cleanSize = writeTestFile(t, tr.dir, "clean.log", []byte(clean)), len(clean)

	lines := strings.Repeat("2026-05-04T10:00:00Z INFO GET /v1/charges 200\n", 50)
	tr.logAt = len(lines) + len("charge ok card=")
	tr.log = writeTestFile(t, tr.dir, "app.log", []byte(lines+"charge ok card=4242 4242 4242 4242 amount=100\n"))

	tr.gzAt = len("rotated line\npan ")
	tr.gzLog = writeTestFile(t, tr.dir, "logs/old.log.gz", gzipBytes(t, "rotated line\npan 378282246310005\n"))

	var db bytes.Buffer
	db.WriteString("SQLite format 3\x00")
	db.Write([]byte{0x10, 0x00, 0x01, 0x01, 0x00, 0x40, 0x20, 0x20})
	db.Write(make([]byte, 4000))
	db.Write([]byte{0x0d, 0x00, 0x00, 0x00, 0x01, 0x0f, 0xc4, 0x00})
	tr.dbCardAt = db.Len()
	db.WriteString("4000056655665556")
	db.Write([]byte{0x00, 0x00, 0x81, 0x03, 0x17, 0xff, 0x00})
	tr.dbSSNAt = db.Len()
	db.WriteString("123-45-6789")
	db.Write(bytes.Repeat([]byte{0x00, 0xfe, 0x7f, 0x00}, 1000))
	tr.db = writeTestFile(t, tr.dir, "data/app.sqlite", db.Bytes())

	if err := os.Symlink("app.log", filepath.Join(tr.dir, "link")); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(tr.dir, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })

	tr.badGz = writeTestFile(t, t.TempDir(), "broken.log.gz", []byte("not gzip 4242424242424242\n"))
	return tr
}

func runScanTest(t *testing.T, s scanRun) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	s.stdout, s.stderr = &out, &errb
	if s.now == nil {
		s.now = time.Now
	}
	code := s.run(ctx)
	return code, out.String(), errb.String()
}

func TestScan(t *testing.T) {
	tr := newScanTree(t)
	// The tree's findings, sorted by path then offset.
	treeOut := tr.log + ":" + strconv.Itoa(tr.logAt) + ": card visa ****4242\n" +
		tr.db + ":" + strconv.Itoa(tr.dbCardAt) + ": card visa ****5556\n" +
		tr.db + ":" + strconv.Itoa(tr.dbSSNAt) + ": ssn\n" +
		tr.gzLog + " (gunzipped):" + strconv.Itoa(tr.gzAt) + ": card amex ****0005\n"
	missing := filepath.Join(tr.dir, "missing")

	tests := []struct {
		name     string
		paths    []string
		wantOut  string
		wantErr  []string // substrings of stderr
		wantCode int
	}{
		{name: "clean file", paths: []string{tr.clean},
			wantOut: "", wantErr: []string{"scanned 1 files, " + strconv.Itoa(tr.cleanSize) + " bytes: 0 findings\n"}, wantCode: 0},
		{name: "card at a known offset", paths: []string{tr.log},
			wantOut: tr.log + ":" + strconv.Itoa(tr.logAt) + ": card visa ****4242\n",
			wantErr: []string{"scanned 1 files, "}, wantCode: 1},
		{name: "gzip log", paths: []string{tr.gzLog},
			wantOut: tr.gzLog + " (gunzipped):" + strconv.Itoa(tr.gzAt) + ": card amex ****0005\n", wantCode: 1},
		{name: "database file", paths: []string{tr.db},
			wantOut: tr.db + ":" + strconv.Itoa(tr.dbCardAt) + ": card visa ****5556\n" +
				tr.db + ":" + strconv.Itoa(tr.dbSSNAt) + ": ssn\n", wantCode: 1},
		{name: "whole tree, link and socket named", paths: []string{tr.dir}, wantOut: treeOut,
			wantErr: []string{"link: symbolic link, not followed", "sock: socket, not read", ": 4 findings\n"}, wantCode: 1},
		{name: "paths given out of order are sorted", paths: []string{tr.gzLog, tr.clean, tr.log},
			wantOut: tr.log + ":" + strconv.Itoa(tr.logAt) + ": card visa ****4242\n" +
				tr.gzLog + " (gunzipped):" + strconv.Itoa(tr.gzAt) + ": card amex ****0005\n", wantCode: 1},
		{name: "missing path: error wins over findings", paths: []string{tr.dir, missing}, wantOut: treeOut,
			wantErr: []string{"missing: no such file"}, wantCode: 2},
		{name: "missing path alone", paths: []string{missing},
			wantErr: []string{"missing: no such file", "scanned 0 files, 0 bytes: 0 findings\n"}, wantCode: 2},
		{name: "unreadable gzip", paths: []string{tr.badGz, tr.clean},
			wantErr: []string{"broken.log.gz: gunzip:", "scanned 1 files, "}, wantCode: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runScanTest(t, scanRun{paths: tc.paths})
			if code != tc.wantCode {
				t.Errorf("exit code %d; want %d (stderr %q)", code, tc.wantCode, errOut)
			}
			if out != tc.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out, tc.wantOut)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not hold %q", errOut, want)
				}
			}
			if !strings.HasPrefix(lastLine(errOut), "scanned ") {
				t.Errorf("stderr does not end with the summary: %q", errOut)
			}
			if strings.ContainsAny(errOut, "\r\x1b") {
				t.Errorf("stderr is not a terminal but holds control characters: %q", errOut)
			}
			assertNoCardNumber(t, "stdout", out)
			assertNoCardNumber(t, "stderr", errOut)
		})
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// As root a file with mode 000 is still readable; the test runs only for other users.
func TestScanUnreadableFile(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a file whatever its mode; TestScan covers read errors with a broken gzip file and a missing path")
	}
	dir := t.TempDir()
	locked := writeTestFile(t, dir, "locked.log", []byte("4242424242424242\n"))
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runScanTest(t, scanRun{paths: []string{dir}})
	if code != 2 || !strings.Contains(errOut, "locked.log") {
		t.Errorf("exit %d, stderr %q; want 2 naming locked.log", code, errOut)
	}
}

func TestScanJSON(t *testing.T) {
	tr := newScanTree(t)
	code, out, errOut := runScanTest(t, scanRun{paths: []string{tr.dir}, json: true})
	if code != 1 {
		t.Fatalf("exit code %d; want 1 (stderr %q)", code, errOut)
	}
	want := []scanFinding{
		{Path: tr.log, Offset: int64(tr.logAt), Kind: "card", Brand: "visa", Last4: "4242"},
		{Path: tr.db, Offset: int64(tr.dbCardAt), Kind: "card", Brand: "visa", Last4: "5556"},
		{Path: tr.db, Offset: int64(tr.dbSSNAt), Kind: "ssn"},
		{Path: tr.gzLog, Offset: int64(tr.gzAt), Kind: "card", Brand: "amex", Last4: "0005", Gunzipped: true},
	}
	var got []scanFinding
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var f scanFinding
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("line %q is not a finding: %v", sc.Text(), err)
		}
		got = append(got, f)
	}
	if len(got) != len(want) {
		t.Fatalf("findings %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	// Every key is there for a card, and gunzipped is there even when false.
	first := map[string]any{}
	if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"path", "offset", "kind", "brand", "last4", "gunzipped"} {
		if _, ok := first[key]; !ok {
			t.Errorf("JSON line %v has no %q", first, key)
		}
	}
	assertNoCardNumber(t, "stdout", out)
}

// TestScanUsage: misuse prints the usage on stderr and exits 2; -h prints it, with the long
// help, on stdout and exits 0.
func TestScanUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "no path", args: nil, wantCode: 2},
		{name: "unknown flag", args: []string{"--follow", "."}, wantCode: 2},
		{name: "help", args: []string{"-h"}, wantCode: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := runScan(context.Background(), tc.args, &out, &errb); code != tc.wantCode {
				t.Errorf("exit code %d; want %d", code, tc.wantCode)
			}
			usage := errb.String()
			if tc.wantCode == 0 {
				usage = out.String()
				if !strings.Contains(usage, "Exit code: 0 nothing found") {
					t.Errorf("help %q lacks the long help", usage)
				}
			}
			if !strings.HasPrefix(usage, "usage: tokenwall scan") {
				t.Errorf("%q holds no usage", usage)
			}
		})
	}
}

// fakeClock returns a clock that moves step forward at each reading.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(step)
		return t
	}
}

func TestProgress(t *testing.T) {
	tests := []struct {
		name      string
		terminal  bool
		step      time.Duration // clock advance per Add
		adds      int
		wantDraws int
	}{
		{name: "not a terminal: nothing", terminal: false, step: time.Second, adds: 100, wantDraws: 0},
		{name: "terminal, fast updates: 10 a second", terminal: true, step: 10 * time.Millisecond, adds: 200, wantDraws: 20},
		{name: "terminal, slow updates: each", terminal: true, step: 150 * time.Millisecond, adds: 5, wantDraws: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w bytes.Buffer
			p := newProgress(&w, tc.terminal, int64(tc.adds)*10, fakeClock(tc.step))
			for range tc.adds {
				p.Add(10)
			}
			p.Clear()
			draws := strings.Count(w.String(), "%")
			if draws != tc.wantDraws {
				t.Errorf("%d draws; want %d", draws, tc.wantDraws)
			}
			if !tc.terminal {
				if w.Len() != 0 {
					t.Errorf("wrote %q to a writer that is not a terminal", w.String())
				}
				return
			}
			if !strings.HasSuffix(w.String(), clearLine) {
				t.Errorf("the bar is not cleared at the end: %q", w.String())
			}
		})
	}
}

func TestProgressBar(t *testing.T) {
	tests := []struct {
		name  string
		total int64
		done  int64
		want  string
	}{
		{name: "start", total: 3 << 20, done: 0, want: "[                              ] 0 B / 3.0 MiB   0%"},
		{name: "half", total: 3 << 20, done: 3 << 19, want: "[###############               ] 1.5 MiB / 3.0 MiB  50%"},
		{name: "grown past total", total: 1000, done: 1500, want: "[##############################] 1.5 KiB / 1000 B 100%"},
		{name: "nothing to do", total: 0, done: 0, want: "[##############################] 0 B / 0 B 100%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgress(nil, true, tc.total, time.Now)
			p.done = tc.done
			if got := p.bar(); got != clearLine+tc.want {
				t.Errorf("bar %q; want %q", got, clearLine+tc.want)
			}
		})
	}
}

// On a terminal the bar is drawn, cleared before the summary, and never reaches stdout.
func TestScanProgressOnTerminal(t *testing.T) {
	tr := newScanTree(t)
	code, out, errOut := runScanTest(t, scanRun{paths: []string{tr.dir}, terminal: true, now: fakeClock(time.Second)})
	if code != 1 {
		t.Fatalf("exit code %d; want 1", code)
	}
	if !strings.Contains(errOut, "%") || !strings.Contains(errOut, clearLine) {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
	if i := strings.LastIndex(errOut, clearLine); !strings.HasPrefix(errOut[i+len(clearLine):], "tokenwall: scan: ") &&
		!strings.HasPrefix(errOut[i+len(clearLine):], "scanned ") {
		t.Errorf("the bar is not cleared before the messages after it: %q", errOut)
	}
	if strings.ContainsAny(out, "\r\x1b") {
		t.Errorf("stdout holds terminal control characters: %q", out)
	}
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("stdout holds %d lines; want the 4 findings:\n%s", n, out)
	}
}
