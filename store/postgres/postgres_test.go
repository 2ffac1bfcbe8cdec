package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/store/postgres"
	"github.com/tokenwall/tokenwall/store/storetest"
	"github.com/tokenwall/tokenwall/testkit"
)

// cluster is the package's one PostgreSQL server, started by TestMain; each test gets
// databases of its own on it.
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := testkit.ArtifactsRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, "postgres-TestMain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer log.Close()
	start := time.Now()
	c, err := pgtest.Start(context.Background(), "", log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if testing.Verbose() {
		fmt.Printf("postgres cluster started in %v\n", time.Since(start).Round(time.Millisecond))
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// newDB creates a fresh database and returns its name and DSN.
func newDB(t *testing.T) (name, dsn string) {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name = "t_" + hex.EncodeToString(b)
	dsn, err := cluster.NewDatabase(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return name, dsn
}

// open opens a store on dsn, closed when the test ends (Close is idempotent, so a test
// closing it itself is fine).
func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T) store.Store {
			_, dsn := newDB(t)
			return open(t, dsn)
		},
		func(t *testing.T) (store.Store, store.Store) {
			_, dsn := newDB(t)
			return open(t, dsn), open(t, dsn)
		})
}

func latestVersion(t *testing.T) int {
	t.Helper()
	_, dsn := newDB(t)
	_, to, err := postgres.Migrate(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	_, dsn := newDB(t)
	from, to, err := postgres.Migrate(ctx, dsn)
	if err != nil || from != 0 || to < 1 {
		t.Fatalf("first Migrate %d -> %d, %v; want 0 -> latest", from, to, err)
	}
	again, to2, err := postgres.Migrate(ctx, dsn)
	if err != nil || again != to || to2 != to {
		t.Fatalf("second Migrate %d -> %d, %v; want %d -> %d", again, to2, err, to, to)
	}
	s := open(t, dsn)
	if v, err := s.SchemaVersion(ctx); err != nil || v != to {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, to)
	}
	if _, _, err := postgres.Migrate(ctx, "postgres://tokenwall@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("Migrate against no server succeeded")
	}
}

func TestOpenTwiceAndTogetherMigratesOnce(t *testing.T) {
	ctx := context.Background()
	_, dsn := newDB(t)
	// Replicas starting at the same moment: the advisory lock lets one migrate.
	const replicas = 4
	errs := make(chan error, replicas)
	var wg sync.WaitGroup
	for range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 2})
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	// And once more, later.
	s := open(t, dsn)
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rows, distinct int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_version`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != v || distinct != v {
		t.Errorf("schema_version has %d rows (%d versions) at version %d: a migration ran twice or was skipped", rows, distinct, v)
	}
}

func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	latest := latestVersion(t)
	_, dsn := newDB(t)
	s := open(t, dsn)
	if err := s.RawExec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, 999); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := postgres.Open(ctx, dsn, postgres.Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{"version 999", fmt.Sprintf("up to %d", latest)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, _, err := postgres.Migrate(ctx, dsn); !errors.Is(err, store.ErrSchemaTooNew) {
		t.Errorf("Migrate of a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenOptions(t *testing.T) {
	ctx := context.Background()
	_, dsn := newDB(t)
	if _, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: -1}); err == nil {
		t.Error("negative MaxConns accepted")
	}
	s := open(t, dsn)
	if got := s.Pool().Config().MaxConns; got != 4 {
		t.Errorf("MaxConns = %d, want 4", got)
	}
	if _, err := postgres.Open(ctx, "postgres://tokenwall:hunter2@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", postgres.Options{}); err == nil {
		t.Error("Open against no server succeeded")
	} else if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error shows the password: %v", err)
	}
}

// A record the head does not account for (an edit behind the store's back) makes the next
// append fail with ErrChainConflict rather than fork the chain.
func TestAppendOverTamperedTrail(t *testing.T) {
	ctx := context.Background()
	_, dsn := newDB(t)
	s := open(t, dsn)
	if err := s.RawExec(ctx, `INSERT INTO audit_records (seq, time, actor, event, outcome, reason, source_ip,
		request_id, resource, details, hash) VALUES (1, now(), 'x', 'x', 'success', '', '', '', '', '', '\x01')`); err != nil {
		t.Fatal(err)
	}
	err := s.AppendAudit(ctx, func(h store.Head) ([]store.AuditRecord, error) {
		return []store.AuditRecord{{Seq: h.Seq + 1, Time: time.Now(), Event: "tokenize", PrevHash: h.Hash, Hash: []byte{2}}}, nil
	})
	if !errors.Is(err, store.ErrChainConflict) {
		t.Fatalf("append over a planted record: %v, want ErrChainConflict", err)
	}
	if h, err := s.AuditHead(ctx); err != nil || h.Seq != 0 {
		t.Errorf("head moved to %+v, %v", h, err)
	}
}

// Times go in in any zone with nanoseconds and come out UTC at microsecond precision; zero
// times on nullable columns stay zero.
func TestTimes(t *testing.T) {
	ctx := context.Background()
	_, dsn := newDB(t)
	s := open(t, dsn)
	zone := time.FixedZone("UTC+5", 5*3600)
	at := time.Date(2026, 11, 28, 17, 4, 5, 123456789, zone)
	if _, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: "evt_t", Type: "x", Digest: []byte("d"), CreatedAt: at, NextAttempt: at}); err != nil {
		t.Fatal(err)
	}
	it, err := s.GetOutbox(ctx, "evt_t")
	if err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Microsecond)
	if !it.CreatedAt.Equal(want) || it.CreatedAt.Location() != time.UTC || it.CreatedAt.Nanosecond()%1000 != 0 {
		t.Errorf("CreatedAt = %v, want %v", it.CreatedAt, want)
	}
	if !it.DeliveredAt.IsZero() || !it.LeaseUntil.IsZero() || it.Payload != nil {
		t.Errorf("unset fields came back set: %+v", it)
	}
}

func TestDump(t *testing.T) {
	ctx := context.Background()
	name, dsn := newDB(t)
	s := open(t, dsn)
	if _, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: "evt_dump", Type: "charge.succeeded", Digest: []byte("d"),
		CreatedAt: time.Now(), NextAttempt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dump, err := cluster.Dump(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE TABLE public.audit_records", "CREATE TABLE public.outbox", "evt_dump"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("dump lacks %q", want)
		}
	}
}
