// Package vault is tokenwall's only user of hashicorp/vault/api. It authenticates (a token
// file that a Vault Agent may rotate, AppRole, or Kubernetes service account), reads secrets
// from KV v2 into an in-memory cache that it refreshes in the background, keeps its token
// alive (Vault's lifetime watcher for logins, a new login when renewal stops, the token file
// re-read when it changes or Vault refuses the token), and reports how old each cached
// secret is so that callers can fail closed once the cache is too old. A secret whose value
// ends with a newline is refused by name (ErrNewline).
package vault
