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
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", os.Getenv("TOKENWALL_CONFIG"), "config file (or TOKENWALL_CONFIG)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
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
