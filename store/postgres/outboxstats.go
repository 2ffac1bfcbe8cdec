package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// OutboxStats counts pending and dead items through the status indexes, each count stopping
// at store.MaxOutboxCount, and reads the oldest pending item's receipt time from the partial
// index outbox_pending (created_at first).
func (s *Store) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM outbox WHERE status = $1 LIMIT $3) p),
		(SELECT count(*) FROM (SELECT 1 FROM outbox WHERE status = $2 LIMIT $3) d),
		(SELECT min(created_at) FROM outbox WHERE status = $1)`,
		store.StatusPending, store.StatusDead, store.MaxOutboxCount).Scan(&st.Pending, &st.Dead, &oldest)
	if err != nil {
		return store.OutboxStats{}, fmt.Errorf("postgres: outbox stats: %w", err)
	}
	if oldest != nil {
		st.OldestPending = oldest.UTC()
	}
	return st, nil
}
