package main

import (
	"encoding/json"
	"fmt"

	"github.com/tokenwall/tokenwall/app"
)

// versionCmd prints which build this is: the version and commit stamped at link time
// (`make build` stamps them with -ldflags -X, see app.Version) and the Go version.
type versionCmd struct {
	JSON bool `name:"json" help:"Print {\"version\",\"commit\",\"go_version\"}."`
}

func (c *versionCmd) run(e cmdEnv) int {
	b := app.Version()
	if c.JSON {
		if err := json.NewEncoder(e.stdout).Encode(b); err != nil {
			return fail(e.stderr, 2, err)
		}
		return 0
	}
	fmt.Fprintf(e.stdout, "tokenwall %s (commit %s, %s)\n", b.Version, b.Commit, b.GoVersion)
	return 0
}
