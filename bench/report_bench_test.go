package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// reportRecords is how many audit records BenchmarkReportBuild reads (REPORT_RECORDS to
// change it; a year of a busy merchant is about 10 million).
func reportRecords() int {
	if n, err := strconv.Atoi(os.Getenv("REPORT_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// seedTrail appends n chained, MACed records (a day's mix of events) through a trail with
// big group commits.
func seedTrail(b *testing.B, n int) store.Store {
	st, _, _ := openSQLiteTrail(b)
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, benchKey, 1), nil }, Signer: benchSigner,
		MaxBatch: 2048, CheckpointEvery: 10_000})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := 365 * 24 * time.Hour / time.Duration(n)
	var wg sync.WaitGroup
	const writers = 512
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				ev := benchEvent(i)
				ev.Time = start.Add(time.Duration(i) * step)
				if err := tr.Record(context.Background(), ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := tr.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkReportBuild: building a year's report (every record read and counted, the chain
// of the period verified with its MACs and checkpoints) over reportRecords() records on
// SQLite, next to a bare read of the same records in the same run; prints records per second
// and what 10 million records would take.
func BenchmarkReportBuild(b *testing.B) {
	n := reportRecords()
	st := seedTrail(b, n)
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	var bareNS, buildNS float64
	b.Run("bare-read", func(b *testing.B) {
		for range b.N {
			read := 0
			if err := st.AuditRange(context.Background(), 0, 0, func(store.AuditRecord) error { read++; return nil }); err != nil || read != n {
				b.Fatalf("read %d of %d: %v", read, n, err)
			}
		}
		bareNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("build", func(b *testing.B) {
		for range b.N {
			r, err := report.Build(context.Background(), report.Inputs{From: from, To: to, Now: to, Store: st, RetentionDays: 400,
				CryptoperiodDays: 365,
				Verify: func(ctx context.Context, f, t int64) (report.ChainEvidence, error) {
					res, err := audit.Verify(ctx, st, audit.StaticKey(benchKey), benchSigner, f, t)
					return report.ChainEvidence{OK: res.OK, Records: res.Records, Checkpoints: int64(res.Checkpoints)}, err
				}})
			if err != nil || r.Summary.Records != int64(n) || !r.Evidence.Chain.OK {
				b.Fatalf("report of %d records: %d, chain %+v, %v", n, r.Summary.Records, r.Evidence.Chain, err)
			}
		}
		buildNS = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	if bareNS > 0 && buildNS > 0 {
		perSec := float64(n) / (buildNS / 1e9)
		fmt.Printf("BenchmarkReportBuild: %d records: build %.0f records/s (chain verified), bare read %.0f records/s, ratio %.2fx; 10 million records: about %s\n",
			n, perSec, float64(n)/(bareNS/1e9), buildNS/bareNS, (time.Duration(1e7/perSec) * time.Second).Round(time.Second))
	}
}
