// Package scan holds only the test that runs after the whole suite: it proves that no card
// number reached the artifacts folder. "make test" runs it last, on its own.
package scan

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tokenwall/tokenwall/testkit"
)

func TestArtifactsHoldNoCardNumbers(t *testing.T) {
	env := os.Getenv(testkit.ArtifactsEnv)
	if env == "" {
		t.Fatal(`set TOKENWALL_ARTIFACTS to the artifacts folder; "make test" does`)
	}
	root, err := testkit.ResolveArtifactsPath(env)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		t.Fatalf("artifacts folder %s: missing or not a folder (%v)", root, err)
	}
	files := 0
	err = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	})
	if err != nil {
		t.Fatalf("count artifacts: %v", err)
	}
	if files == 0 {
		t.Fatalf("artifacts folder %s holds no files: did the tests run with %s set?", root, testkit.ArtifactsEnv)
	}

	// First prove the scanner finds a number, planted outside the artifacts folder.
	planted := filepath.Join(t.TempDir(), "planted.log")
	if err := os.WriteFile(planted, []byte("charge ok card=4111 1111 1111 1111 amount=100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	found, err := testkit.ScanForCards(filepath.Dir(planted))
	if err != nil {
		t.Fatalf("scan planted file: %v", err)
	}
	if len(found) != 1 || found[0].Masked != "****1111" {
		t.Fatalf("scanner found %v in the planted file; want one ****1111: it cannot be trusted", found)
	}

	found, err = testkit.ScanForCards(root)
	if err != nil {
		t.Fatalf("scan artifacts: %v", err)
	}
	for _, f := range found {
		t.Errorf("card number in an artifact: %s", f)
	}
	t.Logf("scanned %d files under %s: %d card numbers", files, root, len(found))
}
