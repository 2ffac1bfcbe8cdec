package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// PutIdempotency stores rec unless a live record holds its key (then it returns false). An
// expired record under the key is replaced.
func (s *Store) PutIdempotency(ctx context.Context, rec store.IdempotencyRecord) (bool, error) {
	// Group-committed: concurrent API requests share one fsync.
	var stored bool
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency (key, request_hash, status, body, created_us, expires_us)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
				body = excluded.body, created_us = excluded.created_us, expires_us = excluded.expires_us
			WHERE idempotency.expires_us <= excluded.created_us`,
			rec.Key, rec.RequestHash, rec.Status, rec.Body, us(rec.CreatedAt), us(rec.ExpiresAt))
		if err != nil {
			return fmt.Errorf("sqlite: put idempotency: %w", err)
		}
		stored = rowsAffected(res) == 1
		return nil
	})
	return stored, err
}

// GetIdempotency returns the live record for key.
func (s *Store) GetIdempotency(ctx context.Context, key string, now time.Time) (store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT key, request_hash, status, body, created_us, expires_us FROM idempotency
		WHERE key = ? AND expires_us > ?`, key, us(now)).Scan(&r.Key, &r.RequestHash, &r.Status, &r.Body, &created, &expires)
	if err != nil {
		return r, notFound(err, "idempotency key")
	}
	r.CreatedAt, r.ExpiresAt = fromUS(created), fromUS(expires)
	return r, nil
}

// PruneIdempotency deletes expired records.
func (s *Store) PruneIdempotency(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE expires_us <= ?`, us(now))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune idempotency: %w", err)
	}
	return res.RowsAffected()
}

// DeleteIdempotencyMatching deletes the records whose body holds needle, byte for byte
// (instr() on BLOBs, no wildcards), and returns how many.
func (s *Store) DeleteIdempotencyMatching(ctx context.Context, needle string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	var n int64
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency WHERE instr(CAST(body AS BLOB), CAST(? AS BLOB)) > 0`, []byte(needle))
		if err != nil {
			return fmt.Errorf("sqlite: delete idempotency: %w", err)
		}
		n = rowsAffected(res)
		return nil
	})
	return n, err
}

// CompleteIdempotency replaces the pending claim on rec.Key holding rec.RequestHash with rec.
func (s *Store) CompleteIdempotency(ctx context.Context, rec store.IdempotencyRecord) (bool, error) {
	var done bool
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency SET status = ?, body = ?, created_us = ?, expires_us = ?
			WHERE key = ? AND request_hash = ? AND status = 0 AND expires_us > ?`,
			rec.Status, rec.Body, us(rec.CreatedAt), us(rec.ExpiresAt), rec.Key, rec.RequestHash, us(rec.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: complete idempotency: %w", err)
		}
		done = rowsAffected(res) == 1
		return nil
	})
	return done, err
}

// ReleaseIdempotency deletes the pending claim on key holding requestHash.
func (s *Store) ReleaseIdempotency(ctx context.Context, key string, requestHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM idempotency WHERE key = ? AND request_hash = ? AND status = 0`, key, requestHash); err != nil {
		return fmt.Errorf("sqlite: release idempotency: %w", err)
	}
	return nil
}
