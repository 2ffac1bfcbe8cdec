package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrateLockKey is the advisory lock migrations hold ("tokenwal" in ASCII), so that
// replicas starting together migrate one after the other: the first applies, the rest find
// nothing to do.
const migrateLockKey int64 = 0x746f6b656e77616c

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded migrations, which must be numbered 1, 2, … without gaps.
func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: name must start with its version: %w", e.Name(), err)
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("postgres: migration %s: want version %d", m.name, i+1)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("postgres: no migrations embedded")
	}
	return out, nil
}

// Migrate runs pending migrations on the database at dsn and reports the versions before
// and after (`tokenwall migrate`). A database migrated by a newer tokenwall is refused with
// store.ErrSchemaTooNew.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return migrate(ctx, conn)
}

// beginner is what migrate needs: a pool or a single connection.
type beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// migrate applies the pending migrations in one transaction that holds the advisory lock;
// PostgreSQL's DDL is transactional, so a failed migration leaves the schema as it was.
func migrate(ctx context.Context, db beginner) (from, to int, err error) {
	ms, err := loadMigrations()
	if err != nil {
		return 0, 0, err
	}
	latest := ms[len(ms)-1].version
	tx, err := db.Begin(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer rollback(ctx, tx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: lock: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    integer PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&from); err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	if from > latest {
		return from, from, fmt.Errorf("%w: database at version %d, this tokenwall knows up to %d: run a newer tokenwall",
			store.ErrSchemaTooNew, from, latest)
	}
	for _, m := range ms[from:] {
		// No arguments: pgx sends it as a simple query, which may hold several statements.
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return from, from, fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.version); err != nil {
			return from, from, fmt.Errorf("postgres: migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return from, from, fmt.Errorf("postgres: migrate: %w", err)
	}
	return from, latest, nil
}
