#!/usr/bin/env bash
# The compose stack's vault-init service: provisions its Vault for tokenwall with
# deploy/vault/setup.sh (the same script an operator runs against a production Vault), from the
# stack's secrets (deploy/compose/secrets.sh), then fixes the AppRole's role id to the one
# deploy/compose/tokenwall.yaml names and registers tokenwall's secret id from its secret file.
# It can run again against the same Vault: what exists is kept.
#
# Environment (defaults in brackets): VAULT_ADDR and VAULT_CACERT (the stack's CA), SECRETS
# [/run/secrets], SETUP [/opt/tokenwall/vault/setup.sh], ROLE_ID [tokenwall-compose].
# The compose test runs it against a real Vault dev server.
set -euo pipefail

secrets=${SECRETS:-/run/secrets}
setup=${SETUP:-/opt/tokenwall/vault/setup.sh}
role_id=${ROLE_ID:-tokenwall-compose}

VAULT_TOKEN=$(cat "$secrets/vault-root-token")
export VAULT_TOKEN

# The dev server answers once it is unsealed; the healthcheck that gates this service asks its
# loopback listener, this waits for the TLS one the stack uses.
for i in $(seq 60); do
	vault status >/dev/null 2>&1 && break
	[ "$i" -lt 60 ] || { echo "vault-init: no unsealed Vault at $VAULT_ADDR after 60 s" >&2; exit 1; }
	sleep 1
done

# The secret id below is the stack's one and only, read by both replicas at every login: it
# neither expires nor runs out of uses, like the dev Vault's root token beside it. A production
# Vault keeps setup.sh's defaults (24h, 10 uses) and hands out fresh ones.
WEBHOOK_SECRET_FILE="$secrets/stripe-webhook-secret" \
	POSTGRES_PASSWORD_FILE="$secrets/postgres-password" \
	APPROLE_SECRET_ID_TTL=0 APPROLE_SECRET_ID_NUM_USES=0 \
	bash "$setup" "$secrets/stripe-key" "$secrets/signing-key"

vault write auth/approle/role/tokenwall/role-id role_id="$role_id" >/dev/null
# @file: the CLI reads the secret id from the file, so it is never in an argument list.
if vault write -format=json auth/approle/role/tokenwall/secret-id/lookup secret_id=@"$secrets/tokenwall-secret-id" 2>/dev/null |
	grep -q '"secret_id_accessor"'; then
	echo "vault-init: kept tokenwall's secret id"
else
	vault write auth/approle/role/tokenwall/custom-secret-id secret_id=@"$secrets/tokenwall-secret-id" >/dev/null
	echo "vault-init: registered tokenwall's secret id (role id $role_id)"
fi
