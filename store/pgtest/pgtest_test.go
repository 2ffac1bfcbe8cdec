package pgtest_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/testkit"
)

func TestCluster(t *testing.T) {
	ctx := context.Background()
	c := pgtest.StartT(t)

	dsn, err := c.NewDatabase(ctx, "smoke")
	if err != nil {
		t.Fatal(err)
	}
	if want := "postgres://tokenwall@127.0.0.1:"; !strings.HasPrefix(dsn, want) || !strings.HasSuffix(dsn, "/smoke?sslmode=disable") {
		t.Errorf("DSN %q, want %s<port>/smoke?sslmode=disable", dsn, want)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE gadgets (name text); INSERT INTO gadgets VALUES ('sprocket')`); err != nil {
		t.Fatal(err)
	}
	var addr string
	if err := conn.QueryRow(ctx, `SELECT host(inet_server_addr())`).Scan(&addr); err != nil || addr != "127.0.0.1" {
		t.Errorf("server address %q, %v; want loopback only", addr, err)
	}
	var fsync, syncCommit string
	if err := conn.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &syncCommit); err != nil ||
		fsync != "on" || syncCommit != "on" {
		t.Errorf("fsync=%s synchronous_commit=%s (%v): benchmarks need the defaults", fsync, syncCommit, err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if _, err := c.NewDatabase(ctx, "smoke"); err == nil {
		t.Error("creating an existing database succeeded")
	}
	if _, err := c.NewDatabase(ctx, `x"; DROP DATABASE smoke; --`); err == nil {
		t.Error("an odd database name was accepted")
	}

	dump, err := c.Dump(ctx, "smoke")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE TABLE public.gadgets", "sprocket"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("dump lacks %q:\n%s", want, dump)
		}
	}
	if _, err := c.Dump(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("dump of a missing database: %v", err)
	}

	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster folder %s still there after Stop: %v", dir, err)
	}
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		_ = conn.Close(ctx)
		t.Error("server still accepts connections after Stop")
	}
	// The server's output went to the artifacts folder.
	log, err := os.ReadFile(filepath.Join(testkit.ArtifactsDir(t), "postgres.log"))
	if err != nil || !strings.Contains(string(log), "database system is ready to accept connections") ||
		!strings.Contains(string(log), "database system is shut down") {
		t.Errorf("server log (%v):\n%s", err, log)
	}
}
