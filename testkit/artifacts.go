package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

// ArtifactsEnv names the environment variable that sets the artifacts folder.
const ArtifactsEnv = "TOKENWALL_ARTIFACTS"

// ResolveArtifactsPath makes p absolute. A relative p is taken from the repository root, not
// from the working directory, which go test sets to each package's folder.
func ResolveArtifactsPath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return filepath.Clean(p), nil
	}
	root, err := devstack.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("testkit: artifacts folder: %w", err)
	}
	return filepath.Join(root, p), nil
}

// ArtifactsRoot returns the artifacts folder, $TOKENWALL_ARTIFACTS or <repo>/.artifacts, and
// creates it.
func ArtifactsRoot() (string, error) {
	p := os.Getenv(ArtifactsEnv)
	if p == "" {
		p = ".artifacts"
	}
	dir, err := ResolveArtifactsPath(p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testkit: artifacts folder: %w", err)
	}
	return dir, nil
}

// ArtifactsDir returns the test's own folder under ArtifactsRoot, named after t.Name() with
// each subtest a subfolder, and creates it. It is kept after the test, for inspection and
// for the final card scan.
func ArtifactsDir(t testing.TB) string {
	t.Helper()
	root, err := ArtifactsRoot()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	parts := strings.Split(t.Name(), "/")
	for i, p := range parts {
		parts[i] = sanitize(p)
	}
	dir := filepath.Join(append([]string{root}, parts...)...)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("testkit: artifacts folder: %v", err)
	}
	return dir
}

// LogFile creates (or truncates) the file name in ArtifactsDir(t); t.Cleanup closes it.
func LogFile(t testing.TB, name string) *os.File {
	t.Helper()
	path := filepath.Join(ArtifactsDir(t), sanitize(name))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("testkit: close %s: %v", path, err)
		}
	})
	return f
}

// sanitize turns one path element into a safe file name: letters, digits, '.', '_' and '-'
// are kept, anything else becomes '_', and names made only of dots are replaced.
func sanitize(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			b[i] = '_'
		}
	}
	if strings.Trim(string(b), ".") == "" {
		return strings.Repeat("_", max(len(b), 1))
	}
	return string(b)
}
