package devstack

import (
	"fmt"
	"io"
	"os"
)

// Options says where a child server runs and where its output goes.
type Options struct {
	// Dir is the child's working directory. Vault also gets it as HOME, so that nothing is
	// written to the real home folder; StartVault requires it.
	Dir string
	// Log receives the child's stdout and stderr, scrubbed of card numbers line by line.
	// Tests pass a file in their artifacts folder. Nil discards the output.
	Log io.Writer
}

// logWriter returns o.Log, or io.Discard when it is nil.
func (o Options) logWriter() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}

// checkDir verifies that o.Dir, when set or required, is an existing folder.
func (o Options) checkDir(required bool) error {
	if o.Dir == "" {
		if required {
			return fmt.Errorf("devstack: Options.Dir is required")
		}
		return nil
	}
	fi, err := os.Stat(o.Dir)
	if err != nil {
		return fmt.Errorf("devstack: Options.Dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("devstack: Options.Dir %s is not a folder", o.Dir)
	}
	return nil
}
