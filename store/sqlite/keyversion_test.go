package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// TestRecordsBeforeSchema3NameKeyVersion0 builds a database as tokenwall left it at schema 2,
// with one audit record, and opens it: migration 3 adds key_version, the old record reads
// back as version 0 (the audit package's "no version named") with every other field as it
// was, and the chain continues with versioned records.
func TestRecordsBeforeSchema3NameKeyVersion0(t *testing.T) {
	ctx := context.Background()
	p := dbPath(t)
	db, err := sql.Open("sqlite", "file:"+p)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"migrations/0001_init.sql", "migrations/0002_subject_keys.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	for _, q := range []string{
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (1), (2)`,
		`INSERT INTO audit_records (seq, time_us, actor, event, outcome, reason, source_ip, request_id, resource, details, prev_hash, hash, mac)
			VALUES (1, 1764322200000000, 'system', 'startup', 'success', '', '', '', 'tokenwall', '', NULL, x'01', x'02')`,
		`UPDATE audit_head SET seq = 1, hash = x'01' WHERE id = 1`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t, p)
	defer s.Close()
	if v, _ := s.SchemaVersion(ctx); v < 3 {
		t.Fatalf("schema version %d after Open, want at least 3", v)
	}
	err = s.AppendAudit(ctx, func(h store.Head) ([]store.AuditRecord, error) {
		return []store.AuditRecord{{Seq: h.Seq + 1, Time: time.Now().UTC(), Actor: "system", Event: "startup", Outcome: "success",
			KeyVersion: 4, PrevHash: h.Hash, Hash: []byte{3}, MAC: []byte{4}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []store.AuditRecord
	if err := s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].KeyVersion != 0 || got[0].Event != "startup" || string(got[0].Hash) != "\x01" ||
		string(got[0].MAC) != "\x02" || got[1].KeyVersion != 4 {
		t.Fatalf("records after migration: %+v", got)
	}
}
