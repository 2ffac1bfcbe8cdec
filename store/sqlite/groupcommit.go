package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// Group commit. SQLite with synchronous=FULL pays one fsync per commit and has one writer at
// a time, so one transaction per received webhook, or per delivered one, caps the outbox at
// the disk's fsync rate. Concurrent outbox writes are instead queued and run by one of their
// callers, the leader, in a single transaction: every caller still returns only after the
// commit that holds its change. A leader writes one batch, then hands the lead to the oldest
// waiting caller, so no caller waits for more than its own batch and the one before it.

// maxGroup bounds the writes of one group commit.
const maxGroup = 256

// groupTimeout bounds one group commit; it does not follow a caller's context, since the
// transaction carries other callers' writes.
const groupTimeout = 30 * time.Second

// groupOp is one queued write. fn runs inside the shared transaction; it may run twice (a
// second time alone, when the batch failed), so it must set its results afresh each time.
type groupOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan groupResult // buffered: at most a lead signal, then the result
}

// groupResult answers a groupOp: the lead handed over, or the outcome of its write.
type groupResult struct {
	lead bool
	err  error
}

// grouper is the queue and the leader flag; the zero value is ready.
type grouper struct {
	mu      sync.Mutex
	queue   []*groupOp
	leading bool // a caller is writing; while false the queue is empty
}

// group runs fn in a transaction shared with concurrent callers and returns once that
// transaction has committed (or fn's error).
func (s *Store) group(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	op := &groupOp{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	q := &s.grouper
	q.mu.Lock()
	q.queue = append(q.queue, op)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead {
		res := <-op.done
		if !res.lead {
			return res.err
		}
	}
	// Leading: op is first in the queue, so it is in the batch taken here.
	q.mu.Lock()
	n := min(len(q.queue), maxGroup)
	batch := q.queue[:n:n]
	q.queue = q.queue[n:]
	q.mu.Unlock()

	s.runBatch(batch)

	q.mu.Lock()
	if len(q.queue) > 0 {
		q.queue[0].done <- groupResult{lead: true}
	} else {
		q.leading, q.queue = false, nil
	}
	q.mu.Unlock()
	return (<-op.done).err
}

// runBatch runs the batch in one transaction and answers every op. When the transaction
// fails, each op is run in its own so one bad write fails only its caller.
func (s *Store) runBatch(batch []*groupOp) {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.done <- groupResult{err: fmt.Errorf("sqlite: %w", err)}
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	if err := s.inTx(ctx, live); err == nil {
		for _, op := range live {
			op.done <- groupResult{}
		}
		return
	}
	for _, op := range live {
		op.done <- groupResult{err: s.inTx(ctx, []*groupOp{op})}
	}
}

// inTx runs ops in one transaction and commits it.
func (s *Store) inTx(ctx context.Context, ops []*groupOp) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	for _, op := range ops {
		if err := op.fn(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

func rowsAffected(res sql.Result) int64 {
	n, _ := res.RowsAffected()
	return n
}
