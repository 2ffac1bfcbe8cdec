package config

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// YAML encodes c as a config file that Parse reads back to c. The configuration holds no
// secret by design (only where secrets are); `tokenwall-dev` writes the one it runs with, so
// every subcommand can be pointed at it. Redacted is for printing one that may hold a secret.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	return buf.Bytes(), nil
}
