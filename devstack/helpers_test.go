package devstack_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/testkit"
)

// startVault starts a Vault dev server logging to the test's artifacts; cleanup stops it.
func startVault(t *testing.T) (*devstack.Vault, string) {
	t.Helper()
	home := t.TempDir()
	v, err := devstack.StartVault(t.Context(), devstack.Options{Dir: home, Log: testkit.LogFile(t, "vault.log")})
	if err != nil {
		t.Fatalf("start vault: %v", err)
	}
	t.Cleanup(func() {
		if err := v.Stop(); err != nil {
			t.Errorf("stop vault: %v", err)
		}
	})
	return v, home
}

// startStripeMock starts stripe-mock logging to the test's artifacts; cleanup stops it. It
// returns the log file's path too.
func startStripeMock(t *testing.T) (*devstack.StripeMock, string) {
	t.Helper()
	log := testkit.LogFile(t, "stripe-mock.log")
	s, err := devstack.StartStripeMock(t.Context(), devstack.Options{Dir: t.TempDir(), Log: log})
	if err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop stripe-mock: %v", err)
		}
	})
	return s, log.Name()
}

// newClient returns a client that opens a new connection per request, so that Go's transport
// never replays a request on a dropped, reused connection.
func newClient(t *testing.T, timeout time.Duration) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: timeout}
}
