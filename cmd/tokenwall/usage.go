package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/alecthomas/kong"

	"github.com/tokenwall/tokenwall/config"
)

// helpPrinter is kong's help, starting "usage:" like the rest of tokenwall's messages.
func helpPrinter(o kong.HelpOptions, ctx *kong.Context) error {
	out := ctx.Stdout
	var buf bytes.Buffer
	ctx.Stdout = &buf
	err := kong.DefaultHelpPrinter(o, ctx)
	ctx.Stdout = out
	b := buf.Bytes()
	if rest, ok := bytes.CutPrefix(b, []byte("Usage:")); ok {
		b = append([]byte("usage:"), rest...)
	}
	if _, werr := out.Write(b); err == nil {
		err = werr
	}
	return err
}

// configFlag is the --config flag of every command that reads a config.
type configFlag struct {
	Config string `name:"config" placeholder:"FILE" env:"TOKENWALL_CONFIG" required:"" help:"The config file."`
}

// load reads, overrides from the environment and validates the config. On failure it
// reports to stderr and returns failCode (1 for serve and check-config, 2 for the
// maintenance commands); 0 means ok.
func (f configFlag) load(stderr io.Writer, failCode int) (config.Config, int) {
	cfg, err := loadConfig(f.Config)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return config.Config{}, failCode
	}
	return cfg, 0
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

// fail prints err on stderr and returns code.
func fail(stderr io.Writer, code int, err error) int {
	fmt.Fprintf(stderr, "tokenwall: %v\n", err)
	return code
}
