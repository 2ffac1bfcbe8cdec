package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokenwall/tokenwall/store"
)

// rangePage is how many records AuditRange reads per query. It reads in pages so that a slow
// callback (verifying signatures, writing a report) holds no connection or cursor open.
const rangePage = 500

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

const recordColumns = `seq, time, actor, event, outcome, reason, source_ip, request_id, resource, details,
	key_version, prev_hash, hash, mac`

// AppendAudit appends records in one transaction. It locks the one-row head table first
// (SELECT … FOR UPDATE), so appenders on every replica take turns, and each build sees the
// head the previous append left.
func (s *Store) AppendAudit(ctx context.Context, build func(head store.Head) ([]store.AuditRecord, error)) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	defer rollback(ctx, tx)
	var head store.Head
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&head.Seq, &head.Hash); err != nil {
		return fmt.Errorf("postgres: audit head: %w", err)
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
	// One round trip for the records and the new head.
	b := &pgx.Batch{}
	for _, r := range recs {
		b.Queue(`INSERT INTO audit_records (`+recordColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			r.Seq, r.Time, r.Actor, r.Event, r.Outcome, r.Reason, r.SourceIP, r.RequestID, r.Resource, r.Details,
			r.KeyVersion, r.PrevHash, r.Hash, r.MAC)
	}
	last := recs[len(recs)-1]
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, last.Seq, last.Hash)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == uniqueViolation {
			// A record is there that the head does not account for: an edit behind our back.
			return fmt.Errorf("%w: %w", store.ErrChainConflict, err)
		}
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// AuditHead returns the end of the chain.
func (s *Store) AuditHead(ctx context.Context) (store.Head, error) {
	var h store.Head
	if err := s.pool.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&h.Seq, &h.Hash); err != nil {
		return store.Head{}, fmt.Errorf("postgres: audit head: %w", err)
	}
	return h, nil
}

// AuditRange calls fn for each record with from <= seq <= to (to 0: to the end), in order,
// and returns fn's first error as it is.
func (s *Store) AuditRange(ctx context.Context, from, to int64, fn func(store.AuditRecord) error) error {
	if to <= 0 {
		to = math.MaxInt64
	}
	for from <= to {
		rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_records
			WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`, from, to, rangePage)
		if err != nil {
			return fmt.Errorf("postgres: audit range: %w", err)
		}
		page, err := pgx.CollectRows(rows, scanRecord)
		if err != nil {
			return fmt.Errorf("postgres: audit range: %w", err)
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < rangePage || page[len(page)-1].Seq == math.MaxInt64 {
			return nil
		}
		from = page[len(page)-1].Seq + 1
	}
	return nil
}

func scanRecord(row pgx.CollectableRow) (store.AuditRecord, error) {
	var r store.AuditRecord
	err := row.Scan(&r.Seq, &r.Time, &r.Actor, &r.Event, &r.Outcome, &r.Reason, &r.SourceIP, &r.RequestID,
		&r.Resource, &r.Details, &r.KeyVersion, &r.PrevHash, &r.Hash, &r.MAC)
	r.Time = r.Time.UTC()
	return r, err
}

// AuditBounds returns the first and last sequence numbers kept (0, 0 when empty).
func (s *Store) AuditBounds(ctx context.Context) (first, last int64, err error) {
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(min(seq), 0), coalesce(max(seq), 0) FROM audit_records`).Scan(&first, &last); err != nil {
		return 0, 0, fmt.Errorf("postgres: audit bounds: %w", err)
	}
	return first, last, nil
}

// AddCheckpoint stores a signed checkpoint.
func (s *Store) AddCheckpoint(ctx context.Context, c store.Checkpoint) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, time, key_name, signature) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (seq) DO NOTHING`,
		c.Seq, c.Hash, c.Time, c.KeyName, c.Signature); err != nil {
		return fmt.Errorf("postgres: add checkpoint %d: %w", c.Seq, err)
	}
	return nil
}

// Checkpoints returns the checkpoints with from <= seq <= to (to 0: to the end), in order.
func (s *Store) Checkpoints(ctx context.Context, from, to int64) ([]store.Checkpoint, error) {
	if to <= 0 {
		to = math.MaxInt64
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, hash, time, key_name, signature FROM audit_checkpoints
		WHERE seq >= $1 AND seq <= $2 ORDER BY seq`, from, to)
	if err != nil {
		return nil, fmt.Errorf("postgres: checkpoints: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Checkpoint, error) {
		var c store.Checkpoint
		err := row.Scan(&c.Seq, &c.Hash, &c.Time, &c.KeyName, &c.Signature)
		c.Time = c.Time.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: checkpoints: %w", err)
	}
	return out, nil
}

// PruneAudit deletes records with seq < before, and the checkpoints older than the last one
// at or before before-1 (which the remaining trail starts from), in one transaction.
func (s *Store) PruneAudit(ctx context.Context, before int64) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	defer rollback(ctx, tx)
	tag, err := tx.Exec(ctx, `DELETE FROM audit_records WHERE seq < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM audit_checkpoints
		WHERE seq < (SELECT coalesce(max(seq), 0) FROM audit_checkpoints WHERE seq <= $1 - 1)`, before); err != nil {
		return 0, fmt.Errorf("postgres: prune checkpoints: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("postgres: prune audit: %w", err)
	}
	return tag.RowsAffected(), nil
}
