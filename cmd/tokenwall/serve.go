package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// runServe runs the proxy with a config file until SIGINT or SIGTERM.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("serve", stderr)
	cfg, code := parseAndLoad(fs, path, args, stderr, 1)
	if code != 0 {
		return code
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
