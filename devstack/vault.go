package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

// startAttempts is how many ports a Start function tries when another process takes the
// port between FreePort and the child's bind.
const startAttempts = 3

// Vault is a running Vault dev server: unsealed, in memory, KV v2 mounted at secret/.
type Vault struct {
	// Addr is the server's address, http://127.0.0.1:PORT.
	Addr string
	// Token is the root token.
	Token string

	mu   sync.Mutex // serialises Stop, Kill and Restart
	spec launch
	proc *child
}

// StartVault starts "vault server -dev" on a free loopback port with a random root token and
// waits until /v1/sys/health answers 200. ctx bounds the start only; Stop ends the server.
// o.Dir is required: it is the server's working directory and HOME.
func StartVault(ctx context.Context, o Options) (*Vault, error) {
	if err := o.checkDir(true); err != nil {
		return nil, err
	}
	bin, err := BinPath("vault")
	if err != nil {
		return nil, err
	}
	token := rand.Text()[:24] // base32: no run of digits for the card scan to trip on
	log := newChildLog(o.logWriter())
	for attempt := 1; ; attempt++ {
		port, err := freePortPair()
		if err != nil {
			return nil, err
		}
		v := &Vault{
			Addr:  "http://127.0.0.1:" + strconv.Itoa(port),
			Token: token,
			spec:  vaultLaunch(bin, port, token, o.Dir, log),
		}
		v.proc, err = v.spec.start(ctx)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, err
		}
	}
}

// vaultLaunch describes the dev server on port with the given root token.
func vaultLaunch(bin string, port int, token, dir string, log *childLog) launch {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return launch{
		name: "vault",
		bin:  bin,
		args: []string{
			"server", "-dev",
			"-dev-root-token-id=" + token,
			"-dev-listen-address=" + addr,
			"-dev-no-store-token",
		},
		dir:   dir,
		env:   vaultEnv(dir),
		log:   log,
		probe: probe{url: "http://" + addr + "/v1/sys/health", header: http.Header{}},
	}
}

// vaultEnv is our environment without VAULT_* variables, which would point the server or
// its token helper elsewhere, and with HOME set to dir.
func vaultEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "VAULT_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+dir)
}

// Stop sends SIGTERM to the server's process group, waits up to 10 s, then sends SIGKILL.
// Calling it again, or after Kill, does nothing.
func (v *Vault) Stop() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		return nil
	}
	return v.proc.stop(stopGrace)
}

// Kill sends SIGKILL to the server's process group now, to simulate an outage.
func (v *Vault) Kill() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc == nil {
		return nil
	}
	return v.proc.kill()
}

// Restart stops the server if it still runs and starts it again on the same address with
// the same root token. A dev server keeps everything in memory, so it comes back empty: no
// secrets, only the default mounts.
func (v *Vault) Restart(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.proc != nil {
		if err := v.proc.stop(stopGrace); err != nil {
			return fmt.Errorf("devstack: restart vault: %w", err)
		}
	}
	proc, err := v.spec.start(ctx)
	if err != nil {
		return fmt.Errorf("devstack: restart vault: %w", err)
	}
	v.proc = proc
	return nil
}
