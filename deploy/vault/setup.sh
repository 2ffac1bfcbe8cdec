#!/usr/bin/env bash
# Prepare a Vault for tokenwall: the policy, an AppRole bound to it, the secrets and the
# transit key that signs audit checkpoints.
# Run by an operator with a Vault token allowed to do so (VAULT_ADDR and VAULT_TOKEN set).
# The secrets are read from the terminal or from files, never from arguments, so they do not
# land in shell history or `ps`.
#
#   deploy/vault/setup.sh STRIPE_KEY_FILE [SIGNING_KEY_FILE]
#
# Without SIGNING_KEY_FILE a random 32-byte signing key is generated; give the same key to
# the billing app (it verifies Tokenwall-Signature with it). The audit trail's HMAC key is
# always generated here. With WEBHOOK_SECRET_FILE set, the Stripe webhook endpoint secret
# (whsec_..., from the Stripe dashboard) is stored for webhooks.secret_paths.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
stripe_file=${1:?usage: setup.sh STRIPE_KEY_FILE [SIGNING_KEY_FILE]}
signing_file=${2:-}

vault secrets list -format=json | grep -q '"secret/"' || vault secrets enable -path=secret kv-v2
vault policy write tokenwall "$here/tokenwall-policy.hcl"
vault auth list -format=json | grep -q '"approle/"' || vault auth enable approle
vault write auth/approle/role/tokenwall token_policies=tokenwall token_ttl=1h token_max_ttl=24h secret_id_ttl=0

vault kv put secret/tokenwall/stripe value=@"$stripe_file" >/dev/null
if [ -n "$signing_file" ]; then
	vault kv put secret/tokenwall/signing value=@"$signing_file" >/dev/null
else
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | vault kv put secret/tokenwall/signing value=- >/dev/null
fi

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | vault kv put secret/tokenwall/audit-hmac value=- >/dev/null
# The audit anchor: keep 1000 versions of its history (about 1000 checkpoints; the runtime
# policy cannot change this, nor delete versions).
vault kv metadata put -max-versions=1000 secret/tokenwall/audit-anchor >/dev/null
if [ -n "${WEBHOOK_SECRET_FILE:-}" ]; then
	vault kv put secret/tokenwall/stripe-webhook value=@"$WEBHOOK_SECRET_FILE" >/dev/null
fi
vault secrets list -format=json | grep -q '"transit/"' || vault secrets enable transit
vault read transit/keys/tokenwall-audit >/dev/null 2>&1 || vault write -f transit/keys/tokenwall-audit type=ed25519 >/dev/null

echo "role_id: $(vault read -field=role_id auth/approle/role/tokenwall/role-id)"
echo "write a secret id for tokenwall with:"
echo "  vault write -f -field=secret_id auth/approle/role/tokenwall/secret-id > /run/secrets/tokenwall-secret-id"
