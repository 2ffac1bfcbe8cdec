package main

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// checkConfigCmd loads and validates a config and prints the redacted effective config;
// with --preflight it checks, instead, what the config points at (preflight.go).
type checkConfigCmd struct {
	configFlag
	Preflight bool `help:"Also check the TLS and CA files, that Vault answers and the policy grants what the config needs, and that the store is writable; print the checks (exit 1 when one fails)."`
	JSON      bool `name:"json" help:"Print the config as JSON; with --preflight, one JSON object a check."`
}

func (c *checkConfigCmd) run(e cmdEnv) int {
	cfg, code := c.load(e.stderr, 1)
	if code != 0 {
		return code
	}
	if c.Preflight {
		fmt.Fprintln(e.stderr, "tokenwall: config is valid")
		return runPreflight(e, cfg, c.JSON)
	}
	out, err := cfg.Redacted()
	if err != nil {
		return fail(e.stderr, 1, err)
	}
	if c.JSON {
		if out, err = yamlToJSON(out); err != nil {
			return fail(e.stderr, 1, err)
		}
	}
	_, _ = e.stdout.Write(out)
	fmt.Fprintln(e.stderr, "tokenwall: config is valid")
	return 0
}

// yamlToJSON re-encodes a YAML document as indented JSON.
func yamlToJSON(y []byte) ([]byte, error) {
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		return nil, fmt.Errorf("config as JSON: %w", err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("config as JSON: %w", err)
	}
	return append(b, '\n'), nil
}
