package testkit_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/testkit"
)

// writeFile writes content to name under dir, making folders as needed.
func writeFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipped(t *testing.T, s string) []byte {
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

func TestScanForCards(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content []byte
		want    []testkit.Finding // Path filled in by the test
	}{
		{name: "plain", file: "plain.log", content: []byte("card=4242424242424242&x=1"),
			want: []testkit.Finding{{Offset: 5, Brand: "visa", Masked: "****4242"}}},
		{name: "grouped with spaces", file: "spaces.log", content: []byte(`{"number":"4242 4242 4242 4242"}`),
			want: []testkit.Finding{{Offset: 11, Brand: "visa", Masked: "****4242"}}},
		{name: "grouped with dashes", file: "dashes.txt", content: []byte("a\nb 5555-5555-5555-4444\n"),
			want: []testkit.Finding{{Offset: 4, Brand: "mastercard", Masked: "****4444"}}},
		{name: "amex grouped 4-6-5", file: "amex.txt", content: []byte("3782 822463 10005"),
			want: []testkit.Finding{{Offset: 0, Brand: "amex", Masked: "****0005"}}},
		{name: "two in one line", file: "two.txt", content: []byte("4242424242424242,4000056655665556"),
			want: []testkit.Finding{{Offset: 0, Brand: "visa", Masked: "****4242"}, {Offset: 17, Brand: "visa", Masked: "****5556"}}},
		{name: "inside gzip", file: "old.log.gz", content: gzipped(t, "line one\ncard 4000 0566 5566 5556 ok\n"),
			want: []testkit.Finding{{Offset: 14, Brand: "visa", Masked: "****5556"}}},
		{name: "after many short groups", file: "groups.txt", content: []byte(strings.Repeat("1 ", 30) + "4242 4242 4242 4242"),
			want: []testkit.Finding{{Offset: 60, Brand: "visa", Masked: "****4242"}}},
		{name: "clean file", file: "clean.log",
			content: []byte(`{"id":"pm_1Q2w3E","last4":"4242","amount":1999,"order":"1234567890","uuid":"0f8fad5b-d9cb-469f-a165-70867728950e"}`)},
		{name: "millisecond timestamp", file: "ts.log", content: []byte(`{"ts":1732800000000,"ns":1732800000000000000}`)},
		{name: "not Luhn-valid", file: "luhn.log", content: []byte("4242424242424241")},
		{name: "longer digit run", file: "run.log", content: []byte("id 424242424242424242424242")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), tc.file, tc.content)
			got, err := testkit.ScanForCards(filepath.Dir(path))
			if err != nil {
				t.Fatalf("ScanForCards: %v", err)
			}
			for i := range tc.want {
				tc.want[i].Path = path
			}
			if len(got) != len(tc.want) {
				t.Fatalf("findings %v; want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("finding %d = %v; want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// Numbers placed at every offset across the first chunk boundaries (reads of 64 KiB, the
// first after none carried, the later ones after 64 bytes carried) are each found once.
func TestScanForCardsAcrossChunkBoundaries(t *testing.T) {
	dir := t.TempDir()
	const number = "4242-4242-4242-4242"
	type placed struct {
		path string
		at   int
	}
	var files []placed
	for _, b := range []int{64 << 10, 64<<10 + 64, 128 << 10, 128<<10 + 64, 192<<10 + 64} {
		for at := b - len(number); at <= b; at++ {
			content := bytes.Repeat([]byte("x"), b+128)
			copy(content[at:], number)
			path := writeFile(t, dir, "f"+strconv.Itoa(len(files)), content)
			files = append(files, placed{path: path, at: at})
		}
	}
	got, err := testkit.ScanForCards(dir)
	if err != nil {
		t.Fatalf("ScanForCards: %v", err)
	}
	byPath := map[string][]testkit.Finding{}
	for _, f := range got {
		byPath[f.Path] = append(byPath[f.Path], f)
	}
	for _, f := range files {
		fs := byPath[f.path]
		if len(fs) != 1 || fs[0].Offset != int64(f.at) || fs[0].Masked != "****4242" {
			t.Errorf("number at %d in %s: findings %v; want one at that offset", f.at, filepath.Base(f.path), fs)
		}
	}
}

func TestScanForCardsErrors(t *testing.T) {
	if _, err := testkit.ScanForCards(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("scanning a missing folder succeeded")
	}
	dir := t.TempDir()
	writeFile(t, dir, "broken.gz", []byte("not gzip 4242424242424242"))
	if _, err := testkit.ScanForCards(dir); err == nil {
		t.Error("a .gz file that is not gzip was passed over silently")
	}
}

func TestFindingStringHidesNumber(t *testing.T) {
	f := testkit.Finding{Path: "a.log", Offset: 7, Brand: "visa", Masked: "****4242"}
	if got, want := f.String(), "a.log:7: visa ****4242"; got != want {
		t.Errorf("String() = %q; want %q", got, want)
	}
}
