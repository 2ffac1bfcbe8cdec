package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the naive baseline writes through database/sql directly

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/store/postgres"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/vault"
)

// localSigner stands in for Vault transit in benchmarks, so the figures are the trail's own
// cost (checkpoints are signed off the append path anyway).
type localSigner struct{ key ed25519.PrivateKey }

func newLocalSigner() localSigner {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	return localSigner{key: k}
}

func (s localSigner) KeyName() string { return "bench" }
func (s localSigner) Sign(_ context.Context, data []byte) (string, error) {
	return "local:" + base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, data)), nil
}
func (s localSigner) Verify(_ context.Context, data []byte, sig string) (bool, error) {
	raw, err := base64.StdEncoding.DecodeString(sig[len("local:"):])
	return err == nil && ed25519.Verify(s.key.Public().(ed25519.PublicKey), data, raw), nil
}

var benchKey = []byte("0123456789abcdef0123456789abcdef")

func benchEvent(i int) audit.Event {
	return audit.Event{Type: audit.EventTokenize, Actor: "checkout", Outcome: audit.Success, SourceIP: "203.0.113.9",
		RequestID: fmt.Sprintf("%032x", i), Resource: "pm_1Bench" + fmt.Sprint(i),
		Details: map[string]string{"route": "/checkout/submit", "brand": "visa", "last4": "4242"}}
}

// latencies records per-append durations for the p99.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) { l.mu.Lock(); l.d = append(l.d, d); l.mu.Unlock() }
func (l *latencies) p99() time.Duration {
	if len(l.d) == 0 {
		return 0
	}
	slices.Sort(l.d)
	return l.d[len(l.d)*99/100]
}

// runAppends drives b.N appends through append from writers goroutines and reports appends/s
// and the p99 of one append.
func runAppends(b *testing.B, writers int, appendOne func(i int) error) (perSec float64, p99 time.Duration) {
	var lat latencies
	var next sync.Mutex
	n := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				i := n
				n++
				next.Unlock()
				if i >= b.N {
					return
				}
				t := time.Now()
				if err := appendOne(i); err != nil {
					b.Error(err)
					return
				}
				lat.add(time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	perSec = float64(b.N) / elapsed.Seconds()
	p99 = lat.p99()
	b.ReportMetric(perSec, "appends/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	return perSec, p99
}

func openSQLiteTrail(b testing.TB) (*sqlite.Store, *audit.Trail, localSigner) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() }) // cleanups run last-first: the trail closes before the store
	return st, newTrail(b, st), benchSigner
}

// benchSigner signs every benchmark trail's checkpoints.
var benchSigner = newLocalSigner()

func newTrail(b testing.TB, st store.Audit) *audit.Trail {
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, benchKey, 1), nil }, Signer: benchSigner})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tr.Close(context.Background()) })
	return tr
}

// BenchmarkAuditAppendSQLite: durable, chained, MACed appends through the trail's group
// commit, with 1 and 32 concurrent writers, next to a naive baseline in the same run (one
// durable INSERT per event on the same SQLite settings, no chain), and the ratio.
func BenchmarkAuditAppendSQLite(b *testing.B) {
	results := map[string]float64{}
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("naive-insert/writers=%d", writers), func(b *testing.B) {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(b.TempDir(), "naive.db")+
				"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate")
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE ev (id INTEGER PRIMARY KEY, actor, event, outcome, source_ip, request_id, resource, details)`); err != nil {
				b.Fatal(err)
			}
			results[b.Name()], _ = runAppends(b, writers, func(i int) error {
				ev := benchEvent(i)
				_, err := db.Exec(`INSERT INTO ev (actor, event, outcome, source_ip, request_id, resource, details) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					ev.Actor, ev.Type, ev.Outcome, ev.SourceIP, ev.RequestID, ev.Resource, `{"brand":"visa"}`)
				return err
			})
		})
		b.Run(fmt.Sprintf("trail/writers=%d", writers), func(b *testing.B) {
			_, tr, _ := openSQLiteTrail(b)
			results[b.Name()], _ = runAppends(b, writers, func(i int) error { return tr.Record(context.Background(), benchEvent(i)) })
		})
		naive, trail := results[fmt.Sprintf("BenchmarkAuditAppendSQLite/naive-insert/writers=%d", writers)], results[fmt.Sprintf("BenchmarkAuditAppendSQLite/trail/writers=%d", writers)]
		if naive > 0 {
			fmt.Printf("BenchmarkAuditAppendSQLite writers=%d: trail %.0f appends/s, naive insert %.0f appends/s, ratio %.2fx\n", writers, trail, naive, trail/naive)
		}
	}
}

// BenchmarkAuditVerify measures `audit verify` over 20,000 records (checkpoints every 1000
// signed by the local stand-in): records per second.
func BenchmarkAuditVerify(b *testing.B) {
	st, tr, signer := openSQLiteTrail(b)
	const n = 20000
	var wg sync.WaitGroup
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 32 {
				if err := tr.Record(context.Background(), benchEvent(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ResetTimer()
	for b.Loop() {
		res, err := audit.Verify(context.Background(), st, audit.StaticKey(benchKey), signer, 0, 0)
		if err != nil || !res.OK || res.Records != n {
			b.Fatalf("verify: %+v %v", res, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkAuditAppendPostgres: the same trail on a throwaway PostgreSQL cluster (fsync and
// synchronous_commit on), 1 and 32 writers, next to a naive one-INSERT-per-event baseline.
func BenchmarkAuditAppendPostgres(b *testing.B) {
	c := pgtest.StartT(b)
	ctx := context.Background()
	results := map[string]float64{}
	db := 0
	newDB := func(b *testing.B) string {
		db++
		dsn, err := c.NewDatabase(ctx, fmt.Sprintf("bench_%d", db))
		if err != nil {
			b.Fatal(err)
		}
		return dsn
	}
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("naive-insert/writers=%d", writers), func(b *testing.B) {
			pool, err := pgxpool.New(ctx, newDB(b))
			if err != nil {
				b.Fatal(err)
			}
			defer pool.Close()
			if _, err := pool.Exec(ctx, `CREATE TABLE ev (id bigserial PRIMARY KEY, actor text, event text, outcome text, source_ip text, request_id text, resource text, details text)`); err != nil {
				b.Fatal(err)
			}
			results[fmt.Sprintf("naive%d", writers)], _ = runAppends(b, writers, func(i int) error {
				ev := benchEvent(i)
				_, err := pool.Exec(ctx, `INSERT INTO ev (actor, event, outcome, source_ip, request_id, resource, details) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
					ev.Actor, ev.Type, ev.Outcome, ev.SourceIP, ev.RequestID, ev.Resource, `{"brand":"visa"}`)
				return err
			})
		})
		b.Run(fmt.Sprintf("trail/writers=%d", writers), func(b *testing.B) {
			st, err := postgres.Open(ctx, newDB(b), postgres.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			tr := newTrail(b, st)
			results[fmt.Sprintf("trail%d", writers)], _ = runAppends(b, writers, func(i int) error { return tr.Record(ctx, benchEvent(i)) })
		})
		if naive := results[fmt.Sprintf("naive%d", writers)]; naive > 0 {
			trail := results[fmt.Sprintf("trail%d", writers)]
			fmt.Printf("BenchmarkAuditAppendPostgres writers=%d: trail %.0f appends/s, naive insert %.0f appends/s, ratio %.2fx\n", writers, trail, naive, trail/naive)
		}
	}
}
