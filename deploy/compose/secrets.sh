#!/bin/sh
# Writes the secrets and TLS certificates of the compose stack (deploy/compose.yaml) into
# deploy/compose/secrets/ (or DIR), fresh and random, for an evaluation on one host:
#
#   sudo deploy/compose/secrets.sh [DIR]
#
# Why root: Docker Compose bind-mounts a file secret as it is on the host, ignoring the
# secret's uid, gid and mode (it honours them only for secrets taken from the environment,
# which it copies into the container, and that fails on a read-only root file system). Every
# service of the stack runs as uid 65532, so each file here is made 0400 and owned by
# 65532:65532 (OWNER overrides, e.g. OWNER=100065532:100065532 under rootless Docker's uid map).
#
# The folder must not exist yet: the stack's Vault keeps everything in memory, so new secrets
# go with a new stack (docker compose down -v, then this, then docker compose up).
#
# Written (names as in compose.yaml's secrets, no trailing newline in any value):
#   ca.pem                      the stack's CA certificate (public; the CA key is deleted)
#   lb-tls-cert, lb-tls-key     the load balancer's certificate, for localhost and 127.0.0.1
#   tokenwall-tls-cert/-key     both replicas' certificate, for tokenwall.internal (nginx checks it)
#   vault-tls-cert/-key         Vault's certificate, for vault (and localhost, 127.0.0.1)
#   vault-root-token            the dev Vault's root token (vault-init and operators only)
#   tokenwall-secret-id         tokenwall's AppRole secret id
#   signing-key                 Tokenwall-Signature key, hex (tokenwall from Vault, the app from here)
#   stripe-key                  the Stripe secret key (a test key: stripe-mock takes any)
#   stripe-webhook-secret       the Stripe webhook endpoint secret (whsec_…)
#   postgres-password           the database password (PostgreSQL from here, tokenwall from Vault)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/secrets}
owner=${OWNER:-65532:65532}

command -v openssl >/dev/null 2>&1 || { echo "secrets.sh: openssl is needed (apt-get install openssl)" >&2; exit 1; }
if [ -e "$dir" ]; then
	echo "secrets.sh: $dir exists; remove it (and the stack: docker compose down -v) to start over" >&2
	exit 1
fi
if [ "$(id -u):$(id -g)" != "$owner" ] && [ "$(id -u)" != 0 ]; then
	echo "secrets.sh: the files must belong to $owner, which takes root: run it with sudo" >&2
	exit 1
fi

umask 077
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# secret NAME VALUE: the value as is, without a newline (a trailing newline in a key is a
# different key, and stripe-go refuses it in a header).
secret() {
	printf '%s' "$2" >"$dir/$1"
}

# The CA signs the three server certificates, then its key is thrown away.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
	-subj "/CN=tokenwall compose stack CA" -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$work/ca.key" -out "$dir/ca.pem" 2>/dev/null

# issue NAME SUBJECT_ALT_NAMES: NAME-tls-key and NAME-tls-cert, signed by the CA.
issue() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
		-keyout "$dir/$1-tls-key" -out "$work/$1.csr" 2>/dev/null
	printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$2" >"$work/$1.ext"
	openssl x509 -req -in "$work/$1.csr" -CA "$dir/ca.pem" -CAkey "$work/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
		-days 397 -extfile "$work/$1.ext" -out "$dir/$1-tls-cert" 2>/dev/null
}
issue lb "DNS:localhost,IP:127.0.0.1"
issue tokenwall "DNS:tokenwall.internal,DNS:tokenwall-1,DNS:tokenwall-2"
issue vault "DNS:vault,DNS:localhost,IP:127.0.0.1"

secret vault-root-token "$(openssl rand -hex 24)"
secret tokenwall-secret-id "$(openssl rand -hex 24)"
secret signing-key "$(openssl rand -hex 32)"
secret stripe-key "sk_test_$(openssl rand -hex 24)"
secret stripe-webhook-secret "whsec_$(openssl rand -hex 24)"
secret postgres-password "$(openssl rand -hex 24)"

chmod 0400 "$dir"/*
chmod 0444 "$dir/ca.pem"
chown "$owner" "$dir"/*
chmod 0755 "$dir"
echo "secrets.sh: wrote $(ls "$dir" | wc -l) files to $dir, owned by $owner"
