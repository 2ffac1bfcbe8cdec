package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tables are tokenwall's tables, whose privileges CheckWritable checks once migrated.
var tables = []string{"schema_version", "audit_head", "audit_records", "audit_checkpoints", "outbox", "idempotency", "subject_keys",
	"page_baselines", "page_states", "leases"}

// ErrNotWritable means the database at a DSN cannot take tokenwall's writes.
var ErrNotWritable = errors.New("postgres: not writable")

// CheckWritable connects to dsn (one connection, not a pool) and, in a transaction it rolls
// back, checks that it can write: the server is not read-only (a standby), a temporary table
// takes a row, and the user holds SELECT, INSERT, UPDATE and DELETE on each of tokenwall's
// tables, or CREATE on the schema when they do not exist yet. It changes nothing and
// returns what it found (the migrated schema version, 0 before the first migration).
func CheckWritable(ctx context.Context, dsn string) (version int, err error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("postgres: connect: %w", err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var readOnly string
	if err := tx.QueryRow(ctx, `SELECT current_setting('transaction_read_only')`).Scan(&readOnly); err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	if readOnly == "on" {
		return 0, fmt.Errorf("%w: the server is read-only (a standby?)", ErrNotWritable)
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE tokenwall_preflight (x integer) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("%w: temporary table: %w", ErrNotWritable, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tokenwall_preflight VALUES (1)`); err != nil {
		return 0, fmt.Errorf("%w: insert: %w", ErrNotWritable, err)
	}
	return checkPrivileges(ctx, tx)
}

// checkPrivileges checks the user's privileges on tokenwall's tables (or on the schema,
// before the first migration) and returns the schema version.
func checkPrivileges(ctx context.Context, tx pgx.Tx) (int, error) {
	var migrated bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&migrated); err != nil {
		return 0, fmt.Errorf("postgres: %w", err)
	}
	if !migrated {
		var schema string
		var create bool
		if err := tx.QueryRow(ctx, `SELECT coalesce(current_schema(), ''), coalesce(has_schema_privilege(current_schema(), 'CREATE'), false)`).
			Scan(&schema, &create); err != nil {
			return 0, fmt.Errorf("postgres: %w", err)
		}
		if !create {
			return 0, fmt.Errorf("%w: no CREATE on schema %q, which the first migration needs", ErrNotWritable, schema)
		}
		return 0, nil
	}
	var missing []string
	for _, t := range tables {
		for _, priv := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
			var ok *bool // NULL: the table does not exist (yet: a later migration makes it)
			if err := tx.QueryRow(ctx, `SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_table_privilege($1, $2) END`,
				t, priv).Scan(&ok); err != nil {
				return 0, fmt.Errorf("postgres: privileges on %s: %w", t, err)
			}
			if ok != nil && !*ok {
				missing = append(missing, priv+" on "+t)
			}
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("%w: missing %s", ErrNotWritable, strings.Join(missing, ", "))
	}
	var v int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}
