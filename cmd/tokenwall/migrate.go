package main

import (
	"fmt"
)

// migrateCmd runs the store's pending migrations alone (serve runs them at start too).
type migrateCmd struct {
	configFlag
}

func (c *migrateCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 1)
	if code != 0 {
		return code
	}
	ac, err := dialAdmin(e.ctx, cfg)
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	st, err := ac.open(e.ctx)
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	defer st.Close()
	v, err := st.SchemaVersion(e.ctx)
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	fmt.Fprintf(e.stdout, "store %s at schema version %d\n", cfg.Store.Driver, v)
	return 0
}
