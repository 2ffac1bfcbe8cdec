package pgtest

import (
	"context"
	"testing"

	"github.com/tokenwall/tokenwall/testkit"
)

// StartT starts a cluster for one test, with the server log in the test's artifacts
// folder (postgres.log), and stops it when the test ends. It fails the test when the
// cluster cannot start.
func StartT(t testing.TB) *Cluster {
	t.Helper()
	log := testkit.LogFile(t, "postgres.log")
	c, err := Start(context.Background(), "", log)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	// Registered after LogFile's cleanup, so it runs first: the log is closed after the server.
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}
