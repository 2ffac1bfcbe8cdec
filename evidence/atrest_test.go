package evidence

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
)

// stripeTestCard is Stripe's Luhn-valid Visa test number. It is only ever written to
// t.TempDir(), never to the artifacts folder, which `make test` scans for card numbers last.
const stripeTestCard = "4242424242424242"

// writeFile writes text to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScanFiles: a card number planted in a file is found and counted by kind; a clean
// file is scanned and found clean; paths that do not exist are skipped (a WAL that is not
// there), and when nothing at all exists the evidence says so.
func TestScanFiles(t *testing.T) {
	planted := t.TempDir()
	cardFile := writeFile(t, planted, "tokenwall.log", `{"level":"info","msg":"charge","note":"paid with `+stripeTestCard+`"}`+"\n")
	clean := testkit.ArtifactsDir(t)
	cleanFile := writeFile(t, clean, "clean.log", `{"level":"info","msg":"charge","card":"[card:visa:4242]","id":"rep_abcdefghijklmnop"}`+"\n")
	missing := filepath.Join(clean, "missing.db")

	tests := []struct {
		name      string
		paths     []string
		wantFiles int
		wantCards int
		wantError string
	}{
		{name: "planted card", paths: []string{cardFile}, wantFiles: 1, wantCards: 1},
		{name: "clean file", paths: []string{cleanFile}, wantFiles: 1, wantCards: 0},
		{name: "clean and planted", paths: []string{cleanFile, cardFile}, wantFiles: 2, wantCards: 1},
		{name: "missing WAL skipped", paths: []string{cleanFile, cleanFile + "-wal"}, wantFiles: 1, wantCards: 0},
		{name: "nothing there", paths: []string{missing, missing + "-wal"}, wantFiles: 0, wantError: "nothing to scan at " + missing},
		{name: "a folder is not a file", paths: []string{planted}, wantFiles: 0, wantError: "nothing to scan at " + planted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := scanFiles(scrub.Default(), "logs", tc.paths[0], tc.paths)
			if ev.What != "logs" || ev.Path != tc.paths[0] {
				t.Errorf("what %q path %q", ev.What, ev.Path)
			}
			if ev.Files != tc.wantFiles || ev.ByKind[string(scrub.KindCard)] != tc.wantCards {
				t.Errorf("files %d, cards %d (%v); want %d files, %d cards", ev.Files, ev.ByKind[string(scrub.KindCard)], ev.ByKind, tc.wantFiles, tc.wantCards)
			}
			if tc.wantCards == 0 && ev.Findings != 0 {
				t.Errorf("%d findings in a clean file: %v", ev.Findings, ev.ByKind)
			}
			if tc.wantFiles > 0 && ev.Bytes == 0 {
				t.Error("no bytes counted")
			}
			if tc.wantError == "" && ev.Error != "" || tc.wantError != "" && !strings.HasPrefix(ev.Error, tc.wantError) {
				t.Errorf("error %q, want %q", ev.Error, tc.wantError)
			}
		})
	}
}

// TestScanAtRest: the configuration decides what is scanned: the SQLite file and its WAL,
// then the log file with its rotated siblings; a card mask the scrubber refuses is reported
// as the evidence's error rather than a scan that did not happen.
func TestScanAtRest(t *testing.T) {
	dir := t.TempDir()
	db := writeFile(t, dir, "tokenwall.db", "sqlite pages, no card\n")
	writeFile(t, dir, "tokenwall.db-wal", "a frame with "+stripeTestCard+"\n")
	logFile := writeFile(t, dir, "tokenwall.log", "clean line\n")
	writeFile(t, dir, "tokenwall.log.1", "rotated line with "+stripeTestCard+"\n")

	tests := []struct {
		name string
		cfg  config.Config
		want []string // per evidence: "what:files:cards"
		err  string
	}{
		{name: "database only", cfg: config.Config{Store: config.Store{Driver: "sqlite", SQLitePath: db}},
			want: []string{"database:2:1"}},
		{name: "database and logs", cfg: config.Config{Store: config.Store{Driver: "sqlite", SQLitePath: db}, Log: config.Log{File: logFile}},
			want: []string{"database:2:1", "logs:2:1"}},
		{name: "bad card mask", cfg: config.Config{Store: config.Store{SQLitePath: db}, Scrub: config.Scrub{CardMask: "everything"}},
			want: []string{"configuration:0:0"}, err: "scrub.card_mask"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			evs := scanAtRest(t.Context(), tc.cfg, nil)
			var got []string
			for _, ev := range evs {
				got = append(got, fmt.Sprintf("%s:%d:%d", ev.What, ev.Files, ev.ByKind[string(scrub.KindCard)]))
				if tc.err == "" && ev.Error != "" || tc.err != "" && !strings.Contains(ev.Error, tc.err) {
					t.Errorf("%s: error %q, want %q", ev.What, ev.Error, tc.err)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
