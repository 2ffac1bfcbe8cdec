package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tokenwall/tokenwall/config"
)

// runCheckConfig loads and validates a config and prints the redacted effective config.
func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("check-config", stderr)
	cfg, code := parseAndLoad(fs, path, args, stderr, 1)
	if code != 0 {
		return code
	}
	out, err := cfg.Redacted()
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	_, _ = stdout.Write(out)
	fmt.Fprintln(stderr, "tokenwall: config is valid")
	return 0
}

// configFlags returns a subcommand's flag set with the --config flag every subcommand that
// reads a config shares.
func configFlags(name string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs, fs.String("config", os.Getenv("TOKENWALL_CONFIG"), "config file (or TOKENWALL_CONFIG)")
}

// parseAndLoad parses args and loads the config named by path. On failure it reports to
// stderr and returns exit code 2 for bad arguments or failCode for a bad config; 0 means ok.
func parseAndLoad(fs *flag.FlagSet, path *string, args []string, stderr io.Writer, failCode int) (config.Config, int) {
	if err := fs.Parse(args); err != nil {
		return config.Config{}, 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return config.Config{}, failCode
	}
	return cfg, 0
}

// loadConfig reads, overrides from the environment and validates a config file.
func loadConfig(path string) (config.Config, error) {
	if path == "" {
		return config.Config{}, fmt.Errorf("no config: pass --config FILE or set TOKENWALL_CONFIG")
	}
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return config.Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return config.Config{}, fmt.Errorf("config %s is invalid:\n%w", path, err)
	}
	return cfg, nil
}
