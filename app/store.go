package app

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/postgres"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// OpenStore opens the configured store and runs pending migrations. password returns the
// PostgreSQL password from Vault ("" when none is configured).
func OpenStore(ctx context.Context, cfg config.Store, password func() (string, error)) (store.Store, error) {
	switch cfg.Driver {
	case "postgres":
		dsn, err := postgresDSN(cfg, password)
		if err != nil {
			return nil, err
		}
		s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: int32(cfg.MaxConns)})
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return s, nil
	default:
		if err := os.MkdirAll(filepath.Dir(cfg.SQLitePath), 0o750); err != nil {
			return nil, fmt.Errorf("store: data folder: %w", err)
		}
		s, err := sqlite.Open(ctx, cfg.SQLitePath)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		return s, nil
	}
}

// postgresDSN adds the password from Vault to the configured URL.
func postgresDSN(cfg config.Store, password func() (string, error)) (string, error) {
	u, err := url.Parse(cfg.PostgresURL)
	if err != nil {
		return "", fmt.Errorf("store.postgres_url: not a URL")
	}
	if cfg.PostgresPasswordPath != "" {
		pw, err := password()
		if err != nil {
			return "", fmt.Errorf("store: postgres password: %w", err)
		}
		name := ""
		if u.User != nil {
			name = u.User.Username()
		}
		u.User = url.UserPassword(name, pw)
	}
	return u.String(), nil
}
