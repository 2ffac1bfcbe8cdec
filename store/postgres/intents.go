package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwall/tokenwall/store"
)

// PutPendingIntent stores p, keeping the earlier since when p.ID is stored already. It is
// one upsert, so replicas putting one intent at once leave one row with the earliest since.
func (s *Store) PutPendingIntent(ctx context.Context, p store.PendingIntent) error {
	if err := p.Check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO pending_intents (id, kind, since) VALUES ($1, $2, $3)
		ON CONFLICT (id) DO UPDATE SET since = least(pending_intents.since, excluded.since)`,
		p.ID, p.Kind, p.Since.Truncate(time.Microsecond)); err != nil {
		return fmt.Errorf("postgres: put pending intent %q: %w", p.ID, err)
	}
	return nil
}

// DeletePendingIntent deletes the intent id, if stored.
func (s *Store) DeletePendingIntent(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: pending intent without an id", store.ErrInvalidArgument)
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM pending_intents WHERE id = $1`, id); err != nil {
		return fmt.Errorf("postgres: delete pending intent %q: %w", id, err)
	}
	return nil
}

// PendingIntentsBefore returns up to limit intents with since before before, oldest first.
func (s *Store) PendingIntentsBefore(ctx context.Context, before time.Time, limit int) ([]store.PendingIntent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: pending intents: limit %d is not positive", store.ErrInvalidArgument, limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, kind, since FROM pending_intents WHERE since < $1
		ORDER BY since, id LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending intents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.PendingIntent, error) {
		var p store.PendingIntent
		err := row.Scan(&p.ID, &p.Kind, &p.Since)
		p.Since = p.Since.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: pending intents: %w", err)
	}
	return out, nil
}
