// Command billing runs the demo billing application behind tokenwall.
//
// It listens on -addr (plain HTTP; tokenwall terminates TLS in front of it) and verifies
// tokenwall's signature with the key in BILLING_SIGNING_KEY, hex encoded. During a key roll
// that variable holds several keys separated by commas.
//
// Or BILLING_SIGNING_KEY_FILE names a file holding the key as Vault holds it for tokenwall
// (vault.signing_key_path): tokenwall signs with the bytes of that value as they are, so the
// file is the one deploy/vault/setup.sh was given, or a copy of the value it generated. The
// compose stack (deploy/compose.yaml) mounts it as a secret.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenwall/tokenwall/examples/billing"
)

// keyEnv names the environment variable that holds the signing key, hex encoded.
const keyEnv = "BILLING_SIGNING_KEY"

// keyFileEnv names the environment variable with the path of a file holding the signing key as
// stored in Vault.
const keyFileEnv = "BILLING_SIGNING_KEY_FILE"

// minKeyBytes is the shortest signing key accepted: HMAC-SHA256 wants a full 32-byte key.
const minKeyBytes = 32

// shutdownGrace is how long in-flight requests may finish after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Getenv(keyFileEnv), os.Getenv(keyEnv), logger); err != nil {
		logger.Error("billing stopped", "error", err)
		os.Exit(1)
	}
}

func run(args []string, keyFile, keyHex string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("billing", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := loadKeys(keyFile, keyHex)
	if err != nil {
		return err
	}

	app := billing.New(billing.Options{
		SigningKeys: func() [][]byte { return keys },
		MaxBody:     billing.DefaultMaxBody,
	})
	srv := &http.Server{
		Addr:              *addr,
		Handler:           app,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      15 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("billing listening", "addr", *addr, "keys", len(keys))

	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", *addr, err)
	case <-ctx.Done():
	}
	logger.Info("billing shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	return nil
}

// parseKeys decodes the comma-separated hex keys in v. Its errors never include the value.
func parseKeys(v string) ([][]byte, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%s: not set (hex signing key, at least %d bytes)", keyEnv, minKeyBytes)
	}
	var keys [][]byte
	for i, part := range strings.Split(v, ",") {
		k, err := hex.DecodeString(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is not valid hex", keyEnv, i+1)
		}
		if len(k) < minKeyBytes {
			return nil, fmt.Errorf("%s: key %d is %d bytes, want at least %d", keyEnv, i+1, len(k), minKeyBytes)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// loadKeys reads the signing key from keyFile when it is set, or decodes keyHex.
func loadKeys(keyFile, keyHex string) ([][]byte, error) {
	if keyFile == "" {
		return parseKeys(keyHex)
	}
	if strings.TrimSpace(keyHex) != "" {
		return nil, fmt.Errorf("%s and %s are both set: use one", keyFileEnv, keyEnv)
	}
	return readKeyFile(keyFile)
}

// readKeyFile reads the key as tokenwall uses it: every byte of the file. A trailing newline is
// refused rather than trimmed, as tokenwall refuses a secret ending with one: it would make
// another key. Its errors never include the value.
func readKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyFileEnv, err)
	}
	if n := len(b); n > 0 && (b[n-1] == '\n' || b[n-1] == '\r') {
		return nil, fmt.Errorf("%s: %s ends with a newline, which would be part of the key: write it without one", keyFileEnv, path)
	}
	if len(b) < minKeyBytes {
		return nil, fmt.Errorf("%s: %s holds %d bytes, want at least %d", keyFileEnv, path, len(b), minKeyBytes)
	}
	return [][]byte{b}, nil
}
