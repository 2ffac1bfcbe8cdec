# The operator's policy for tokenwall's maintenance commands, for a person or a pipeline, never
# for `tokenwall serve` (which runs with tokenwall-policy.hcl). deploy/vault/setup.sh writes
# it as "tokenwall-operator"; give it to the operators' Vault identities (an OIDC group, say),
# or for one task: vault token create -policy=tokenwall-operator -ttl=1h
#
# What needs it:
#   tokenwall keys create / revoke    write the API key set (check-and-set)
#   tokenwall audit rotate-key        write a new version of the audit HMAC key
#   tokenwall audit restore           move the audit anchor back to a restored database
#   tokenwall webhooks replay         record the replay in the audit trail
# Each of these writes its own audit record, which takes what the runtime policy has: read
# the audit key, sign with the transit key, write the anchor.
#
# It deletes nothing: old API key sets, old audit keys and anchor versions stay in Vault's
# version history, which `audit verify` and the reports read. The Stripe key, the signing key
# and the webhook secret are set by whoever runs setup.sh, not by this policy.

path "secret/data/tokenwall/*" {
  capabilities = ["read"]
}

path "secret/metadata/tokenwall/*" {
  capabilities = ["read"]
}

path "secret/data/tokenwall/api-keys" {
  capabilities = ["create", "update", "read"]
}

path "secret/data/tokenwall/audit-hmac" {
  capabilities = ["create", "update", "read"]
}

path "secret/data/tokenwall/audit-anchor" {
  capabilities = ["create", "update", "read"]
}

path "transit/sign/tokenwall-audit" {
  capabilities = ["update"]
}

path "transit/verify/tokenwall-audit" {
  capabilities = ["update"]
}

path "transit/keys/tokenwall-audit" {
  capabilities = ["read"]
}

path "auth/token/lookup-self" {
  capabilities = ["read"]
}

path "auth/token/renew-self" {
  capabilities = ["update"]
}

path "sys/capabilities-self" {
  capabilities = ["update"]
}
