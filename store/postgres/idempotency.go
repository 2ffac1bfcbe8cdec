package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// PutIdempotency stores rec unless a live record holds its key (then it returns false). An
// expired record under the key is replaced, in the same statement, so two replicas racing
// for one key cannot both win.
func (s *Store) PutIdempotency(ctx context.Context, rec store.IdempotencyRecord) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO idempotency (key, request_hash, status, body, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (key) DO UPDATE SET request_hash = excluded.request_hash, status = excluded.status,
			body = excluded.body, created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE idempotency.expires_at <= excluded.created_at`,
		rec.Key, rec.RequestHash, rec.Status, rec.Body, rec.CreatedAt, rec.ExpiresAt)
	if err != nil {
		return false, fmt.Errorf("postgres: put idempotency: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// GetIdempotency returns the live record for key at now, or store.ErrNotFound.
func (s *Store) GetIdempotency(ctx context.Context, key string, now time.Time) (store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	err := s.pool.QueryRow(ctx, `SELECT key, request_hash, status, body, created_at, expires_at FROM idempotency
		WHERE key = $1 AND expires_at > $2`, key, now).Scan(&r.Key, &r.RequestHash, &r.Status, &r.Body, &r.CreatedAt, &r.ExpiresAt)
	if err != nil {
		return store.IdempotencyRecord{}, notFound(err, "idempotency key")
	}
	r.CreatedAt, r.ExpiresAt = r.CreatedAt.UTC(), r.ExpiresAt.UTC()
	return r, nil
}

// PruneIdempotency deletes records expired at now and returns how many.
func (s *Store) PruneIdempotency(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune idempotency: %w", err)
	}
	return tag.RowsAffected(), nil
}

// DeleteIdempotencyMatching deletes the records whose body holds needle, byte for byte
// (position() on bytea, no wildcards), and returns how many.
func (s *Store) DeleteIdempotencyMatching(ctx context.Context, needle string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE position($1::bytea IN body) > 0`, []byte(needle))
	if err != nil {
		return 0, fmt.Errorf("postgres: delete idempotency: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CompleteIdempotency replaces the pending claim on rec.Key holding rec.RequestHash with rec.
func (s *Store) CompleteIdempotency(ctx context.Context, rec store.IdempotencyRecord) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE idempotency SET status = $3, body = $4, created_at = $5, expires_at = $6
		WHERE key = $1 AND request_hash = $2 AND status = 0 AND expires_at > $5`,
		rec.Key, rec.RequestHash, rec.Status, rec.Body, rec.CreatedAt, rec.ExpiresAt)
	if err != nil {
		return false, fmt.Errorf("postgres: complete idempotency: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseIdempotency deletes the pending claim on key holding requestHash.
func (s *Store) ReleaseIdempotency(ctx context.Context, key string, requestHash []byte) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE key = $1 AND request_hash = $2 AND status = 0`, key, requestHash); err != nil {
		return fmt.Errorf("postgres: release idempotency: %w", err)
	}
	return nil
}
