package evidence

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
)

// scanAtRest scans where tokenwall writes: the SQLite database (and its WAL) or, on
// PostgreSQL, the stored records and payloads read back through the store; and the log files.
func scanAtRest(ctx context.Context, cfg config.Config, st store.Store) []report.ScanEvidence {
	sc, err := cfg.Scrub.Scrubber()
	if err != nil {
		return []report.ScanEvidence{{What: "configuration", Error: err.Error()}}
	}
	var out []report.ScanEvidence
	if cfg.Store.Driver == "postgres" {
		out = append(out, scanStore(ctx, sc, st))
	} else {
		out = append(out, scanFiles(sc, "database", cfg.Store.SQLitePath, []string{cfg.Store.SQLitePath, cfg.Store.SQLitePath + "-wal"}))
	}
	if cfg.Log.File != "" {
		// The log file and any rotated siblings (tokenwall.log.1, tokenwall.log.2.gz is not read).
		matches, _ := filepath.Glob(cfg.Log.File + "*")
		out = append(out, scanFiles(sc, "logs", cfg.Log.File, matches))
	}
	return out
}

// scanFiles scans the files that exist among paths.
func scanFiles(sc *scrub.Scrubber, what, name string, paths []string) report.ScanEvidence {
	ev := report.ScanEvidence{What: what, Path: name, ByKind: map[string]int{}}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			if !os.IsNotExist(err) {
				ev.Error = err.Error()
			}
			continue
		}
		if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
			ev.Files++
			ev.Bytes += info.Size()
			err = sc.ScanReader(f, func(_ int64, fd scrub.Finding) error {
				ev.Findings++
				ev.ByKind[string(fd.Kind)]++
				return nil
			})
			if err != nil && ev.Error == "" {
				ev.Error = err.Error()
			}
		}
		_ = f.Close()
	}
	if ev.Files == 0 && ev.Error == "" {
		ev.Error = "nothing to scan at " + name + ": " + fs.ErrNotExist.Error()
	}
	return ev
}

// scanStore scans what a PostgreSQL store holds by reading it back: every audit record and
// every outbox payload.
func scanStore(ctx context.Context, sc *scrub.Scrubber, st store.Store) report.ScanEvidence {
	ev := report.ScanEvidence{What: "database", Path: "postgresql (audit records and outbox payloads, read back)", Files: 1, ByKind: map[string]int{}}
	add := func(b []byte) {
		ev.Bytes += int64(len(b))
		for _, f := range sc.Find(b) {
			ev.Findings++
			ev.ByKind[string(f.Kind)]++
		}
	}
	err := st.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		add([]byte(r.Actor + " " + r.Event + " " + r.Reason + " " + r.SourceIP + " " + r.RequestID + " " + r.Resource + " " + r.Details))
		return nil
	})
	if err == nil {
		var items []store.OutboxItem
		if items, err = st.ListOutbox(ctx, "", 1_000_000); err == nil {
			for _, it := range items {
				add(it.Payload)
			}
		}
	}
	if err != nil {
		ev.Error = err.Error()
	}
	return ev
}
