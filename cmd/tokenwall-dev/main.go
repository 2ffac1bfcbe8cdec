// Command tokenwall-dev runs the whole development stack on loopback (what `make run` does):
// a Vault dev server with fresh secrets, stripe-mock, the demo billing app and tokenwall with
// a self-signed certificate. It is a separate binary so that the production one,
// cmd/tokenwall, links none of the dev and test machinery (devstack, the fault-injecting
// proxy, the demo app).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenwall/tokenwall/logging"
)

func main() {
	// Error strings are scrubbed before any logger writes them.
	logging.Setup()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(runDev(ctx, os.Args[1:], os.Stdout, os.Stderr))
}
