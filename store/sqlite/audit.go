package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tokenwall/tokenwall/store"
)

// AppendAudit appends records in one transaction. The transaction takes SQLite's write lock
// at BEGIN (_txlock=immediate), so concurrent appenders read the head one at a time.
func (s *Store) AppendAudit(ctx context.Context, build func(head store.Head) ([]store.AuditRecord, error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var head store.Head
	if err := tx.StmtContext(ctx, s.audit.head).QueryRowContext(ctx).Scan(&head.Seq, &head.Hash); err != nil {
		return fmt.Errorf("sqlite: audit head: %w", err)
	}
	recs, err := build(head)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	if err := store.CheckContinues(head, recs); err != nil {
		return err
	}
	stmt := tx.StmtContext(ctx, s.audit.insert)
	for _, r := range recs {
		if _, err := stmt.ExecContext(ctx, r.Seq, us(r.Time), r.Actor, r.Event, r.Outcome, r.Reason, r.SourceIP,
			r.RequestID, r.Resource, r.Details, r.KeyVersion, r.PrevHash, r.Hash, r.MAC); err != nil {
			return fmt.Errorf("sqlite: append audit seq %d: %w", r.Seq, err)
		}
	}
	last := recs[len(recs)-1]
	if _, err := tx.StmtContext(ctx, s.audit.setHead).ExecContext(ctx, last.Seq, last.Hash); err != nil {
		return fmt.Errorf("sqlite: audit head: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// auditStmts are AppendAudit's statements, prepared once when the store opens (after the
// migrations that make their tables): parsing them for every batch was about a sixth of the
// trail writer's CPU time (BenchmarkAuditAppendSQLite). Each transaction uses them through
// Tx.StmtContext, which database/sql prepares once per connection.
type auditStmts struct{ head, insert, setHead *sql.Stmt }

func prepareAudit(ctx context.Context, db *sql.DB) (auditStmts, error) {
	var a auditStmts
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&a.head, `SELECT seq, hash FROM audit_head WHERE id = 1`},
		{&a.insert, `INSERT INTO audit_records
		(seq, time_us, actor, event, outcome, reason, source_ip, request_id, resource, details, key_version, prev_hash, hash, mac)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		{&a.setHead, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			a.close()
			return auditStmts{}, fmt.Errorf("sqlite: prepare audit statements: %w", err)
		}
		*p.dst = st
	}
	return a, nil
}

// close closes the statements that were prepared.
func (a auditStmts) close() {
	for _, st := range []*sql.Stmt{a.head, a.insert, a.setHead} {
		if st != nil {
			_ = st.Close()
		}
	}
}

// AuditHead returns the end of the chain.
func (s *Store) AuditHead(ctx context.Context) (store.Head, error) {
	var h store.Head
	if err := s.db.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
		return h, fmt.Errorf("sqlite: audit head: %w", err)
	}
	return h, nil
}

// AuditRange calls fn for each record with from <= seq <= to (to 0: to the end), in order.
func (s *Store) AuditRange(ctx context.Context, from, to int64, fn func(store.AuditRecord) error) error {
	if to <= 0 {
		to = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, time_us, actor, event, outcome, reason, source_ip, request_id,
		resource, details, key_version, prev_hash, hash, mac FROM audit_records WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return fmt.Errorf("sqlite: audit range: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r store.AuditRecord
		var t int64
		if err := rows.Scan(&r.Seq, &t, &r.Actor, &r.Event, &r.Outcome, &r.Reason, &r.SourceIP, &r.RequestID,
			&r.Resource, &r.Details, &r.KeyVersion, &r.PrevHash, &r.Hash, &r.MAC); err != nil {
			return fmt.Errorf("sqlite: audit range: %w", err)
		}
		r.Time = fromUS(t)
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: audit range: %w", err)
	}
	return nil
}

// AuditBounds returns the first and last sequence numbers kept.
func (s *Store) AuditBounds(ctx context.Context) (first, last int64, err error) {
	var f, l sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM audit_records`).Scan(&f, &l); err != nil {
		return 0, 0, fmt.Errorf("sqlite: audit bounds: %w", err)
	}
	return f.Int64, l.Int64, nil
}

// AddCheckpoint stores a signed checkpoint.
func (s *Store) AddCheckpoint(ctx context.Context, c store.Checkpoint) error {
	if _, err := s.db.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, time_us, key_name, signature) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`,
		c.Seq, c.Hash, us(c.Time), c.KeyName, c.Signature); err != nil {
		return fmt.Errorf("sqlite: add checkpoint %d: %w", c.Seq, err)
	}
	return nil
}

// Checkpoints returns the checkpoints with from <= seq <= to (to 0: to the end).
func (s *Store) Checkpoints(ctx context.Context, from, to int64) ([]store.Checkpoint, error) {
	if to <= 0 {
		to = 1<<63 - 1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash, time_us, key_name, signature FROM audit_checkpoints
		WHERE seq >= ? AND seq <= ? ORDER BY seq`, from, to)
	if err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []store.Checkpoint
	for rows.Next() {
		var c store.Checkpoint
		var t int64
		if err := rows.Scan(&c.Seq, &c.Hash, &t, &c.KeyName, &c.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
		}
		c.Time = fromUS(t)
		out = append(out, c)
	}
	return out, rows.Err()
}

// PruneAudit deletes records with seq < before, and the checkpoints older than the last one
// at or before before-1 (which the remaining trail starts from).
func (s *Store) PruneAudit(ctx context.Context, before int64) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	res, err := tx.ExecContext(ctx, `DELETE FROM audit_records WHERE seq < ?`, before)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_checkpoints WHERE seq < (SELECT coalesce(max(seq), 0) FROM audit_checkpoints WHERE seq <= ?)`, before-1); err != nil {
		return 0, fmt.Errorf("sqlite: prune checkpoints: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}
