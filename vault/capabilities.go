package vault

import (
	"context"
	"fmt"
	"slices"
)

// Capabilities asks Vault (sys/capabilities-self) what tokenwall's own token may do on each
// of paths, which are full API paths ("secret/data/tokenwall/stripe", "transit/sign/KEY").
// Each answer is Vault's list: "read", "create", "update", …, "deny", or "root".
func (c *Client) Capabilities(ctx context.Context, paths []string) (map[string][]string, error) {
	out := make(map[string][]string, len(paths))
	for _, p := range paths {
		caps, err := c.api.Sys().CapabilitiesSelfWithContext(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("vault: capabilities of %s: %w", p, classify(err))
		}
		out[p] = caps
	}
	return out, nil
}

// Grants reports whether a capability list answered by Capabilities allows every one of
// want: "root" allows everything, "deny" nothing.
func Grants(caps []string, want ...string) bool {
	if slices.Contains(caps, "deny") {
		return false
	}
	if slices.Contains(caps, "root") {
		return true
	}
	for _, w := range want {
		if !slices.Contains(caps, w) {
			return false
		}
	}
	return true
}

// KVDataPath is the API path of a KV v2 secret's data: MOUNT/data/PATH.
func (c *Client) KVDataPath(path string) string { return c.opts.KVMount + "/data/" + path }

// KVMetadataPath is the API path of a KV v2 secret's metadata (its versions): MOUNT/metadata/PATH.
func (c *Client) KVMetadataPath(path string) string { return c.opts.KVMount + "/metadata/" + path }
