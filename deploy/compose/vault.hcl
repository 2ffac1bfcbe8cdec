# The compose stack's Vault: a dev server (in memory, unsealed, its root token from the
# vault-root-token secret) with this TLS listener added for the stack. Its own plain-HTTP dev
# listener stays on the container's loopback (-dev-listen-address), for the healthcheck.
#
# For an evaluation only: everything Vault holds is lost when its container stops, and the
# trail tokenwall keeps in PostgreSQL is anchored and MACed with keys that go with it. In
# production tokenwall uses the merchant's own Vault (deploy/vault/setup.sh).

listener "tcp" {
  address         = "0.0.0.0:8200"
  tls_cert_file   = "/run/secrets/vault-tls-cert"
  tls_key_file    = "/run/secrets/vault-tls-key"
  tls_min_version = "tls12"
}

# mlock needs the IPC_LOCK capability, and the stack adds none; the dev server keeps its data in
# memory, unencrypted at rest either way.
disable_mlock = true
