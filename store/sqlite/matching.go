package sqlite

import (
	"context"
	"fmt"

	"github.com/tokenwall/tokenwall/store"
)

// CountOutboxMatching counts the undelivered items whose payload holds needle, byte for
// byte: the rows PurgeOutboxMatching would change, found the same way (instr() on BLOBs, one
// scan of the table).
func (s *Store) CountOutboxMatching(ctx context.Context, needle string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM outbox
		WHERE status <> ? AND instr(CAST(payload AS BLOB), CAST(? AS BLOB)) > 0`,
		store.StatusDelivered, []byte(needle)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count outbox: %w", err)
	}
	return n, nil
}

// CountIdempotencyMatching counts the records whose body holds needle, byte for byte: the
// rows DeleteIdempotencyMatching would delete, found the same way.
func (s *Store) CountIdempotencyMatching(ctx context.Context, needle string) (int64, error) {
	if err := checkNeedle(needle); err != nil {
		return 0, err
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM idempotency WHERE instr(CAST(body AS BLOB), CAST(? AS BLOB)) > 0`,
		[]byte(needle)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count idempotency: %w", err)
	}
	return n, nil
}
