package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindBinaries(t *testing.T) {
	ctx := context.Background()
	const wantMsg = "PostgreSQL server binaries not found: apt-get install postgresql (.ci/run installs it)"

	// A pg_config that names a folder without the server, as libpq-dev's does.
	fakeBin := t.TempDir()
	clientOnly := t.TempDir()
	script := "#!/bin/sh\necho " + clientOnly + "\n"
	if err := os.WriteFile(filepath.Join(fakeBin, "pg_config"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// A Debian-like tree with two versions, only the older one complete.
	tree := t.TempDir()
	for _, v := range []string{"13", "16"} {
		if err := os.MkdirAll(filepath.Join(tree, v, "bin"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range required {
		if err := os.WriteFile(filepath.Join(tree, "13", "bin", name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name    string
		path    string // PATH while finding
		f       finder
		wantDir string // "" means ErrNoBinaries
		wantIn  string // and the error names this folder
	}{
		{name: "nothing anywhere", path: t.TempDir(), f: finder{pgConfig: "pg_config", glob: filepath.Join(t.TempDir(), "*", "bin")}},
		{name: "pg_config names a client-only folder", path: fakeBin, f: finder{pgConfig: "pg_config"}, wantIn: clientOnly},
		{name: "fallback to the highest complete version", path: fakeBin, f: finder{pgConfig: "pg_config", glob: filepath.Join(tree, "*", "bin")},
			wantDir: filepath.Join(tree, "13", "bin")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PATH", tc.path)
			dir, err := tc.f.binDir(ctx)
			if tc.wantDir != "" {
				if err != nil || dir != tc.wantDir {
					t.Fatalf("binDir = %q, %v; want %q", dir, err, tc.wantDir)
				}
				return
			}
			if !errors.Is(err, ErrNoBinaries) || !strings.HasPrefix(err.Error(), wantMsg) {
				t.Fatalf("binDir = %q, %v; want %q", dir, err, wantMsg)
			}
			if tc.wantIn != "" && !strings.Contains(err.Error(), tc.wantIn) {
				t.Errorf("error %q does not name %s", err, tc.wantIn)
			}
		})
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", t.TempDir())
	_, err := start(context.Background(), finder{pgConfig: "pg_config", glob: filepath.Join(t.TempDir(), "*", "bin")}, dir, nil)
	if !errors.Is(err, ErrNoBinaries) {
		t.Fatalf("start with no binaries: %v, want ErrNoBinaries", err)
	}
	// Nothing is left behind in the parent folder.
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %v in %s", entries, dir)
	}
}
