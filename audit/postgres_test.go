package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/store/postgres"
	"github.com/tokenwall/tokenwall/testkit"
)

// The PostgreSQL backend runs the same tamper tests on one throwaway cluster, started the
// first time a test needs it and stopped when the package's tests end.
var (
	pgOnce    sync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
	pgLog     *os.File
	pgSeq     atomic.Int64
)

func init() {
	extraBackends = append(extraBackends, backend{name: "postgres", open: openPostgres})
	cleanups = append(cleanups, func() {
		if pgCluster != nil {
			_ = pgCluster.Stop()
		}
		if pgLog != nil {
			_ = pgLog.Close()
		}
	})
}

func openPostgres(t *testing.T) (store.Store, func(string, ...any)) {
	pgOnce.Do(func() {
		root, err := testkit.ArtifactsRoot()
		if err != nil {
			pgErr = err
			return
		}
		dir := filepath.Join(root, "audit-TestMain")
		_ = os.MkdirAll(dir, 0o755)
		if pgLog, err = os.Create(filepath.Join(dir, "postgres.log")); err != nil {
			pgErr = err
			return
		}
		pgCluster, pgErr = pgtest.Start(context.Background(), "", pgLog)
	})
	if pgErr != nil {
		t.Fatalf("postgres: %v", pgErr)
	}
	ctx := context.Background()
	dsn, err := pgCluster.NewDatabase(ctx, fmt.Sprintf("audit_%d", pgSeq.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, func(q string, args ...any) {
		t.Helper()
		if err := s.RawExec(ctx, q, args...); err != nil {
			t.Fatalf("tamper %q: %v", q, err)
		}
	}
}
