package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/store/storetest"
	"github.com/tokenwall/tokenwall/testkit"
)

// dbPath is a fresh database file in the test's artifacts folder (kept after the test and
// scanned at the end); one left by an earlier run is removed first.
func dbPath(t *testing.T) string {
	p := filepath.Join(testkit.ArtifactsDir(t), "tokenwall.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(p + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return p
}

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store { return open(t, dbPath(t)) },
		func(t *testing.T) (store.Store, store.Store) {
			p := dbPath(t)
			return open(t, p), open(t, p)
		})
}

func TestMigrationsAreIdempotentAndVersioned(t *testing.T) {
	p := dbPath(t)
	from, to, err := sqlite.Migrate(context.Background(), p)
	if err != nil || from != 0 || to < 1 {
		t.Fatalf("first migrate %d -> %d, %v", from, to, err)
	}
	again, to2, err := sqlite.Migrate(context.Background(), p)
	if err != nil || again != to || to2 != to {
		t.Fatalf("second migrate %d -> %d, %v", again, to2, err)
	}
	s := open(t, p)
	defer s.Close()
	if v, _ := s.SchemaVersion(context.Background()); v != to {
		t.Fatalf("schema version %d, want %d", v, to)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	p := dbPath(t)
	s := open(t, p)
	if err := s.RawExec(context.Background(), `INSERT INTO schema_version (version) VALUES (999)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := sqlite.Open(context.Background(), p)
	if !errors.Is(err, store.ErrSchemaTooNew) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("err = %v, want ErrSchemaTooNew naming version 999", err)
	}
}
