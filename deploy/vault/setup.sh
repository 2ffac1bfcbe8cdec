#!/usr/bin/env bash
# Prepare a Vault for tokenwall: everything deploy/tokenwall.example.yaml needs.
#
#   export VAULT_ADDR=https://vault.internal:8200 VAULT_TOKEN=...   # a Vault administrator
#   WEBHOOK_SECRET_FILE=whsec.txt deploy/vault/setup.sh STRIPE_KEY_FILE [SIGNING_KEY_FILE]
#
# It needs the `vault` CLI (VAULT_CLI names another binary) and a token that may mount
# engines, enable auth methods and write policies. Secrets are read from files, never from
# arguments or the environment, so that they stay out of shell history and `ps`, and are
# written without their trailing newline (tokenwall refuses a secret that ends with one).
# It can be run again: the files given are written as new versions; what it generated (the
# signing and audit keys, the API key set, the transit key) is kept.
#
# It creates, in the KV v2 mount secret/ (mounted if missing):
#   tokenwall/stripe          the Stripe secret key, from STRIPE_KEY_FILE
#   tokenwall/signing         the key tokenwall signs forwarded bodies and webhooks with, from
#                             SIGNING_KEY_FILE, or 32 random bytes (hex) on the first run: give
#                             the same key to the billing app, which verifies Tokenwall-Signature
#   tokenwall/audit-hmac      the audit trail's HMAC key, 32 random bytes (hex), first run only;
#                             1000 versions kept (`tokenwall audit rotate-key` adds versions)
#   tokenwall/audit-anchor    metadata only: 1000 versions kept (tokenwall writes the versions)
#   tokenwall/stripe-webhook  the Stripe webhook endpoint secret (whsec_..., from the Stripe
#                             dashboard), from WEBHOOK_SECRET_FILE (WEBHOOKS=off: not needed)
#   tokenwall/api-keys        the empty /v1 API key set {"keys":[]}, first run only; fill it with
#                             `tokenwall keys create` and an operator token
#   tokenwall/postgres        the PostgreSQL password, from POSTGRES_PASSWORD_FILE when set
# and:
#   transit/keys/tokenwall-audit   ed25519, not exportable: signs audit checkpoints and reports
#   policy tokenwall               the runtime policy (tokenwall-policy.hcl)
#   policy tokenwall-operator      keys, audit rotate-key, audit restore, webhooks replay
#                                  (tokenwall-operator-policy.hcl)
#   auth/approle/role/tokenwall    tokens with the runtime policy only; secret ids expire
#   auth/kubernetes/role/tokenwall bound to the tokenwall service account and namespace
#
# Environment (defaults in brackets):
#   WEBHOOK_SECRET_FILE          the Stripe webhook endpoint secret (required unless WEBHOOKS=off)
#   POSTGRES_PASSWORD_FILE       the PostgreSQL password (store.postgres_password_path)
#   APPROLE_TOKEN_TTL [1h], APPROLE_TOKEN_MAX_TTL [24h]
#                                tokenwall renews its token up to the max TTL, then logs in again
#   APPROLE_SECRET_ID_TTL [24h], APPROLE_SECRET_ID_NUM_USES [10]
#                                a secret id expires after this long or this many logins: the
#                                deployment puts a fresh one in vault.auth.secret_id_file (tokenwall
#                                reads the file at each login)
#   APPROLE_BOUND_CIDRS          when set, logins and tokens are accepted from these CIDRs only
#   APPROLE_SECRET_ID_FILE       when set, a new secret id is written to this file (mode 0600)
#   K8S_HOST                     the Kubernetes API server's URL as Vault reaches it; without it
#                                Kubernetes auth is enabled and its role written, but not configured
#   K8S_CA_CERT_FILE             the API server's CA (PEM), for a Vault outside the cluster
#   K8S_TOKEN_REVIEWER_JWT_FILE  a token allowed to create TokenReviews (system:auth-delegator),
#                                for a Vault outside the cluster; without it Vault reviews each
#                                login with the pod's own token. With either file, Vault does not
#                                use its own pod's service account (disable_local_ca_jwt).
#   K8S_NAMESPACE [tokenwall]    the namespace(s) of tokenwall's pods (comma-separated; the dev
#                                overlay is tokenwall-dev)
#   K8S_SERVICE_ACCOUNT [tokenwall], K8S_AUDIENCE [vault]
#                                the service account, and the audience of its projected token
#                                (deploy/kubernetes mounts one for "vault")
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
usage="usage: WEBHOOK_SECRET_FILE=FILE $0 STRIPE_KEY_FILE [SIGNING_KEY_FILE]"
stripe_file=${1:?$usage}
signing_file=${2:-}
vault_cli=${VAULT_CLI:-vault}
kv=secret
prefix=tokenwall

die() {
	echo "setup.sh: $*" >&2
	exit 1
}

v() { "$vault_cli" "$@"; }

# secret_from_file prints FILE's content without trailing newlines (and a CR before them):
# one line, checked.
secret_from_file() {
	local file=$1 value
	[ -r "$file" ] || die "$file: not a readable file"
	value=$(cat "$file")
	value=${value%$'\r'}
	[ -n "$value" ] || die "$file is empty"
	case $value in
	*$'\n'* | *$'\r'*) die "$file has more than one line: a secret here is one line" ;;
	esac
	printf %s "$value"
}

# put_file PATH FILE writes FILE's content, without its trailing newline, at kv/prefix/PATH.
# The value goes through a pipe (printf is a shell builtin): never in an argument list.
put_file() {
	local value
	value=$(secret_from_file "$2")
	printf %s "$value" | v kv put "$kv/$prefix/$1" value=- >/dev/null
	echo "wrote $kv/$prefix/$1 (from $2)"
}

# exists PATH reports whether kv/prefix/PATH has been written.
exists() {
	local rc=0
	v kv metadata get "$kv/$prefix/$1" >/dev/null 2>&1 || rc=$?
	case $rc in
	0) return 0 ;;
	2) return 1 ;; # no value found
	*) die "cannot read $kv/$prefix/$1 (exit $rc): check VAULT_ADDR and the token" ;;
	esac
}

# random_hex prints 32 random bytes as hex.
random_hex() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# put_generated PATH writes a random key at kv/prefix/PATH unless one is there.
put_generated() {
	if exists "$1"; then
		echo "kept $kv/$prefix/$1"
		return
	fi
	random_hex | v kv put -cas=0 "$kv/$prefix/$1" value=- >/dev/null
	echo "wrote $kv/$prefix/$1 (generated)"
}

preflight() {
	command -v "$vault_cli" >/dev/null || die "no vault CLI ($vault_cli): install it or set VAULT_CLI"
	[ -n "${VAULT_ADDR:-}" ] || die "VAULT_ADDR is not set"
	v token lookup >/dev/null || die "the Vault token is not valid (VAULT_TOKEN, or vault login)"
	if [ "${WEBHOOKS:-on}" != off ] && [ -z "${WEBHOOK_SECRET_FILE:-}" ]; then
		die "WEBHOOK_SECRET_FILE is not set: the Stripe webhook endpoint secret (whsec_...); WEBHOOKS=off if webhooks.enabled is false"
	fi
	# Read every file before writing anything, so a bad one stops the run with Vault untouched.
	secret_from_file "$stripe_file" >/dev/null
	[ -z "$signing_file" ] || secret_from_file "$signing_file" >/dev/null
	[ -z "${WEBHOOK_SECRET_FILE:-}" ] || secret_from_file "$WEBHOOK_SECRET_FILE" >/dev/null
	[ -z "${POSTGRES_PASSWORD_FILE:-}" ] || secret_from_file "$POSTGRES_PASSWORD_FILE" >/dev/null
}

setup_kv() {
	if ! v read "sys/mounts/$kv" >/dev/null 2>&1; then
		v secrets enable -path="$kv" kv-v2 >/dev/null
		echo "mounted $kv/ (KV v2)"
	fi
	local mount
	mount=$(v read -format=json "sys/mounts/$kv")
	case $mount in
	*'"version": "2"'*) ;;
	*) die "$kv/ is not a KV version 2 mount" ;;
	esac

	put_file stripe "$stripe_file"
	if [ -n "$signing_file" ]; then
		put_file signing "$signing_file"
	else
		put_generated signing
	fi
	put_generated audit-hmac
	# Old audit keys verify the records they MACed, and the anchor's history is what
	# `tokenwall audit verify` compares the trail with: keep both (neither policy may change
	# this, nor delete a version).
	v kv metadata put -max-versions=1000 "$kv/$prefix/audit-hmac" >/dev/null
	v kv metadata put -max-versions=1000 "$kv/$prefix/audit-anchor" >/dev/null
	[ -z "${WEBHOOK_SECRET_FILE:-}" ] || put_file stripe-webhook "$WEBHOOK_SECRET_FILE"
	[ -z "${POSTGRES_PASSWORD_FILE:-}" ] || put_file postgres "$POSTGRES_PASSWORD_FILE"
	if exists api-keys; then
		echo "kept $kv/$prefix/api-keys"
	else
		v kv put -cas=0 "$kv/$prefix/api-keys" 'value={"keys":[]}' >/dev/null
		echo "wrote $kv/$prefix/api-keys (empty key set)"
	fi
}

setup_transit() {
	v read sys/mounts/transit >/dev/null 2>&1 || v secrets enable transit >/dev/null
	if v read transit/keys/tokenwall-audit >/dev/null 2>&1; then
		echo "kept transit/keys/tokenwall-audit"
	else
		v write -f transit/keys/tokenwall-audit type=ed25519 exportable=false >/dev/null
		echo "created transit/keys/tokenwall-audit (ed25519)"
	fi
}

setup_policies() {
	v policy write tokenwall "$here/tokenwall-policy.hcl" >/dev/null
	v policy write tokenwall-operator "$here/tokenwall-operator-policy.hcl" >/dev/null
	echo "wrote policies tokenwall, tokenwall-operator"
}

setup_approle() {
	v read sys/auth/approle >/dev/null 2>&1 || v auth enable approle >/dev/null
	local cidrs=()
	if [ -n "${APPROLE_BOUND_CIDRS:-}" ]; then
		cidrs=(secret_id_bound_cidrs="$APPROLE_BOUND_CIDRS" token_bound_cidrs="$APPROLE_BOUND_CIDRS")
	fi
	v write auth/approle/role/tokenwall \
		token_policies=tokenwall token_no_default_policy=true \
		token_ttl="${APPROLE_TOKEN_TTL:-1h}" token_max_ttl="${APPROLE_TOKEN_MAX_TTL:-24h}" \
		secret_id_ttl="${APPROLE_SECRET_ID_TTL:-24h}" secret_id_num_uses="${APPROLE_SECRET_ID_NUM_USES:-10}" \
		"${cidrs[@]}" >/dev/null
	echo "wrote auth/approle/role/tokenwall"
	if [ -n "${APPROLE_SECRET_ID_FILE:-}" ]; then
		(umask 077 && v write -f -field=secret_id auth/approle/role/tokenwall/secret-id >"$APPROLE_SECRET_ID_FILE")
		echo "wrote a new secret id to $APPROLE_SECRET_ID_FILE"
	fi
}

setup_kubernetes() {
	v read sys/auth/kubernetes >/dev/null 2>&1 || v auth enable kubernetes >/dev/null
	if [ -n "${K8S_HOST:-}" ]; then
		local args=(kubernetes_host="$K8S_HOST" disable_local_ca_jwt=false)
		if [ -n "${K8S_CA_CERT_FILE:-}" ] || [ -n "${K8S_TOKEN_REVIEWER_JWT_FILE:-}" ]; then
			args=(kubernetes_host="$K8S_HOST" disable_local_ca_jwt=true)
		fi
		[ -z "${K8S_CA_CERT_FILE:-}" ] || args+=(kubernetes_ca_cert=@"$K8S_CA_CERT_FILE")
		# @file: the CLI reads the token from the file, so it is not in an argument list.
		[ -z "${K8S_TOKEN_REVIEWER_JWT_FILE:-}" ] || args+=(token_reviewer_jwt=@"$K8S_TOKEN_REVIEWER_JWT_FILE")
		v write auth/kubernetes/config "${args[@]}" >/dev/null
		echo "configured auth/kubernetes for $K8S_HOST"
	else
		echo "note: auth/kubernetes is not configured (set K8S_HOST to configure it)"
	fi
	v write auth/kubernetes/role/tokenwall \
		bound_service_account_names="${K8S_SERVICE_ACCOUNT:-tokenwall}" \
		bound_service_account_namespaces="${K8S_NAMESPACE:-tokenwall}" \
		audience="${K8S_AUDIENCE:-vault}" \
		token_policies=tokenwall token_no_default_policy=true token_ttl=1h token_max_ttl=24h >/dev/null
	echo "wrote auth/kubernetes/role/tokenwall (service account ${K8S_SERVICE_ACCOUNT:-tokenwall} in ${K8S_NAMESPACE:-tokenwall})"
}

preflight
setup_kv
setup_transit
setup_policies
setup_approle
setup_kubernetes

echo
echo "role_id: $(v read -field=role_id auth/approle/role/tokenwall/role-id)"
cat <<EOF
Put the role_id in vault.auth.role_id (it is not a secret). A secret id, for
vault.auth.secret_id_file, expires after ${APPROLE_SECRET_ID_TTL:-24h} or ${APPROLE_SECRET_ID_NUM_USES:-10} logins:
  vault write -f -field=secret_id auth/approle/role/tokenwall/secret-id > /run/secrets/tokenwall-secret-id
With Kubernetes auth, set vault.auth.method: kubernetes and vault.auth.role: tokenwall instead.
Create the first API key with an operator token (policy tokenwall-operator):
  tokenwall keys create --scopes payments,refunds --name billing-app --config FILE
EOF
