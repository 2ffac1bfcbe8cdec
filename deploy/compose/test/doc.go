// Package composetest checks tokenwall's compose stack (deploy/compose.yaml) without a
// container engine: the file is loaded with the compose-spec Go loader (schema validation and
// consistency checks on), every service of the stack must be there, the replicas run as uid
// 65532 read-only without privileges, the secrets deploy/compose/secrets.sh writes are the
// ones the file names and only uid 65532 can read them, images are pinned, tokenwall's
// configuration passes `tokenwall check-config` and points at the stack's own services.
//
// It is a module of its own so that compose-go never enters tokenwall's go.mod; `make test`
// runs it (as root: the secrets belong to uid 65532). e2e/replicas_test.go runs the same
// configuration files on the host, without containers.
package composetest
