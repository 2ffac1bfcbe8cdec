package devstack

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Module is the module path RepoRoot looks for.
const Module = "github.com/tokenwall/tokenwall"

// BinEnv names the environment variable that overrides the folder holding the dev binaries.
const BinEnv = "TOKENWALL_BIN"

// ErrNotBuilt reports that a dev server binary has not been built yet.
var ErrNotBuilt = errors.New(`run "make tools" to build the Vault dev server and stripe-mock`)

// ErrNoRepo reports that no parent folder of the working directory holds tokenwall's go.mod.
var ErrNoRepo = errors.New("devstack: not inside the " + Module + " repository")

// RepoRoot walks up from the working directory to the folder whose go.mod declares Module.
// Nested modules (tools/) are passed over.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("devstack: working directory: %w", err)
	}
	for {
		mod, err := modulePath(filepath.Join(dir, "go.mod"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		if mod == Module {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoRepo
		}
		dir = parent
	}
}

// modulePath reads the module line of a go.mod file.
func modulePath(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", fmt.Errorf("devstack: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '\t') {
			continue
		}
		rest, _, _ = strings.Cut(rest, "//")
		return strings.Trim(strings.TrimSpace(rest), `"`+"`"), nil
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("devstack: read %s: %w", gomod, err)
	}
	return "", nil
}

// BinPath returns the path of the dev binary name: $TOKENWALL_BIN/name when that variable is
// set, else <RepoRoot>/bin/name. A missing binary gives an error wrapping ErrNotBuilt.
func BinPath(name string) (string, error) {
	dir := os.Getenv(BinEnv)
	if dir == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin")
	}
	path := filepath.Join(dir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("devstack: bin/%s not found: %w (%w)", name, ErrNotBuilt, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("devstack: bin/%s at %s is not an executable file: %w", name, path, ErrNotBuilt)
	}
	return path, nil
}
