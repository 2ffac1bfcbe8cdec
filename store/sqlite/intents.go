package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// PutPendingIntent stores p, keeping the earlier since when p.ID is stored already; the
// write goes through the group commit like the other small writes.
func (s *Store) PutPendingIntent(ctx context.Context, p store.PendingIntent) error {
	if err := p.Check(); err != nil {
		return err
	}
	return s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO pending_intents (id, kind, since_us) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET since_us = min(pending_intents.since_us, excluded.since_us)`,
			p.ID, p.Kind, us(p.Since)); err != nil {
			return fmt.Errorf("sqlite: put pending intent %q: %w", p.ID, err)
		}
		return nil
	})
}

// DeletePendingIntent deletes the intent id, if stored.
func (s *Store) DeletePendingIntent(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: pending intent without an id", store.ErrInvalidArgument)
	}
	return s.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pending_intents WHERE id = ?`, id); err != nil {
			return fmt.Errorf("sqlite: delete pending intent %q: %w", id, err)
		}
		return nil
	})
}

// PendingIntentsBefore returns up to limit intents with since before before, oldest first.
func (s *Store) PendingIntentsBefore(ctx context.Context, before time.Time, limit int) ([]store.PendingIntent, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("%w: pending intents: limit %d is not positive", store.ErrInvalidArgument, limit)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, kind, since_us FROM pending_intents WHERE since_us < ?
		ORDER BY since_us, id LIMIT ?`, us(before), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending intents: %w", err)
	}
	defer rows.Close()
	var out []store.PendingIntent
	for rows.Next() {
		var p store.PendingIntent
		var since int64
		if err := rows.Scan(&p.ID, &p.Kind, &since); err != nil {
			return nil, fmt.Errorf("sqlite: pending intents: %w", err)
		}
		p.Since = fromUS(since)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending intents: %w", err)
	}
	return out, nil
}
