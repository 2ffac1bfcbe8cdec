package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store"
)

const outboxColumns = `id, type, payload, digest, status, attempts, next_attempt, created_at, delivered_at,
	last_error, lease_owner, lease_until`

func scanItem(row pgx.CollectableRow) (store.OutboxItem, error) {
	var it store.OutboxItem
	var delivered, leaseUntil *time.Time
	err := row.Scan(&it.ID, &it.Type, &it.Payload, &it.Digest, &it.Status, &it.Attempts, &it.NextAttempt,
		&it.CreatedAt, &delivered, &it.LastError, &it.LeaseOwner, &leaseUntil)
	it.NextAttempt, it.CreatedAt = it.NextAttempt.UTC(), it.CreatedAt.UTC()
	it.DeliveredAt, it.LeaseUntil = fromNull(delivered), fromNull(leaseUntil)
	return it, err
}

// collectItems reads every row of an outbox query.
func collectItems(rows pgx.Rows, what string) ([]store.OutboxItem, error) {
	items, err := pgx.CollectRows(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return items, nil
}

// prefixed qualifies each column in a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// limitOrAll is a LIMIT argument: NULL (no limit) for a negative n, as SQLite reads LIMIT -1.
func limitOrAll(n int) *int64 {
	if n < 0 {
		return nil
	}
	v := int64(n)
	return &v
}

// EnqueueOutbox inserts item as pending unless its ID exists (then it returns false).
func (s *Store) EnqueueOutbox(ctx context.Context, it store.OutboxItem) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO outbox (id, type, payload, digest, status, attempts, next_attempt, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7) ON CONFLICT (id) DO NOTHING`,
		it.ID, it.Type, it.Payload, it.Digest, store.StatusPending, it.NextAttempt, it.CreatedAt)
	if err != nil {
		return false, fmt.Errorf("postgres: enqueue %s: %w", it.ID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ClaimOutbox leases up to n due items to owner. The rows are locked FOR UPDATE SKIP
// LOCKED, so a replica claiming at the same moment passes over them instead of waiting, and
// finds them leased once this claim commits.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, n int, lease time.Duration, now time.Time) ([]store.OutboxItem, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT id FROM outbox
			WHERE status = $1 AND next_attempt <= $2 AND (lease_until IS NULL OR lease_until <= $2)
			ORDER BY created_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE outbox o SET lease_owner = $4, lease_until = $5
		FROM due WHERE o.id = due.id
		RETURNING `+prefixed("o.", outboxColumns),
		store.StatusPending, now, limitOrAll(n), owner, now.Add(lease))
	if err != nil {
		return nil, fmt.Errorf("postgres: claim outbox: %w", err)
	}
	items, err := collectItems(rows, "claim outbox")
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order guarantee; callers get the oldest first.
	sort.Slice(items, func(i, j int) bool {
		if !items[i].CreatedAt.Equal(items[j].CreatedAt) {
			return items[i].CreatedAt.Before(items[j].CreatedAt)
		}
		return items[i].ID < items[j].ID
	})
	return items, nil
}

// finish runs an update of a leased item whose $1 is the id and $2 the lease owner, and
// reports store.ErrNotOwner when no pending item with that id is leased to owner.
func (s *Store) finish(ctx context.Context, id, owner, sql string, args ...any) error {
	if owner == "" {
		return fmt.Errorf("%w: %s: no owner given", store.ErrNotOwner, id)
	}
	tag, err := s.pool.Exec(ctx, sql, append([]any{id, owner}, args...)...)
	if err != nil {
		return fmt.Errorf("postgres: outbox %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: %s by %s", store.ErrNotOwner, id, owner)
	}
	return nil
}

// leased is the WHERE clause of finish's updates.
const leased = ` WHERE id = $1 AND lease_owner = $2 AND status = 'pending'`

// CompleteOutbox marks a leased item delivered and deletes its payload.
func (s *Store) CompleteOutbox(ctx context.Context, id, owner string, at time.Time) error {
	return s.finish(ctx, id, owner, `UPDATE outbox SET status = $3, payload = NULL, delivered_at = $4,
		attempts = attempts + 1, lease_owner = '', lease_until = NULL`+leased, store.StatusDelivered, nullTime(at))
}

// RetryOutbox ends the lease, counts the attempt and schedules the next one.
func (s *Store) RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string) error {
	return s.finish(ctx, id, owner, `UPDATE outbox SET status = $3, next_attempt = $4, last_error = $5,
		attempts = attempts + 1, lease_owner = '', lease_until = NULL`+leased, store.StatusPending, next, lastError)
}

// DeadOutbox ends the lease, counts the attempt and marks the item dead.
func (s *Store) DeadOutbox(ctx context.Context, id, owner string, lastError string) error {
	return s.finish(ctx, id, owner, `UPDATE outbox SET status = $3, last_error = $4,
		attempts = attempts + 1, lease_owner = '', lease_until = NULL`+leased, store.StatusDead, lastError)
}

// GetOutbox returns one item.
func (s *Store) GetOutbox(ctx context.Context, id string) (store.OutboxItem, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id)
	if err != nil {
		return store.OutboxItem{}, fmt.Errorf("postgres: outbox %s: %w", id, err)
	}
	it, err := pgx.CollectExactlyOneRow(rows, scanItem)
	if err != nil {
		return store.OutboxItem{}, notFound(err, "outbox "+id)
	}
	return it, nil
}

// ListOutbox returns items with status (all when ""), newest first, at most limit (a
// negative limit: all).
func (s *Store) ListOutbox(ctx context.Context, status string, limit int) ([]store.OutboxItem, error) {
	var rows pgx.Rows
	var err error
	if status == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox
			ORDER BY created_at DESC, id DESC LIMIT $1`, limitOrAll(limit))
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE status = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, status, limitOrAll(limit))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list outbox: %w", err)
	}
	return collectItems(rows, "list outbox")
}

// ReplayOutbox makes a dead item pending again, due at now.
func (s *Store) ReplayOutbox(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET status = $2, next_attempt = $3, lease_owner = '', lease_until = NULL
		WHERE id = $1 AND status = $4`, id, store.StatusPending, now, store.StatusDead)
	if err != nil {
		return fmt.Errorf("postgres: replay %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: dead outbox item %s", store.ErrNotFound, id)
	}
	return nil
}

// PurgeOutboxMatching erases the payload of every undelivered item whose payload holds
// needle, byte for byte: position() on bytea, so LIKE's wildcards mean nothing here.
func (s *Store) PurgeOutboxMatching(ctx context.Context, needle, reason string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET payload = NULL, status = $1, last_error = $2, lease_owner = '', lease_until = NULL
		WHERE status <> $3 AND position($4::bytea IN payload) > 0`,
		store.StatusDead, reason, store.StatusDelivered, []byte(needle))
	if err != nil {
		return 0, fmt.Errorf("postgres: purge outbox: %w", err)
	}
	return tag.RowsAffected(), nil
}
