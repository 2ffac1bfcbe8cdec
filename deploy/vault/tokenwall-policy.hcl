# tokenwall's runtime policy: what `tokenwall serve` needs, nothing more. deploy/vault/setup.sh
# writes it as "tokenwall" and binds the AppRole and Kubernetes roles to it; a Vault Agent
# token for tokenwall should carry it alone (token_no_default_policy). Apply by hand with
#   vault policy write tokenwall deploy/vault/tokenwall-policy.hcl
#
# It reads tokenwall's KV v2 secrets under secret/tokenwall/: stripe (API key), signing
# (Tokenwall-Signature key), audit-hmac (audit trail MAC key, every version: records name the
# version that MACed them), stripe-webhook (webhook endpoint secrets, whsec_...), api-keys
# (the /v1 key set: ids, scopes and hashes), postgres (database password, with the postgres
# store). It writes nothing there but new versions of the audit anchor, and changes no
# metadata: creating API keys, rotating the audit key and restoring the trail are the
# operator's (tokenwall-operator-policy.hcl). If you move the secrets (vault.kv_mount, the
# *_path keys), change the paths here to match.

path "secret/data/tokenwall/*" {
  capabilities = ["read"]
}

# Version lists: the audit key's versions (verifying records MACed before a rotation) and the
# anchor's history (`audit verify`, the report's chain evidence).
path "secret/metadata/tokenwall/*" {
  capabilities = ["read"]
}

# The audit trail's anchor: each signed checkpoint is written as a new version, with
# check-and-set. tokenwall may add versions and read them, never delete, undelete or
# destroy them (no "delete" here, no secret/delete/, secret/undelete/, secret/destroy/ or
# metadata write), so its history, which `tokenwall audit verify` reads, only grows.
path "secret/data/tokenwall/audit-anchor" {
  capabilities = ["create", "update", "read"]
}

# Sign and verify audit checkpoints and reports with the transit key; the private key never
# leaves Vault (the key is not exportable, and this policy cannot rotate, export or delete it).
path "transit/sign/tokenwall-audit" {
  capabilities = ["update"]
}

path "transit/verify/tokenwall-audit" {
  capabilities = ["update"]
}

# The transit key's versions and creation times, which the compliance report shows as the
# key's cryptoperiod evidence (PCI DSS 3.6/3.7). Reading it shows public keys only.
path "transit/keys/tokenwall-audit" {
  capabilities = ["read"]
}

# Its own token: look it up and renew it (the lifetime watcher), and ask which of these
# capabilities it holds (`tokenwall check-config --preflight`).
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "sys/capabilities-self" {
  capabilities = ["update"]
}
