package devstack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

func TestRepoRoot(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatalf("RepoRoot: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s holds no go.mod: %v", root, err)
	}

	t.Chdir(filepath.Join(root, "devstack"))
	if again, err := devstack.RepoRoot(); err != nil || again != root {
		t.Errorf("RepoRoot from devstack/ = %q, %v; want %q", again, err, root)
	}

	t.Chdir(t.TempDir())
	if got, err := devstack.RepoRoot(); !errors.Is(err, devstack.ErrNoRepo) {
		t.Errorf("RepoRoot outside the repository = %q, %v; want ErrNoRepo", got, err)
	}
}

func TestBinPathMissingBinary(t *testing.T) {
	t.Setenv(devstack.BinEnv, t.TempDir())
	for _, name := range []string{"vault", "stripe-mock"} {
		_, err := devstack.BinPath(name)
		if !errors.Is(err, devstack.ErrNotBuilt) {
			t.Fatalf("BinPath(%q) error = %v; want ErrNotBuilt", name, err)
		}
		want := `devstack: bin/` + name + ` not found: run "make tools" to build the Vault dev server and stripe-mock`
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("BinPath(%q) error = %q; want it to start %q", name, err, want)
		}
	}

	// The Start functions pass the same error on before doing anything else.
	if _, err := devstack.StartVault(t.Context(), devstack.Options{Dir: t.TempDir()}); !errors.Is(err, devstack.ErrNotBuilt) {
		t.Errorf("StartVault error = %v; want ErrNotBuilt", err)
	}
	if _, err := devstack.StartStripeMock(t.Context(), devstack.Options{}); !errors.Is(err, devstack.ErrNotBuilt) {
		t.Errorf("StartStripeMock error = %v; want ErrNotBuilt", err)
	}
}

func TestBinPathFromEnv(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vault")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(devstack.BinEnv, dir)
	if got, err := devstack.BinPath("vault"); err != nil || got != bin {
		t.Errorf("BinPath = %q, %v; want %q", got, err, bin)
	}
}

func TestFreePort(t *testing.T) {
	a, err := devstack.FreePort()
	if err != nil {
		t.Fatalf("FreePort: %v", err)
	}
	if a <= 0 || a > 65535 {
		t.Fatalf("FreePort = %d; want a TCP port", a)
	}
}
