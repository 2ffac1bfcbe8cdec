package sqlite

import (
	"context"
	"fmt"

	"github.com/tokenwall/tokenwall/store"
)

// OutboxStats counts pending and dead items through the outbox_due index (status first),
// each count stopping at store.MaxOutboxCount, and reads the oldest pending item's receipt
// time among the pending rows it counted.
func (s *Store) OutboxStats(ctx context.Context) (store.OutboxStats, error) {
	var st store.OutboxStats
	var oldest int64
	err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM (SELECT 1 FROM outbox WHERE status = ?1 LIMIT ?3)),
		(SELECT count(*) FROM (SELECT 1 FROM outbox WHERE status = ?2 LIMIT ?3)),
		(SELECT coalesce(min(created_us), 0) FROM (SELECT created_us FROM outbox WHERE status = ?1 LIMIT ?3))`,
		store.StatusPending, store.StatusDead, store.MaxOutboxCount).Scan(&st.Pending, &st.Dead, &oldest)
	if err != nil {
		return store.OutboxStats{}, fmt.Errorf("sqlite: outbox stats: %w", err)
	}
	if oldest > 0 {
		st.OldestPending = fromUS(oldest)
	}
	return st, nil
}
