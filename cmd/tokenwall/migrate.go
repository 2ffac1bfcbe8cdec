package main

import (
	"context"
	"fmt"
	"io"
)

// runMigrate runs the store's pending migrations alone (serve runs them at start too).
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, path := configFlags("migrate", stderr)
	cfg, code := parseAndLoad(fs, path, args, stderr, 1)
	if code != 0 {
		return code
	}
	ac, err := dialAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	st, err := ac.open(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	defer st.Close()
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "store %s at schema version %d\n", cfg.Store.Driver, v)
	return 0
}
