package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/store/postgres"
)

// CheckStore checks, changing nothing, that the configured store can take tokenwall's
// writes, for `tokenwall check-config --preflight`: for SQLite that the database file (or,
// before the first start, the folder serve creates it in) is writable; for PostgreSQL that a
// connection with the password from Vault (password, as for OpenStore) can write in a
// transaction (postgres.CheckWritable). It returns what it found, for the operator.
func CheckStore(ctx context.Context, cfg config.Store, password func() (string, error)) (string, error) {
	if cfg.Driver == "postgres" {
		dsn, err := postgresDSN(cfg, password)
		if err != nil {
			return "", err
		}
		v, err := postgres.CheckWritable(ctx, dsn)
		if err != nil {
			return "", err
		}
		if v == 0 {
			return "postgres: writable; not migrated yet (serve or migrate creates the tables)", nil
		}
		return fmt.Sprintf("postgres: writable in a transaction, schema version %d", v), nil
	}
	return checkSQLiteWritable(cfg.SQLitePath)
}

// checkSQLiteWritable checks that the database file at path, or the folder that holds or
// will hold it, is writable by this process.
func checkSQLiteWritable(path string) (string, error) {
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		_ = f.Close()
		if err := writableDir(filepath.Dir(path)); err != nil {
			// SQLite writes its -wal and -shm files beside the database.
			return "", fmt.Errorf("sqlite: %s is writable but its folder is not (SQLite's -wal and -shm files go there): %w", path, err)
		}
		return "sqlite: " + path + " and its folder are writable", nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	dir := filepath.Dir(path)
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			if err := writableDir(d); err != nil {
				return "", fmt.Errorf("sqlite: %s does not exist and cannot be created: %w", path, err)
			}
			if d == dir {
				return "sqlite: folder " + dir + " is writable (the database is created at the first start)", nil
			}
			return "sqlite: " + dir + " does not exist yet; serve creates it in " + d + ", which is writable", nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("sqlite: no folder of %s exists", path)
		}
	}
}

// writableDir creates and removes a file in dir.
func writableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".tokenwall-preflight-*")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}
