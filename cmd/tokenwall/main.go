// Command tokenwall is the payment tokenization proxy: one binary with a subcommand per file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/tokenwall/tokenwall/logging"
)

// description heads `tokenwall --help`.
const description = `Payment tokenization proxy, and the operator's commands around it.

Every command answers --help. Exit codes: 0 done; 1 a failure: for serve, check-config,
migrate and healthcheck any failure, for the others the one they name (a trail that does not
verify, findings of scan, an unknown key or event); 2 bad usage (the usage is printed on
stderr, and nothing was read, connected to or opened) or, for the maintenance commands, a
failure to reach Vault, the store or a file.`

// cli is the command line: one field per command, one file per command.
type cli struct {
	Serve       serveCmd       `cmd:"" help:"Run the proxy."`
	CheckConfig checkConfigCmd `cmd:"" name:"check-config" help:"Validate a config and print it, redacted; --preflight also checks its files, Vault, the policy and the store."`
	Scrub       scrubCmd       `cmd:"" help:"Write files (or stdin) to stdout with sensitive data redacted."`
	Scan        scanCmd        `cmd:"" help:"Report card numbers and other sensitive data in files (exit 1 when any is found)."`
	Migrate     migrateCmd     `cmd:"" help:"Run the store's pending migrations."`
	Audit       auditCmd       `cmd:"" help:"Verify, export, prune or restore the audit trail, or rotate its key."`
	Webhooks    webhooksCmd    `cmd:"" help:"Show the webhook outbox or replay a dead event."`
	Keys        keysCmd        `cmd:"" help:"Manage the /v1 API keys (hashes in Vault; audited)."`
	Customers   customersCmd   `cmd:"" help:"Erase a customer (audited)."`
	Report      reportCmd      `cmd:"" help:"Write the signed PCI DSS evidence report, or verify one."`
	Pages       pagesCmd       `cmd:"" help:"Show, baseline, approve or check the payment pages (script inventory, PCI DSS 6.4.3 and 11.6.1)."`
	Version     versionCmd     `cmd:"" help:"Print the version, commit and Go version of this build."`
	Healthcheck healthcheckCmd `cmd:"" help:"Exit 0 when the running tokenwall is ready (GET /readyz on the admin listener), 1 otherwise."`
}

// cmdEnv is what a command runs with.
type cmdEnv struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// runner is a command: it runs and returns the process exit code. Flags and arguments are
// parsed and checked (kong's Validate) before run is called.
type runner interface {
	run(e cmdEnv) int
}

func main() {
	// Error strings are scrubbed before any logger writes them.
	logging.Setup()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args and runs the command they name, with stdin from the process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, args, os.Stdin, stdout, stderr)
}

// runWith is run with stdin passed in. Bad usage (an unknown command or flag, a missing or
// extra argument, a value a command's Validate refuses) prints the command's usage and the
// problem on stderr and returns 2 before any command runs; --help prints the usage on stdout
// and returns 0.
func runWith(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "help" { // "tokenwall help keys" is "tokenwall keys --help"
		args = append(append([]string(nil), args[1:]...), "--help")
	}
	var c cli
	exited := -1
	k, err := kong.New(&c, kong.Name("tokenwall"), kong.Description(description),
		kong.Writers(stdout, stderr), kong.Exit(func(code int) { exited = code }),
		kong.Help(helpPrinter), kong.ConfigureHelp(kong.HelpOptions{WrapUpperBound: 100}))
	if err != nil { // a mistake in the grammar above: TestEveryCommandAnswersHelp catches it
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	kctx, err := k.Parse(args)
	if exited >= 0 { // --help was printed
		return exited
	}
	if err != nil {
		return usageError(k, err, stderr)
	}
	r, ok := selected(kctx)
	if !ok {
		fmt.Fprintf(stderr, "tokenwall: %q is not a command\n", kctx.Command())
		return 2
	}
	return r.run(cmdEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr})
}

// selected is the runner of the command kctx names.
func selected(kctx *kong.Context) (runner, bool) {
	node := kctx.Selected()
	if node == nil || !node.Target.CanAddr() {
		return nil, false
	}
	v := node.Target.Addr()
	if v.Kind() != reflect.Pointer {
		return nil, false
	}
	r, ok := v.Interface().(runner)
	return r, ok
}

// usageError prints the usage of the command err is about, then err, on stderr, and
// returns exit code 2.
func usageError(k *kong.Kong, err error, stderr io.Writer) int {
	var pe *kong.ParseError
	if errors.As(err, &pe) && pe.Context != nil {
		k.Stdout = stderr
		_ = pe.Context.PrintUsage(false)
		fmt.Fprintln(stderr)
	}
	fmt.Fprintf(stderr, "tokenwall: %v\n", err)
	return 2
}
