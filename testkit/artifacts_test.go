package testkit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
)

func TestArtifactsRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	t.Setenv(testkit.ArtifactsEnv, dir)
	got, err := testkit.ArtifactsRoot()
	if err != nil || got != dir {
		t.Fatalf("ArtifactsRoot = %q, %v; want %q", got, err, dir)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("ArtifactsRoot did not create %s: %v", dir, err)
	}

	// A relative value is taken from the repository root, not from this package's folder.
	t.Setenv(testkit.ArtifactsEnv, "")
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := testkit.ResolveArtifactsPath(".artifacts"); err != nil || got != filepath.Join(root, ".artifacts") {
		t.Errorf("ResolveArtifactsPath(.artifacts) = %q, %v; want it under %s", got, err, root)
	}
}

func TestArtifactsDirAndLogFile(t *testing.T) {
	root := t.TempDir()
	t.Setenv(testkit.ArtifactsEnv, root)
	var logPath string
	t.Run("sub test/../odd: name", func(t *testing.T) {
		dir := testkit.ArtifactsDir(t)
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("ArtifactsDir %s is outside the root %s", dir, root)
		}
		if want := filepath.Join("TestArtifactsDirAndLogFile", "sub_test", "__", "odd__name"); rel != want {
			t.Errorf("ArtifactsDir = <root>/%s; want <root>/%s", rel, want)
		}
		f := testkit.LogFile(t, "child.log")
		if _, err := f.WriteString("hello\n"); err != nil {
			t.Fatal(err)
		}
		logPath = f.Name()
	})
	// The subtest's cleanup closed the file and kept it.
	got, err := os.ReadFile(logPath)
	if err != nil || string(got) != "hello\n" {
		t.Errorf("log file after the test: %q, %v", got, err)
	}
	if filepath.Dir(logPath) == root {
		t.Error("log file written in the root, not the test's folder")
	}
}
