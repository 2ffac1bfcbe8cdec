package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// Group commit of outbox inserts. SQLite with synchronous=FULL pays one fsync per commit and
// has one writer at a time, so one transaction per received webhook caps the receiver at the
// disk's fsync rate. Concurrent EnqueueOutbox calls are instead queued and written by one of
// them, the leader, in a single transaction: every caller still returns only after the commit
// that holds its row. A leader writes one batch, then hands the lead to the oldest waiting
// caller, so no caller waits for more than its own batch and the one before it.

// maxEnqueueBatch bounds the rows of one group commit.
const maxEnqueueBatch = 256

// enqueueTimeout bounds one group commit; it does not follow a caller's context, since the
// transaction carries other callers' rows.
const enqueueTimeout = 30 * time.Second

// enqueueReq is one queued EnqueueOutbox call.
type enqueueReq struct {
	ctx  context.Context
	item store.OutboxItem
	done chan enqueueResult // buffered: at most a lead signal, then the result
}

// enqueueResult answers an enqueueReq: the lead handed over, or the outcome of its row.
type enqueueResult struct {
	lead     bool
	inserted bool
	err      error
}

// enqueuer is the queue and the leader flag; the zero value is ready.
type enqueuer struct {
	mu      sync.Mutex
	queue   []*enqueueReq
	leading bool // a caller is writing; while false the queue is empty
}

// EnqueueOutbox inserts item as pending unless its ID exists (then it returns false). It
// returns after the transaction holding the row has committed (see the group commit above).
func (s *Store) EnqueueOutbox(ctx context.Context, it store.OutboxItem) (bool, error) {
	req := &enqueueReq{ctx: ctx, item: it, done: make(chan enqueueResult, 1)}
	q := &s.enqueue
	q.mu.Lock()
	q.queue = append(q.queue, req)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead {
		res := <-req.done
		if !res.lead {
			return res.inserted, res.err
		}
	}
	// Leading: req is first in the queue, so it is in the batch taken here.
	q.mu.Lock()
	n := min(len(q.queue), maxEnqueueBatch)
	batch := q.queue[:n:n]
	q.queue = q.queue[n:]
	q.mu.Unlock()

	s.writeBatch(batch)

	q.mu.Lock()
	if len(q.queue) > 0 {
		q.queue[0].done <- enqueueResult{lead: true}
	} else {
		q.leading, q.queue = false, nil
	}
	q.mu.Unlock()
	res := <-req.done
	return res.inserted, res.err
}

// writeBatch inserts the batch in one transaction and answers every request. When the
// transaction fails, each row is tried on its own so one bad row fails only its caller.
func (s *Store) writeBatch(batch []*enqueueReq) {
	ctx, cancel := context.WithTimeout(context.Background(), enqueueTimeout)
	defer cancel()
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- enqueueResult{err: fmt.Errorf("sqlite: enqueue %s: %w", r.item.ID, err)}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	inserted, err := s.insertAll(ctx, live)
	if err == nil {
		for i, r := range live {
			r.done <- enqueueResult{inserted: inserted[i]}
		}
		return
	}
	for _, r := range live {
		ok, err := s.insertAll(ctx, []*enqueueReq{r})
		if err != nil {
			r.done <- enqueueResult{err: err}
			continue
		}
		r.done <- enqueueResult{inserted: ok[0]}
	}
}

// insertAll inserts the rows of reqs in one transaction; inserted[i] is false when reqs[i]'s
// id existed already (or came earlier in reqs).
func (s *Store) insertAll(ctx context.Context, reqs []*enqueueReq) (inserted []bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO outbox (id, type, payload, digest, status, attempts, next_attempt_us, created_us)
		VALUES (?, ?, ?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: prepare: %w", err)
	}
	defer stmt.Close()
	inserted = make([]bool, len(reqs))
	for i, r := range reqs {
		it := r.item
		res, err := stmt.ExecContext(ctx, it.ID, it.Type, it.Payload, it.Digest, store.StatusPending, us(it.NextAttempt), us(it.CreatedAt))
		if err != nil {
			return nil, fmt.Errorf("sqlite: enqueue %s: %w", it.ID, err)
		}
		inserted[i] = rowsAffected(res) == 1
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: enqueue: commit: %w", err)
	}
	return inserted, nil
}

func rowsAffected(res sql.Result) int64 {
	n, _ := res.RowsAffected()
	return n
}
