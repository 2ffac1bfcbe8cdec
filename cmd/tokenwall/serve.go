package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tokenwall/tokenwall/app"
)

// runServe runs the proxy with a config file until SIGINT or SIGTERM.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("serve", stderr)
	cfg, code := parseAndLoad(fs, path, args, stderr, 1)
	if code != 0 {
		return code
	}
	a, err := app.Build(ctx, cfg, app.Options{Stdout: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	if err := errors.Join(a.Run(ctx), a.Close()); err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	return 0
}
