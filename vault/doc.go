// Package vault is tokenwall's only user of hashicorp/vault/api. It authenticates (token or
// AppRole), reads secrets from KV v2 into an in-memory cache that it refreshes in the
// background, renews its own token, and reports how old each cached secret is so that callers
// can fail closed once the cache is too old.
package vault
