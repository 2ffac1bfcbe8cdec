package main

import (
	"errors"

	"github.com/tokenwall/tokenwall/app"
)

// serveCmd runs the proxy until SIGINT or SIGTERM.
type serveCmd struct {
	configFlag
}

func (c *serveCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 1)
	if code != 0 {
		return code
	}
	a, err := app.Build(e.ctx, cfg, app.Options{Stdout: e.stdout})
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	if err := errors.Join(a.Run(e.ctx), a.Close()); err != nil {
		return fail(e.stderr, 1, err)
	}
	return 0
}
