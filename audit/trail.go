package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// Errors of Record.
var (
	// ErrSensitive means an event field held something the scrubber flags; nothing was written.
	ErrSensitive = errors.New("audit: record refused: a field holds sensitive data")
	// ErrInvalid means an event lacks a required field.
	ErrInvalid = errors.New("audit: record refused: invalid event")
	// ErrClosed means the trail was closed.
	ErrClosed = errors.New("audit: trail closed")
	// ErrUnsigned means the records since the last signed (and anchored) checkpoint reached
	// the limit and a checkpoint cannot be made now (Vault unreachable): tokenwall stops
	// appending, and so stops acting, rather than grow a tail nothing vouches for.
	ErrUnsigned = errors.New("audit: too many records without a signed checkpoint")
)

// Signer signs checkpoints; vault.Transit is the real one (the key stays in Vault).
type Signer interface {
	KeyName() string
	Sign(ctx context.Context, data []byte) (string, error)
	Verify(ctx context.Context, data []byte, sig string) (bool, error)
}

// Options configure a Trail.
type Options struct {
	Store store.Audit
	// Key returns the HMAC key with its KV v2 version (from the Vault cache); it is read at
	// every batch so a rotated key is used at once, and each record names the version that
	// MACed it. A key without a version (0) writes records that name none, as before
	// schema 3; Verify checks those with the legacy key (see VaultKeys).
	Key func() (vault.Secret, error)
	// Signer signs checkpoints.
	Signer Signer
	// CheckpointEvery: each time the head crosses a multiple of it, the head is signed
	// (default 1000). With group commit a checkpoint lands on the head of the batch that
	// crossed, so checkpoints are at least this far apart, not exactly on the multiples.
	// No more than MaxUnsigned(CheckpointEvery) records ever follow the last signed
	// checkpoint: past that, appends wait for a checkpoint and fail with ErrUnsigned when
	// none can be made. Verify holds every trail to the same bound.
	CheckpointEvery int64
	// CheckpointInterval: a head that has moved is signed at least this often (default 60 s),
	// so a quiet trail's unsigned tail is bounded in time as well as in records.
	CheckpointInterval time.Duration
	// Anchor, when set, receives every checkpoint (Vault KV, check-and-set), so a truncated
	// database fails verification; appending stops with ErrBehindAnchor when the database
	// does not hold the anchored checkpoint.
	Anchor Anchor
	// MaxBatch bounds how many records one group commit writes (default 256, at most
	// CheckpointEvery).
	MaxBatch int
	// Scrubber checks every field before it is written (scrub.Default() when nil).
	Scrubber *scrub.Scrubber
	Log      zerolog.Logger
	Now      func() time.Time
}

type pending struct {
	rec  store.AuditRecord
	done chan error
}

// Trail appends events durably, batching concurrent appends into one transaction (group
// commit): Record returns only once its record is committed.
type Trail struct {
	o      Options
	reqs   chan *pending
	cpKick chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup

	closeOnce sync.Once
	mu        sync.RWMutex // guards closed against Record
	closed    bool

	// signed is the sequence of the newest checkpoint known signed (and anchored when an
	// anchor is set); ready is set once the writer checked the trail against its anchor.
	signed   atomic.Int64
	ready    bool
	anchorer *anchorer
	cpMu     sync.Mutex // one checkpoint at a time (writer and checkpointer)
}

// MaxUnsigned is how many records may follow the last signed checkpoint when checkpoints
// are due every `every` records: the writer never exceeds it and Verify enforces it.
func MaxUnsigned(every int64) int64 { return 2 * every }

// New starts a Trail's writer and checkpointer.
func New(o Options) (*Trail, error) {
	if o.Store == nil || o.Key == nil || o.Signer == nil {
		return nil, errors.New("audit: Store, Key and Signer are required")
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = 1000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	o.MaxBatch = int(min(int64(o.MaxBatch), o.CheckpointEvery))
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = time.Minute
	}
	if o.Scrubber == nil {
		o.Scrubber = scrub.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Trail{o: o, reqs: make(chan *pending, 4096), cpKick: make(chan struct{}, 1), stop: make(chan struct{})}
	if o.Anchor != nil {
		t.anchorer = &anchorer{a: o.Anchor}
	}
	t.wg.Add(2)
	go t.writer()
	go t.checkpointer()
	return t, nil
}

// prepare validates ev and turns it into a record without chain fields.
func (t *Trail) prepare(ev Event) (store.AuditRecord, error) {
	if ev.Type == "" || ev.Actor == "" || (ev.Outcome != Success && ev.Outcome != Failure) {
		return store.AuditRecord{}, fmt.Errorf("%w: type, actor and outcome (success or failure) are required", ErrInvalid)
	}
	details := ""
	if len(ev.Details) > 0 {
		b, err := json.Marshal(ev.Details)
		if err != nil {
			return store.AuditRecord{}, fmt.Errorf("%w: details: %w", ErrInvalid, err)
		}
		details = string(b)
	}
	r := store.AuditRecord{Time: ev.Time.UTC().Truncate(time.Microsecond), Actor: ev.Actor, Event: ev.Type, Outcome: ev.Outcome,
		Reason: ev.Reason, SourceIP: ev.SourceIP, RequestID: ev.RequestID, Resource: ev.Resource, Details: details}
	for name, v := range map[string]string{"actor": r.Actor, "event": r.Event, "reason": r.Reason, "source_ip": r.SourceIP,
		"request_id": r.RequestID, "resource": r.Resource, "details": r.Details} {
		if fs := t.o.Scrubber.Find([]byte(v)); len(fs) > 0 {
			return store.AuditRecord{}, fmt.Errorf("%w: %s holds %s", ErrSensitive, name, fs[0].Kind)
		}
	}
	return r, nil
}

// Record appends ev and returns once it is durable. An event whose fields hold sensitive data
// is refused with ErrSensitive and nothing is written.
func (t *Trail) Record(ctx context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = t.o.Now()
	}
	rec, err := t.prepare(ev)
	if err != nil {
		return err
	}
	p := &pending{rec: rec, done: make(chan error, 1)}
	t.mu.RLock()
	if t.closed {
		t.mu.RUnlock()
		return ErrClosed
	}
	select {
	case t.reqs <- p:
	case <-ctx.Done():
		t.mu.RUnlock()
		return fmt.Errorf("audit: %w", ctx.Err())
	}
	t.mu.RUnlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The record may still be committed; the caller just stops waiting.
		return fmt.Errorf("audit: %w", ctx.Err())
	}
}

// writer is the one goroutine that appends: it takes every request waiting (up to
// MaxBatch) and commits them in one transaction.
func (t *Trail) writer() {
	defer t.wg.Done()
	for {
		var first *pending
		select {
		case first = <-t.reqs:
		case <-t.stop:
			// Drain what was queued before Close.
			for {
				select {
				case p := <-t.reqs:
					t.flush([]*pending{p})
				default:
					return
				}
			}
		}
		batch := []*pending{first}
	more:
		for len(batch) < t.o.MaxBatch {
			select {
			case p := <-t.reqs:
				batch = append(batch, p)
			default:
				break more
			}
		}
		t.flush(batch)
	}
}

func (t *Trail) flush(batch []*pending) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := t.ensureReady(ctx)
	var lastSeq int64
	if err == nil {
		lastSeq, err = t.append(batch)
		if errors.Is(err, ErrUnsigned) {
			// The unsigned tail is full: sign the head now, then try once more.
			if cerr := t.Checkpoint(ctx); cerr != nil {
				err = fmt.Errorf("%w: %w", ErrUnsigned, cerr)
			} else {
				lastSeq, err = t.append(batch)
			}
		}
	}
	if err != nil {
		err = fmt.Errorf("audit: append: %w", err)
		t.o.Log.Error().Err(err).Int("records", len(batch)).Msg("audit append failed")
	}
	for _, p := range batch {
		p.done <- err
	}
	if err == nil && lastSeq/t.o.CheckpointEvery != (lastSeq-int64(len(batch)))/t.o.CheckpointEvery {
		select {
		case t.cpKick <- struct{}{}:
		default:
		}
	}
}

// ensureReady checks, before the writer's first batch, that the database holds what the
// anchor says and signs a head left unsigned (a crash); it is retried until it succeeds.
func (t *Trail) ensureReady(ctx context.Context) error {
	if t.ready {
		return nil
	}
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	t.ready = true
	return nil
}

// append commits batch in one transaction, chaining and MACing each record; it refuses with
// ErrUnsigned when the batch would take the unsigned tail past MaxUnsigned.
func (t *Trail) append(batch []*pending) (int64, error) {
	secret, err := t.o.Key()
	key, version := secret.Reveal(), secret.Version()
	if err == nil && (len(key) == 0 || version < 0) {
		err = fmt.Errorf("audit key: empty or without a valid version (%d)", version)
	}
	if err != nil {
		return 0, err
	}
	var lastSeq int64
	limit := MaxUnsigned(t.o.CheckpointEvery)
	err = t.o.Store.AppendAudit(context.Background(), func(head store.Head) ([]store.AuditRecord, error) {
		if head.Seq+int64(len(batch))-t.signed.Load() > limit {
			return nil, fmt.Errorf("%w: records %d..%d would follow checkpoint %d (at most %d may)",
				ErrUnsigned, t.signed.Load()+1, head.Seq+int64(len(batch)), t.signed.Load(), limit)
		}
		recs := make([]store.AuditRecord, len(batch))
		prev, seq := head.Hash, head.Seq
		for i, p := range batch {
			r := p.rec
			seq++
			r.Seq, r.PrevHash, r.KeyVersion = seq, prev, version
			r.Hash = recordHash(r)
			r.MAC = recordMAC(key, r.Hash)
			recs[i], prev = r, r.Hash
		}
		lastSeq = seq
		return recs, nil
	})
	return lastSeq, err
}

// checkpointer signs the head when a multiple of CheckpointEvery was crossed, and every
// CheckpointInterval when the head moved since the last checkpoint.
func (t *Trail) checkpointer() {
	defer t.wg.Done()
	tick := time.NewTicker(t.o.CheckpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.cpKick:
		case <-tick.C:
		case <-t.stop:
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := t.Checkpoint(ctx); err != nil {
			t.o.Log.Warn().Err(err).Msg("audit checkpoint failed; the next one covers these records")
		}
		cancel()
	}
}

// Checkpoint has Vault sign the current head, stores the signature and anchors it. A head
// that already has a checkpoint (another replica signed it, or nothing was appended since)
// is not signed again, only anchored when it is not yet. With an anchor, a database that
// does not hold the anchored checkpoint is ErrBehindAnchor.
func (t *Trail) Checkpoint(ctx context.Context) error {
	t.cpMu.Lock()
	defer t.cpMu.Unlock()
	head, err := t.o.Store.AuditHead(ctx)
	if err != nil {
		return err
	}
	if head.Seq == 0 {
		return t.checkEmpty(ctx)
	}
	if head.Seq == t.signed.Load() {
		return nil
	}
	cp, err := t.o.Store.Checkpoints(ctx, head.Seq, head.Seq)
	if err != nil {
		return err
	}
	var c store.Checkpoint
	if len(cp) > 0 {
		c = cp[0]
	} else {
		sig, err := t.o.Signer.Sign(ctx, checkpointMessage(head.Seq, head.Hash))
		if err != nil {
			return fmt.Errorf("audit: sign checkpoint %d: %w", head.Seq, err)
		}
		c = store.Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: t.o.Now().UTC(), KeyName: t.o.Signer.KeyName(), Signature: sig}
		if err := t.o.Store.AddCheckpoint(ctx, c); err != nil {
			return err
		}
	}
	if t.anchorer != nil {
		p := AnchorPoint{Kind: AnchorCheckpoint, Seq: c.Seq, Hash: c.Hash, KeyName: c.KeyName, Signature: c.Signature, Time: c.Time}
		if err := t.anchorer.advance(ctx, p, t.holds); err != nil {
			return fmt.Errorf("audit: anchor checkpoint %d: %w", c.Seq, err)
		}
	}
	t.signed.Store(head.Seq)
	return nil
}

// checkEmpty refuses an empty trail whose anchor names a checkpoint: the database lost it all.
func (t *Trail) checkEmpty(ctx context.Context) error {
	if t.anchorer == nil {
		return nil
	}
	return t.anchorer.advance(ctx, AnchorPoint{}, t.holds)
}

// holds reports whether the database has the record at seq with hash: the check that an
// anchor another process wrote describes this trail.
func (t *Trail) holds(ctx context.Context, seq int64, hash []byte) (bool, error) {
	return holdsCheckpoint(ctx, t.o.Store, seq, hash)
}

// holdsCheckpoint reports whether st has a checkpoint or a record at seq with hash.
func holdsCheckpoint(ctx context.Context, st store.Audit, seq int64, hash []byte) (bool, error) {
	cps, err := st.Checkpoints(ctx, seq, seq)
	if err != nil {
		return false, err
	}
	if len(cps) > 0 {
		return bytes.Equal(cps[0].Hash, hash), nil
	}
	found := false
	err = st.AuditRange(ctx, seq, seq, func(r store.AuditRecord) error {
		found = bytes.Equal(r.Hash, hash)
		return nil
	})
	return found, err
}

// Close stops accepting events, writes those queued, and signs a final checkpoint.
func (t *Trail) Close(ctx context.Context) error {
	var err error
	t.closeOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		close(t.stop)
		t.wg.Wait()
		err = t.Checkpoint(ctx)
	})
	return err
}
