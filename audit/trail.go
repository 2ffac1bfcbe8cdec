package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
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
	CheckpointEvery int64
	// MaxBatch bounds how many records one group commit writes (default 256).
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
}

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
	if o.Scrubber == nil {
		o.Scrubber = scrub.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := &Trail{o: o, reqs: make(chan *pending, 4096), cpKick: make(chan struct{}, 1), stop: make(chan struct{})}
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
	secret, err := t.o.Key()
	key, version := secret.Reveal(), secret.Version()
	if err == nil && (len(key) == 0 || version < 0) {
		err = fmt.Errorf("audit key: empty or without a valid version (%d)", version)
	}
	var lastSeq int64
	if err == nil {
		err = t.o.Store.AppendAudit(context.Background(), func(head store.Head) ([]store.AuditRecord, error) {
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

func (t *Trail) checkpointer() {
	defer t.wg.Done()
	for {
		select {
		case <-t.cpKick:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := t.Checkpoint(ctx); err != nil {
				t.o.Log.Warn().Err(err).Msg("audit checkpoint failed; the next one covers these records")
			}
			cancel()
		case <-t.stop:
			return
		}
	}
}

// Checkpoint has Vault sign the current head and stores the signature. A head that already
// has a checkpoint (another replica signed it) is left alone.
func (t *Trail) Checkpoint(ctx context.Context) error {
	head, err := t.o.Store.AuditHead(ctx)
	if err != nil || head.Seq == 0 {
		return err
	}
	if cps, err := t.o.Store.Checkpoints(ctx, head.Seq, head.Seq); err == nil && len(cps) > 0 {
		return nil
	}
	sig, err := t.o.Signer.Sign(ctx, checkpointMessage(head.Seq, head.Hash))
	if err != nil {
		return fmt.Errorf("audit: sign checkpoint %d: %w", head.Seq, err)
	}
	return t.o.Store.AddCheckpoint(ctx, store.Checkpoint{Seq: head.Seq, Hash: head.Hash, Time: t.o.Now().UTC(), KeyName: t.o.Signer.KeyName(), Signature: sig})
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
