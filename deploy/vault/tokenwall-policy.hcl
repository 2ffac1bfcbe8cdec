# Vault policy for tokenwall: read its own KV v2 secrets, nothing else. Apply with
#   vault policy write tokenwall deploy/vault/tokenwall-policy.hcl
# Later features add transit signing of audit checkpoints (transit/sign/tokenwall-audit).

path "secret/data/tokenwall/*" {
  capabilities = ["read"]
}

path "secret/metadata/tokenwall/*" {
  capabilities = ["read"]
}

# Let tokenwall look up and renew its own token.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}
