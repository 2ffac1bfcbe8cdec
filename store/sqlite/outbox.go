package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

const outboxColumns = `id, type, payload, digest, status, attempts, next_attempt_us, created_us,
	coalesce(delivered_us, 0), last_error, lease_owner, lease_until_us`

func scanItem(sc interface{ Scan(...any) error }) (store.OutboxItem, error) {
	var it store.OutboxItem
	var next, created, delivered, lease int64
	err := sc.Scan(&it.ID, &it.Type, &it.Payload, &it.Digest, &it.Status, &it.Attempts, &next, &created,
		&delivered, &it.LastError, &it.LeaseOwner, &lease)
	it.NextAttempt, it.CreatedAt, it.DeliveredAt, it.LeaseUntil = fromUS(next), fromUS(created), fromUS(delivered), fromUS(lease)
	return it, err
}

// EnqueueOutbox inserts item as pending unless its ID exists (then it returns false). It
// returns after the transaction holding the row has committed (a group commit, shared with
// concurrent writers).
func (s *Store) EnqueueOutbox(ctx context.Context, it store.OutboxItem) (bool, error) {
	var inserted bool
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, type, payload, digest, status, attempts, next_attempt_us, created_us)
			VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`,
			it.ID, it.Type, it.Payload, it.Digest, store.StatusPending, us(it.NextAttempt), us(it.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: enqueue %s: %w", it.ID, err)
		}
		inserted = rowsAffected(res) == 1
		return nil
	})
	return inserted, err
}

// ClaimOutbox leases up to n due items to owner. SQLite has one writer at a time, so the
// immediate transaction is the lock that makes each claim exclusive.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, n int, lease time.Duration, now time.Time) ([]store.OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `UPDATE outbox SET lease_owner = ?, lease_until_us = ?
		WHERE id IN (SELECT id FROM outbox WHERE status = ? AND next_attempt_us <= ? AND lease_until_us <= ?
			ORDER BY created_us, id LIMIT ?)
		RETURNING `+outboxColumns, owner, us(now.Add(lease)), store.StatusPending, us(now), us(now), n)
	if err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
		}
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: claim outbox: %w", err)
	}
	// RETURNING gives no order guarantee; callers get the oldest first.
	sortItems(out)
	return out, nil
}

// finish updates a leased item, checking the lease owner.
func (s *Store) finish(ctx context.Context, id, owner, set string, args ...any) error {
	if owner == "" {
		// An unleased item has owner "": without this, any caller could finish it.
		return fmt.Errorf("%w: %s: no owner given", store.ErrNotOwner, id)
	}
	// Group-committed like EnqueueOutbox: deliveries finish in parallel.
	return s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET `+set+`, attempts = attempts + 1, lease_owner = '', lease_until_us = 0
			WHERE id = ? AND lease_owner = ? AND status = ?`, append(args, id, owner, store.StatusPending)...)
		if err != nil {
			return fmt.Errorf("sqlite: outbox %s: %w", id, err)
		}
		if rowsAffected(res) == 0 {
			return fmt.Errorf("%w: %s by %s", store.ErrNotOwner, id, owner)
		}
		return nil
	})
}

// CompleteOutbox marks a leased item delivered and deletes its payload.
func (s *Store) CompleteOutbox(ctx context.Context, id, owner string, at time.Time) error {
	return s.finish(ctx, id, owner, `status = ?, payload = NULL, delivered_us = ?`, store.StatusDelivered, us(at))
}

// RetryOutbox counts the attempt and schedules the next.
func (s *Store) RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string) error {
	return s.finish(ctx, id, owner, `status = ?, next_attempt_us = ?, last_error = ?`, store.StatusPending, us(next), lastError)
}

// DeadOutbox counts the attempt and gives up on the item.
func (s *Store) DeadOutbox(ctx context.Context, id, owner string, lastError string) error {
	return s.finish(ctx, id, owner, `status = ?, last_error = ?`, store.StatusDead, lastError)
}

// GetOutbox returns one item.
func (s *Store) GetOutbox(ctx context.Context, id string) (store.OutboxItem, error) {
	it, err := scanItem(s.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	if err != nil {
		return it, notFound(err, "outbox "+id)
	}
	return it, nil
}

// ListOutbox returns items with status (all when ""), newest first.
func (s *Store) ListOutbox(ctx context.Context, status string, limit int) ([]store.OutboxItem, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE ? = '' OR status = ?
		ORDER BY created_us DESC, id DESC LIMIT ?`, status, status, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it, err := scanItem(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list outbox: %w", err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// ReplayOutbox makes a dead item pending again.
func (s *Store) ReplayOutbox(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = ?, next_attempt_us = ?, lease_owner = '', lease_until_us = 0
		WHERE id = ? AND status = ?`, store.StatusPending, us(now), id, store.StatusDead)
	if err != nil {
		return fmt.Errorf("sqlite: replay %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: dead outbox item %s", store.ErrNotFound, id)
	}
	return nil
}

// PurgeOutboxMatching erases the payload of every undelivered item whose payload holds
// needle, byte for byte: instr() on BLOBs, so LIKE's wildcards mean nothing here.
func (s *Store) PurgeOutboxMatching(ctx context.Context, needle, reason string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	var n int64
	err := s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE outbox SET payload = NULL, status = ?, last_error = ?, lease_owner = '', lease_until_us = 0
			WHERE status <> ? AND instr(CAST(payload AS BLOB), CAST(? AS BLOB)) > 0`,
			store.StatusDead, reason, store.StatusDelivered, []byte(needle))
		if err != nil {
			return fmt.Errorf("sqlite: purge outbox: %w", err)
		}
		n = rowsAffected(res)
		return nil
	})
	return n, err
}
