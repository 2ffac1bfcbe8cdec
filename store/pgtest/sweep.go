package pgtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sweepStale removes cluster folders in dir left by test processes that were killed before
// their Stop ran (their servers died with them). A folder is stale when the process named in
// its owner file is gone and no server holds its data folder. Errors are ignored: sweeping
// is a courtesy, and another process may be sweeping too.
func sweepStale(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		root := filepath.Join(dir, e.Name())
		if alive(pidIn(filepath.Join(root, ownerFile))) || alive(pidIn(filepath.Join(root, "data", "postmaster.pid"))) {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, ownerFile)); err != nil {
			// No owner file: a Start that has only just made the folder, or not ours.
			continue
		}
		_ = os.RemoveAll(root)
	}
}

// pidIn reads the pid on the first line of path (0 when there is none).
func pidIn(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0
	}
	return pid
}

// alive reports whether process pid exists and is not a zombie (a killed server whose
// new parent does not reap it is dead all the same).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	// Where there is a /proc, its stat line says "pid (comm) S ...": Z and X are dead.
	if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
			return b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return true
}
