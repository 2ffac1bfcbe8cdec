// Command billing runs the demo billing application behind tokenwall.
//
// It listens on -addr (plain HTTP; tokenwall terminates TLS in front of it) and verifies
// tokenwall's signature with the key in BILLING_SIGNING_KEY, hex encoded. During a key roll
// that variable holds several keys separated by commas.
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

// keyEnv names the environment variable that holds the signing key.
const keyEnv = "BILLING_SIGNING_KEY"

// minKeyBytes is the shortest signing key accepted: HMAC-SHA256 wants a full 32-byte key.
const minKeyBytes = 32

// shutdownGrace is how long in-flight requests may finish after SIGINT or SIGTERM.
const shutdownGrace = 10 * time.Second

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Getenv(keyEnv), logger); err != nil {
		logger.Error("billing stopped", "error", err)
		os.Exit(1)
	}
}

func run(args []string, keyHex string, logger *slog.Logger) error {
	fs := flag.NewFlagSet("billing", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (host:port)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := parseKeys(keyHex)
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
