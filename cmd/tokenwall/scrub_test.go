package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Card numbers the tests plant. They are test numbers, but the files holding them still live
// only under t.TempDir(), never in the repository or the artifacts folder.
var plantedNumbers = []string{"4242424242424242", "5555 5555 5555 4444", "5555555555554444",
	"4000056655665556", "378282246310005"}

// assertNoCardNumber fails when out holds any planted number whole.
func assertNoCardNumber(t *testing.T, what, out string) {
	t.Helper()
	for _, n := range plantedNumbers {
		if strings.Contains(out, n) {
			t.Errorf("%s holds a whole card number ending %s", what, n[len(n)-4:])
		}
	}
}

// writeTestFile writes content to name under dir, making folders as needed, and returns its path.
func writeTestFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipBytes(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const sensitiveLog = `2026-05-04 charge card=4242424242424242 amount=100
{"number":"5555 5555 5555 4444","cvc":"123","exp_month":12}
customer ssn 123-45-6789 iban DE89 3704 0044 0532 0130 00
stripe key sk_live_4eC39HqLyjWDarjtT1zdp7dc auth: Bearer abcdefghijklmnopq
clean line
`

const scrubbedLog = `2026-05-04 charge card=[card:visa:4242] amount=100
{"number":"[card:mastercard:4444]","cvc":"[redacted:cvc]","exp_month":"[redacted:expiry]"}
customer ssn [redacted:ssn] iban [redacted:iban]
stripe key [redacted:api_key] auth: [redacted:authorization]
clean line
`

func TestScrub(t *testing.T) {
	dir := t.TempDir()
	logFile := writeTestFile(t, dir, "app.log", []byte(sensitiveLog))
	second := writeTestFile(t, dir, "second.log", []byte("pan 4000056655665556 declined\n"))
	gzFile := writeTestFile(t, dir, "old.log.gz", gzipBytes(t, "rotated 378282246310005\n"))
	badGz := writeTestFile(t, dir, "broken.log.gz", []byte("not gzip 4242424242424242\n"))
	missing := filepath.Join(dir, "missing.log")

	tests := []struct {
		name     string
		args     []string
		stdin    []byte
		wantOut  string
		wantErr  []string // substrings of stderr
		wantCode int
	}{
		{name: "file with cards, CVC, SSN, IBAN and secrets", args: []string{logFile},
			wantOut: scrubbedLog},
		{name: "stdin when no file", stdin: []byte(sensitiveLog), wantOut: scrubbedLog},
		{name: "stdin as -", args: []string{"-"}, stdin: []byte("x 4242424242424242\n"),
			wantOut: "x [card:visa:4242]\n"},
		{name: "gzip file", args: []string{gzFile}, wantOut: "rotated [card:amex:0005]\n"},
		{name: "gzip on stdin", stdin: gzipBytes(t, "x 4242424242424242\n"),
			wantOut: "x [card:visa:4242]\n"},
		{name: "files in order", args: []string{second, logFile, gzFile},
			wantOut: "pan [card:visa:5556] declined\n" + scrubbedLog + "rotated [card:amex:0005]\n"},
		{name: "missing file named, others still written", args: []string{second, missing, gzFile},
			wantOut:  "pan [card:visa:5556] declined\nrotated [card:amex:0005]\n",
			wantErr:  []string{"missing.log"},
			wantCode: 2},
		{name: "broken gzip named, others still written", args: []string{badGz, second},
			wantOut:  "pan [card:visa:5556] declined\n",
			wantErr:  []string{"broken.log.gz", "gunzip"},
			wantCode: 2},
		{name: "first six and last four", args: []string{"--card-mask", "first6_last4", second},
			wantOut: "pan [card:visa:400005…5556] declined\n"},
		{name: "unknown card mask", args: []string{"--card-mask", "everything", second},
			wantErr: []string{"--card-mask"}, wantCode: 2},
		{name: "unknown flag", args: []string{"--verbose"}, wantErr: []string{"usage: tokenwall scrub"}, wantCode: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var out, errb bytes.Buffer
			code := scrubFiles(ctx, tc.args, bytes.NewReader(tc.stdin), &out, &errb)
			if code != tc.wantCode {
				t.Errorf("exit code %d; want %d (stderr %q)", code, tc.wantCode, errb.String())
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), tc.wantOut)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr %q does not name %q", errb.String(), want)
				}
			}
			if tc.wantErr == nil && errb.Len() > 0 {
				t.Errorf("unexpected stderr %q", errb.String())
			}
			assertNoCardNumber(t, "stdout", out.String())
			assertNoCardNumber(t, "stderr", errb.String())
		})
	}
}

// The command is reachable through the dispatcher and listed in the usage.
func TestScrubAndScanAreCommands(t *testing.T) {
	code, out, _ := runCmd(t, "help")
	if code != 0 || !strings.Contains(out, "\n  scrub [<file> ...] [flags]\n") || !strings.Contains(out, "\n  scan <path> ... [flags]\n") {
		t.Errorf("usage (exit %d) does not list scrub and scan:\n%s", code, out)
	}
	file := writeTestFile(t, t.TempDir(), "a.log", []byte("ok 4242424242424242\n"))
	if code, out, _ := runCmd(t, "scrub", file); code != 0 || out != "ok [card:visa:4242]\n" {
		t.Errorf("tokenwall scrub: exit %d, stdout %q", code, out)
	}
	if code, out, _ := runCmd(t, "scan", file); code != 1 || out != file+":3: card visa ****4242\n" {
		t.Errorf("tokenwall scan: exit %d, stdout %q", code, out)
	}
}
