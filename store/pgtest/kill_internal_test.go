package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/testkit"
)

// helperEnv tells the test binary to run TestHelperCluster as a cluster-owning child.
const helperEnv = "PGTEST_HELPER_PARENT"

// TestHelperCluster is not a test on its own: TestKilledTestLeavesNoServer runs the test
// binary with helperEnv set to get a cluster owned by a process it can SIGKILL.
func TestHelperCluster(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("runs only as TestKilledTestLeavesNoServer's child")
	}
	c, err := Start(context.Background(), dir, os.Stderr)
	if err != nil {
		fmt.Printf("ERR %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("READY %d %s\n", c.srv.cmd.Process.Pid, c.root)
	time.Sleep(time.Hour) // until killed
}

func TestKilledTestLeavesNoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster in a child process")
	}
	// The postgres user must be able to reach the cluster folder: t.TempDir's is private.
	dir, err := os.MkdirTemp("", "pgtest-kill-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCluster$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = testkit.LogFile(t, "helper.log")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "READY ") || strings.HasPrefix(l, "ERR ") {
				line <- l
				return
			}
		}
		line <- "ERR helper exited without starting a cluster"
	}()
	var pid int
	var root string
	select {
	case l := <-line:
		if _, err := fmt.Sscanf(l, "READY %d %s", &pid, &root); err != nil {
			t.Fatalf("helper: %s", l)
		}
	case <-time.After(2 * readyTimeout):
		t.Fatal("helper did not start a cluster")
	}
	family := append([]int{pid}, childrenOf(pid)...)
	if len(family) < 3 {
		t.Fatalf("postmaster %d has children %v; expected its background workers", pid, family[1:])
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for _, p := range family {
		for alive(p) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d of the killed test's server (postmaster %d) still running", p, pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The next Start sweeps the folder the killed process left.
	if _, err := os.Stat(root); err != nil {
		t.Fatalf("killed helper's folder: %v", err)
	}
	sweepStale(dir)
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale folder %s not swept: %v", root, err)
	}
}

// childrenOf lists the processes whose parent is pid, from /proc.
func childrenOf(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:]) // state, ppid, ...
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if child, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
				out = append(out, child)
			}
		}
	}
	return out
}
