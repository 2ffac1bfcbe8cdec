package devstack_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
)

func TestStartVaultNeedsDir(t *testing.T) {
	if _, err := devstack.StartVault(t.Context(), devstack.Options{}); err == nil || !strings.Contains(err.Error(), "Options.Dir") {
		t.Errorf("StartVault without Dir: error = %v; want one naming Options.Dir", err)
	}
}

// A child that dies at once is reported at once, with its last output scrubbed of the card
// number it printed.
func TestStartDetectsEarlyExit(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'starting'\necho 'boom: card 4242424242424242 refused' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "vault"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(devstack.BinEnv, dir)
	log := testkit.LogFile(t, "fake-vault.log")

	start := time.Now()
	_, err := devstack.StartVault(t.Context(), devstack.Options{Dir: t.TempDir(), Log: log})
	elapsed := time.Since(start)
	if !errors.Is(err, devstack.ErrNotReady) {
		t.Fatalf("StartVault with a failing binary: error = %v; want ErrNotReady", err)
	}
	if elapsed > 10*time.Second {
		t.Errorf("early exit took %s to notice; want well under the 30 s start bound", elapsed)
	}
	msg := err.Error()
	for _, want := range []string{"exit status 3", "boom: card [card:visa:4242] refused", "starting"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "4242424242424242") {
		t.Error("error holds the card number unscrubbed")
	}
	logged, rerr := os.ReadFile(log.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	if !strings.Contains(string(logged), "[card:visa:4242]") || strings.Contains(string(logged), "4242424242424242") {
		t.Error("child log is not scrubbed")
	}
}
