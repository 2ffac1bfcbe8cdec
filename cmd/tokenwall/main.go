// Command tokenwall is the payment tokenization proxy: one binary with a subcommand per file.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tokenwall/tokenwall/logging"
)

const usage = `tokenwall: payment tokenization proxy

usage:
  tokenwall serve --config FILE     run the proxy
  tokenwall check-config --config FILE
                                    validate a config and print it, redacted
  tokenwall scrub [--card-mask brand_last4|first6_last4] [FILE…]
                                    write files (or stdin) to stdout with sensitive data redacted
  tokenwall scan [--json] PATH…     report card numbers and other sensitive data in files;
                                    exit 1 when any is found, 2 on an error
  tokenwall migrate --config FILE   run the store's pending migrations
  tokenwall audit verify|export|prune [--from SEQ] [--to SEQ] --config FILE
                                    check the audit trail (exit 1 naming the first bad record),
                                    write it as JSON lines, or prune past the retention
  tokenwall audit rotate-key --config FILE
                                    write a new audit HMAC key version to Vault (audited);
                                    each record names the version that MACed it
  tokenwall webhooks list [--status S] [--limit N] [--json] --config FILE
                                    show the webhook outbox (never a payload)
  tokenwall webhooks replay --config FILE EVENT_ID
                                    send a dead webhook event again (audited)
  tokenwall keys create --scopes S[,S…] [--name N] | list | revoke KEY_ID --config FILE
                                    manage /v1 API keys (hashes in Vault; audited)
  tokenwall customers erase --config FILE CUSTOMER_ID
                                    erase a customer as DELETE /v1/customers/{id} does
                                    (audited); prints the receipt
  tokenwall report [--from DATE] [--to DATE] [--format html|json|pdf] -o FILE --config FILE
                                    the signed PCI DSS evidence report (audited)
  tokenwall report verify [--sig FILE.sig] --config FILE REPORT
                                    check a report's signature (exit 1 when edited)
`

// command is one subcommand: it gets its arguments and returns the process exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

func main() {
	// Error strings are scrubbed before any logger writes them.
	logging.Setup()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	commands := map[string]command{
		"serve":        runServe,
		"check-config": runCheckConfig,
		"scrub":        runScrub,
		"scan":         runScan,
		"migrate":      runMigrate,
		"audit":        runAudit,
		"webhooks":     runWebhooks,
		"keys":         runKeys,
		"customers":    runCustomers,
		"report":       runReport,
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tokenwall: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	return cmd(ctx, args[1:], stdout, stderr)
}
