package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries means no PostgreSQL server binaries (initdb, postgres, pg_dump) were found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: apt-get install postgresql (.ci/run installs it)")

// debianBinGlob is where Debian and Ubuntu install each major version's server binaries.
const debianBinGlob = "/usr/lib/postgresql/*/bin"

// required are the programs a cluster needs from the folder.
var required = [...]string{"initdb", "postgres", "pg_dump"}

// finder locates the server binaries; its fields are the places it looks, so that tests
// can point it at an empty world.
type finder struct {
	// pgConfig is the pg_config to ask for --bindir ("" skips it).
	pgConfig string
	// glob matches candidate folders, the highest major version wins ("" skips it).
	glob string
}

// defaultFinder asks the pg_config on PATH, then falls back to Debian's layout.
func defaultFinder() finder {
	return finder{pgConfig: "pg_config", glob: debianBinGlob}
}

// binDir returns the folder holding initdb, postgres and pg_dump. pg_config alone is not
// enough: libpq-dev ships one that names /usr/bin, which holds only the client wrappers.
func (f finder) binDir(ctx context.Context) (string, error) {
	var tried []string
	if f.pgConfig != "" {
		if path, err := exec.LookPath(f.pgConfig); err == nil {
			out, err := exec.CommandContext(ctx, path, "--bindir").Output()
			if err == nil {
				dir := strings.TrimSpace(string(bytes.TrimSpace(out)))
				if hasServer(dir) {
					return dir, nil
				}
				tried = append(tried, dir)
			}
		}
	}
	if f.glob != "" {
		dirs, err := filepath.Glob(f.glob)
		if err != nil {
			return "", fmt.Errorf("pgtest: %s: %w", f.glob, err)
		}
		sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
		for _, d := range dirs {
			if hasServer(d) {
				return d, nil
			}
			tried = append(tried, d)
		}
	}
	if len(tried) > 0 {
		return "", fmt.Errorf("%w (looked in %s)", ErrNoBinaries, strings.Join(tried, ", "))
	}
	return "", ErrNoBinaries
}

// hasServer reports whether dir holds every required program.
func hasServer(dir string) bool {
	if dir == "" {
		return false
	}
	for _, name := range required {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// majorOf reads the major version from a path like /usr/lib/postgresql/15/bin (0 if none).
func majorOf(dir string) int {
	n, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	if err != nil {
		return 0
	}
	return n
}
