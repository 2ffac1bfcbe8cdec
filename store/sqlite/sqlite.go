// Package sqlite is the embedded store.Store: one SQLite file (modernc.org/sqlite, pure Go)
// in WAL mode with synchronous=FULL, so a commit is on disk before it returns.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/tokenwall/tokenwall/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	db      *sql.DB
	grouper grouper
	audit   auditStmts
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and runs pending migrations.
// A database migrated by a newer tokenwall is refused with store.ErrSchemaTooNew.
func Open(ctx context.Context, path string) (*Store, error) {
	s, err := open(path)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.migrate(ctx); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	if s.audit, err = prepareAudit(ctx, s.db); err != nil {
		_ = s.db.Close()
		return nil, err
	}
	return s, nil
}

// Migrate runs pending migrations on the database at path and reports the versions before
// and after (`tokenwall migrate`).
func Migrate(ctx context.Context, path string) (from, to int, err error) {
	s, err := open(path)
	if err != nil {
		return 0, 0, err
	}
	defer s.db.Close()
	return s.migrate(ctx)
}

func open(path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	// secure_delete zeroes deleted rows in their pages, so a forgotten subject key does not
	// linger in the file's free space (FAST: only where that costs no extra I/O).
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "secure_delete(FAST)"} {
		q.Add("_pragma", p)
	}
	// Writers take the write lock at BEGIN, so two appenders never both read the same head.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	db.SetMaxOpenConns(4)
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.audit.close()
	return s.db.Close()
}

// RawExec runs a statement directly. It exists for tests that tamper with rows to prove that
// audit verification catches it; tokenwall never calls it.
func (s *Store) RawExec(ctx context.Context, query string, args ...any) error {
	_, err := s.db.ExecContext(ctx, query, args...)
	return err
}

type migration struct {
	version int
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		b, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

func (s *Store) migrate(ctx context.Context) (from, to int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: migrations: %w", err)
	}
	latest := ms[len(ms)-1].version
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return 0, 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	var cur sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&cur); err != nil {
		return 0, 0, fmt.Errorf("sqlite: migrate: %w", err)
	}
	from = int(cur.Int64)
	if from > latest {
		return from, from, fmt.Errorf("%w: database at version %d, this tokenwall knows up to %d: run a newer tokenwall", store.ErrSchemaTooNew, from, latest)
	}
	for _, m := range ms {
		if m.version <= from {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return from, from, fmt.Errorf("sqlite: migration %d: %w", m.version, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.version); err != nil {
			return from, from, fmt.Errorf("sqlite: migration %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return from, from, fmt.Errorf("sqlite: migrate: %w", err)
	}
	return from, latest, nil
}

// SchemaVersion is the migration version of the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	return v, nil
}

func us(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromUS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
