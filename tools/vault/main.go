// Command vault is HashiCorp Vault's own CLI and server, built from a pinned module version so
// that tokenwall's development stack and tests run against a real Vault dev server.
package main

import (
	"os"

	"github.com/hashicorp/vault/command"
)

func main() {
	os.Exit(command.Run(os.Args[1:]))
}
