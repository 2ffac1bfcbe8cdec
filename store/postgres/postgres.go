// Package postgres is the store.Store for several tokenwall replicas on one PostgreSQL
// database (pgx v5, a connection pool per replica). Appends to the audit chain serialise on a
// one-row head table; outbox claims use FOR UPDATE SKIP LOCKED, so replicas never claim the
// same item; migrations run under an advisory lock, so replicas starting together migrate
// once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenwall/tokenwall/store"
)

// Options tunes the connection pool.
type Options struct {
	// MaxConns caps the pool's connections; 0 keeps pgxpool's default (4 or the CPU count,
	// whichever is more).
	MaxConns int32
}

// Store is the PostgreSQL store.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a pgx connection string or URL) and runs pending
// migrations. A database migrated by a newer tokenwall is refused with store.ErrSchemaTooNew.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: max_conns %d: must not be negative", o.MaxConns)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password from the connection string it quotes.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if _, _, err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Pool is the store's connection pool, for health checks and pool statistics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// RawExec runs a statement directly. It exists for tests that tamper with rows to prove that
// audit verification catches it; tokenwall never calls it.
func (s *Store) RawExec(ctx context.Context, sql string, args ...any) error {
	if _, err := s.pool.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("postgres: raw exec: %w", err)
	}
	return nil
}

// SchemaVersion is the migration version of the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// nullTime is t for a nullable column: NULL when t is zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromNull is a nullable column's time in UTC, zero for NULL.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// notFound turns pgx's no-rows into store.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %s", store.ErrNotFound, what)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// rollback ends tx if Commit has not; after Commit it does nothing. It runs on a context of
// its own so that a cancelled request still returns its connection clean.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = tx.Rollback(ctx)
}
