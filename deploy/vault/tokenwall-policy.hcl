# Vault policy for tokenwall: read its own KV v2 secrets, nothing else. Apply with
#   vault policy write tokenwall deploy/vault/tokenwall-policy.hcl
# Secrets under secret/tokenwall/: stripe (API key), signing (Tokenwall-Signature key),
# audit-hmac (audit trail MAC key), stripe-webhook (webhook endpoint secret, whsec_...).

path "secret/data/tokenwall/*" {
  capabilities = ["read"]
}

path "secret/metadata/tokenwall/*" {
  capabilities = ["read"]
}

# The audit trail's anchor: each signed checkpoint is written as a new version, with
# check-and-set. tokenwall may add versions and read them, never delete, undelete or
# destroy them (no "delete" here, no secret/delete/, secret/destroy/ or metadata write),
# so its history, which `tokenwall audit verify` reads, only grows.
path "secret/data/tokenwall/audit-anchor" {
  capabilities = ["create", "update", "read"]
}

# Let tokenwall look up and renew its own token.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

# Sign and verify audit checkpoints with the transit key; the private key never leaves Vault.
path "transit/sign/tokenwall-audit" {
  capabilities = ["update"]
}

path "transit/verify/tokenwall-audit" {
  capabilities = ["update"]
}
