package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// streamed is a finding as ScanReader reports it, comparable.
type streamed struct {
	Offset int64
	Kind   Kind
	Len    int
	Brand  Brand
	Last4  string
}

func (f streamed) String() string {
	return fmt.Sprintf("%d:%s/%d/%s/%s", f.Offset, f.Kind, f.Len, f.Brand, f.Last4)
}

// scanStream runs scanReader over src with sizes z, reading it through wrap.
func scanStream(t *testing.T, src []byte, z streamSizes, wrap func(io.Reader) io.Reader) []streamed {
	t.Helper()
	var got []streamed
	err := Default().scanReader(wrap(bytes.NewReader(src)), func(off int64, f Finding) error {
		if f.Start != 0 {
			t.Errorf("finding at %d: Start %d, want 0", off, f.Start)
		}
		got = append(got, streamed{Offset: off, Kind: f.Kind, Len: f.End, Brand: f.Brand, Last4: f.Last4})
		return nil
	}, z)
	if err != nil {
		t.Fatalf("scanReader: %v", err)
	}
	return got
}

// findAll is the reference: Find over the whole text at once.
func findAll(src []byte) []streamed {
	var want []streamed
	for _, f := range Default().Find(src) {
		want = append(want, streamed{Offset: int64(f.Start), Kind: f.Kind, Len: f.End - f.Start, Brand: f.Brand, Last4: f.Last4})
	}
	return want
}

func sameStreamed(a, b []streamed) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func identity(r io.Reader) io.Reader { return r }

// testSizes are small enough that a few KiB of input cross many chunk boundaries.
var testSizes = streamSizes{chunk: 512, overlap: 128, context: 256}

// Findings placed at every offset of a few KiB, across many boundaries of small chunks, are
// reported exactly as one Find over the whole text reports them: once, at the same offset.
func TestScanReaderMatchesFindAtEveryOffset(t *testing.T) {
	lines := strings.Repeat("2026-05-04T10:00:00Z INFO request served path=/v1/charges status=200\n", 16)
	tests := []struct {
		name   string
		filler string
		secret string
	}{
		{name: "card in short lines", filler: lines, secret: "card 4242 4242 4242 4242 ok"},
		{name: "card in one long line", filler: strings.Repeat("x", 1600), secret: "4242424242424242"},
		{name: "grouped card between NULs", filler: strings.Repeat("\x00\x01\x02\xff", 400), secret: "\x005555-5555-5555-4444\x00"},
		{name: "card among digit groups", filler: strings.Repeat("12 345 6789 ", 70), secret: "x378282246310005x"},
		{name: "cvc in JSON lines", filler: lines, secret: `{"cvc":"123","number":"4000056655665556"}` + "\n"},
		{name: "SSN and IBAN", filler: lines, secret: "ssn 123-45-6789 iban DE89 3704 0044 0532 0130 00\n"},
		{name: "secrets", filler: lines, secret: "key=sk_live_4eC39HqLyjWDarjtT1zdp7dc auth: Bearer abcdefghijklmnop\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := 1
			if testing.Short() {
				step = 7
			}
			for at := 0; at+len(tc.secret) <= len(tc.filler); at += step {
				src := []byte(tc.filler[:at] + tc.secret + tc.filler[at:])
				want := findAll(src)
				if len(want) == 0 {
					t.Fatalf("at %d: Find found nothing; the test plants nothing", at)
				}
				got := scanStream(t, src, testSizes, identity)
				if !sameStreamed(got, want) {
					t.Fatalf("at %d: ScanReader found %v; Find over the whole text %v", at, got, want)
				}
			}
		})
	}
}

// With the real sizes, a number at every offset around the first read boundary (256 KiB) and
// around the first point where findings are decided (8 KiB before it) is found once, at its
// offset, whether the reader returns everything at once or a little at a time.
func TestScanReaderAcrossChunkEdge(t *testing.T) {
	const number = "4242-4242-4242-4242"
	z := defaultStreamSizes
	tests := []struct {
		name   string
		filler byte
		edge   int
		wrap   func(io.Reader) io.Reader
	}{
		{name: "read boundary, letters", filler: 'x', edge: z.chunk, wrap: identity},
		{name: "read boundary, NULs", filler: 0, edge: z.chunk, wrap: identity},
		{name: "decision point, letters", filler: 'x', edge: z.chunk - z.overlap, wrap: identity},
		{name: "second read boundary, half reads", filler: '\n', edge: 2*z.chunk - z.overlap, wrap: iotest.HalfReader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := bytes.Repeat([]byte{tc.filler}, tc.edge+z.chunk/4)
			for at := tc.edge - len(number) - 2; at <= tc.edge+2; at++ {
				b := bytes.Clone(src)
				copy(b[at:], number)
				got := scanStream(t, b, z, tc.wrap)
				want := []streamed{{Offset: int64(at), Kind: KindCard, Len: len(number), Brand: Visa, Last4: "4242"}}
				if !sameStreamed(got, want) {
					t.Fatalf("number at %d: found %v; want %v", at, got, want)
				}
			}
		})
	}
}

func TestScanReaderBinary(t *testing.T) {
	// A page of a database file: a header, NUL padding, records with lengths in binary.
	var b bytes.Buffer
	b.WriteString("SQLite format 3\x00\x10\x00\x01\x01")
	b.Write(make([]byte, 100))
	cardAt := b.Len()
	b.WriteString("4000056655665556")
	b.Write([]byte{0, 0x81, 0x17, 0x05, 0})
	ssnAt := b.Len()
	b.WriteString("078-05-1120")
	b.Write(bytes.Repeat([]byte{0, 0xff}, 300))

	got := scanStream(t, b.Bytes(), testSizes, identity)
	want := []streamed{
		{Offset: int64(cardAt), Kind: KindCard, Len: 16, Brand: Visa, Last4: "5556"},
		{Offset: int64(ssnAt), Kind: KindSSN, Len: 11},
	}
	if !sameStreamed(got, want) {
		t.Errorf("found %v; want %v", got, want)
	}
}

func TestScanReaderErrors(t *testing.T) {
	stop := errors.New("enough")
	src := strings.NewReader("4242424242424242 and 5555555555554444")
	calls := 0
	err := Default().ScanReader(src, func(int64, Finding) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("callback error: got %v after %d calls; want it returned after 1", err, calls)
	}

	err = Default().ScanReader(iotest.TimeoutReader(strings.NewReader(strings.Repeat("x", 300<<10))), func(int64, Finding) error { return nil })
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("read error: got %v; want it wrapped", err)
	}
}

func TestCopy(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "lines", in: "card 4242424242424242\n{\"cvc\":\"123\"}\nclean\n",
			want: "card [card:visa:4242]\n{\"cvc\":\"[redacted:cvc]\"}\nclean\n"},
		{name: "no final newline", in: "ssn 123-45-6789", want: "ssn [redacted:ssn]"},
		{name: "NUL bytes", in: "a\x004000056655665556\x00b\n", want: "a\x00[card:visa:5556]\x00b\n"},
		{name: "empty", in: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			n, err := Default().Copy(&out, iotest.OneByteReader(strings.NewReader(tc.in)))
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if out.String() != tc.want {
				t.Errorf("Copy wrote %q; want %q", masked(out.String()), tc.want)
			}
			if n != int64(out.Len()) {
				t.Errorf("Copy returned %d; wrote %d bytes", n, out.Len())
			}
		})
	}
}

// A line of over 2 MiB is cut, but never inside a card number: every number in it is
// redacted, wherever it falls relative to the 1 MiB cuts.
func TestCopyVeryLongLine(t *testing.T) {
	const number = "4242 4242 4242 4242"
	tests := []struct {
		name   string
		filler string
	}{
		{name: "words", filler: "abcdefghij"},
		{name: "JSON members", filler: `"k":"vvv",`},
		{name: "digit groups between letters", filler: "x12 34 56 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var in bytes.Buffer
			planted := 0
			for in.Len() < 2*maxCopyLine+1000 {
				in.WriteString(tc.filler)
				// Numbers near every 1 MiB mark, where a cut may fall, and now and then elsewhere.
				if off := in.Len() % maxCopyLine; off > maxCopyLine-200 || off < 100 || in.Len()%99991 < len(tc.filler) {
					in.WriteString(number)
					planted++
				}
			}
			in.WriteString("\nlast line\n")
			var out bytes.Buffer
			n, err := Default().Copy(&out, &in)
			if err != nil {
				t.Fatalf("Copy: %v", err)
			}
			if n != int64(out.Len()) {
				t.Errorf("Copy returned %d; wrote %d bytes", n, out.Len())
			}
			if got := bytes.Count(out.Bytes(), []byte("[card:visa:4242]")); got != planted {
				t.Errorf("%d numbers redacted; %d planted", got, planted)
			}
			if bytes.Contains(out.Bytes(), []byte("4242 4242")) {
				t.Error("part of a card number is left in the output")
			}
			if !bytes.HasSuffix(out.Bytes(), []byte("\nlast line\n")) {
				t.Error("the line after the long one is missing")
			}
		})
	}
}

// With lines cut past 200 bytes (read 200 at a time, so a line is cut once it reaches 400
// without a newline), a cut lands after the last "," or control byte, else after the last
// byte that is not part of a number, and never inside one.
func TestCopyCutsWhereNoNumberCanBe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // the parts, each scrubbed on its own
	}{
		{name: "line of twice the limit kept whole",
			in:   strings.Repeat("a", 100) + "," + strings.Repeat("b", 250) + "\n",
			want: []string{strings.Repeat("a", 100) + "," + strings.Repeat("b", 250) + "\n"}},
		{name: "after a comma",
			in:   strings.Repeat("a", 300) + "," + strings.Repeat("b", 150) + "\n",
			want: []string{strings.Repeat("a", 300) + ",", strings.Repeat("b", 150) + "\n"}},
		{name: "after a letter, not inside a number",
			in:   strings.Repeat("a", 330) + "4242424242424242" + strings.Repeat(" z", 30) + "\n",
			want: []string{strings.Repeat("a", 330), "[card:visa:4242]" + strings.Repeat(" z", 30) + "\n"}},
		{name: "after a word end rather than inside an IBAN",
			in:   strings.Repeat("a", 300) + "(iban GB82WEST12345698765432)" + strings.Repeat(" z", 40) + "\n",
			want: []string{strings.Repeat("a", 300) + "(iban [redacted:iban])", strings.Repeat(" z", 40) + "\n"}},
		{name: "after the last letter at least 64 bytes from the end",
			in:   strings.Repeat("a", 460) + "\n",
			want: []string{strings.Repeat("a", 336), strings.Repeat("a", 124) + "\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &writes{}
			if _, err := Default().copyLines(w, strings.NewReader(tc.in), 200); err != nil {
				t.Fatalf("copyLines: %v", err)
			}
			if fmt.Sprintf("%q", w.parts) != fmt.Sprintf("%q", tc.want) {
				t.Errorf("parts %q; want %q", w.parts, tc.want)
			}
		})
	}
}

// writes records each Write as one part.
type writes struct{ parts []string }

func (w *writes) Write(p []byte) (int, error) {
	w.parts = append(w.parts, string(p))
	return len(p), nil
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func TestCopyErrors(t *testing.T) {
	full := errors.New("disk full")
	if _, err := Default().Copy(failWriter{err: full}, strings.NewReader("a line\n")); !errors.Is(err, full) {
		t.Errorf("write error: got %v; want it wrapped", err)
	}

	// The reader fails after half a card number with no newline: that half is not written.
	var out bytes.Buffer
	src := io.MultiReader(strings.NewReader("whole line\n42424242"), iotest.ErrReader(iotest.ErrTimeout))
	if _, err := Default().Copy(&out, src); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("read error: got %v; want it wrapped", err)
	}
	if out.String() != "whole line\n" {
		t.Errorf("wrote %q; want only the whole line", out.String())
	}
}
