package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store/postgres"
)

// asUser is dsn with another user name (the test cluster trusts loopback connections).
func asUser(t *testing.T, dsn, user string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

// exec runs statements on dsn as its user.
func exec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// TestCheckWritable: a fresh database (CREATE on its schema) and a migrated one are
// writable, and CheckWritable changes neither; a user without privileges on the tables, or
// without CREATE before the first migration, and a read-only database are not, each said.
func TestCheckWritable(t *testing.T) {
	ctx := context.Background()
	name, dsn := newDB(t)
	if v, err := postgres.CheckWritable(ctx, dsn); err != nil || v != 0 {
		t.Fatalf("fresh database: version %d, %v; want 0 and writable", v, err)
	}
	latest := latestVersion(t)
	if _, _, err := postgres.Migrate(ctx, dsn); err != nil {
		t.Fatal(err)
	}
	if v, err := postgres.CheckWritable(ctx, dsn); err != nil || v != latest {
		t.Fatalf("migrated database: version %d, %v; want %d and writable", v, err, latest)
	}
	var temps int
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname = 'tokenwall_preflight'`).Scan(&temps)
	conn.Close(ctx)
	if temps != 0 {
		t.Errorf("the preflight table outlived the check")
	}

	role := "ro_" + strings.TrimPrefix(name, "t_")
	exec(t, dsn, "CREATE ROLE "+role+" LOGIN")
	_, err = postgres.CheckWritable(ctx, asUser(t, dsn, role))
	if !errors.Is(err, postgres.ErrNotWritable) || !strings.Contains(err.Error(), "SELECT on schema_version") ||
		!strings.Contains(err.Error(), "DELETE on outbox") || !strings.Contains(err.Error(), "UPDATE on leases") {
		t.Errorf("a user without privileges: %v, want ErrNotWritable naming each missing privilege", err)
	}
	_, fresh := newDB(t)
	if _, err := postgres.CheckWritable(ctx, asUser(t, fresh, role)); !errors.Is(err, postgres.ErrNotWritable) ||
		!strings.Contains(err.Error(), `no CREATE on schema "public"`) {
		t.Errorf("a fresh database without CREATE: %v", err)
	}
	exec(t, dsn, "ALTER DATABASE "+name+" SET default_transaction_read_only = on")
	if _, err := postgres.CheckWritable(ctx, dsn); !errors.Is(err, postgres.ErrNotWritable) || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("a read-only database: %v", err)
	}
	if _, err := postgres.CheckWritable(ctx, "postgres://tokenwall@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("no server: CheckWritable succeeded")
	}
}
