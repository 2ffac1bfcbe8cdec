package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

// runServe runs the proxy with a config file until SIGINT or SIGTERM.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
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
	st, err := start(ctx, cfg, stdout, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	if err := st.serve(ctx); err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	return 0
}
