package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
)

// MainVault starts a package's shared Vault dev server from TestMain: its log goes to
// <artifacts>/<name>/vault.log, its root token to a file in a temporary folder (a secret:
// never in the artifacts). stop ends the server and removes the token.
func MainVault(name string) (v *devstack.Vault, tokenFile string, stop func(), err error) {
	root, err := ArtifactsRoot()
	if err != nil {
		return nil, "", nil, err
	}
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", nil, fmt.Errorf("testkit: %w", err)
	}
	vlog, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		return nil, "", nil, fmt.Errorf("testkit: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if v, err = devstack.StartVault(ctx, devstack.Options{Dir: dir, Log: vlog}); err != nil {
		_ = vlog.Close()
		return nil, "", nil, err
	}
	tmp, err := os.MkdirTemp("", name+"-vault-")
	if err == nil {
		tokenFile = filepath.Join(tmp, "token")
		err = os.WriteFile(tokenFile, []byte(v.Token), 0o600)
	}
	stop = func() {
		_ = v.Stop()
		_ = vlog.Close()
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
	}
	if err != nil {
		stop()
		return nil, "", nil, errors.Join(errors.New("testkit: vault token file"), err)
	}
	return v, tokenFile, stop, nil
}
