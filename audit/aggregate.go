package audit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Recorder writes an event and returns once it is durable; *Trail is one, and so is an
// Aggregator.
type Recorder interface {
	Record(ctx context.Context, ev Event) error
}

// Detail keys of a record that stands for repeated refusals (Aggregator). Count is how many
// refusals the record stands for; First and Last are the times of the first and the last of
// them (RFC 3339, UTC). A record without Count stands for one.
const (
	DetailCount = "count"
	DetailFirst = "first"
	DetailLast  = "last"
)

// RefusalEvents are the event types an Aggregator aggregates by default: what tokenwall
// writes when it refuses a client it does not trust yet, as often as the client likes.
func RefusalEvents() []string {
	return []string{EventAPIAuthFailed, EventWebhookRejected, EventCardEscapeBlocked, EventClientRateLimited}
}

// Repeats is how many events a record with these details stands for: its DetailCount, or 1.
// The report counts refusals with it, so that its totals add up however they were written.
func Repeats(details map[string]string) int64 {
	if n, err := strconv.ParseInt(details[DetailCount], 10, 64); err == nil && n > 0 {
		return n
	}
	return 1
}

// Defaults of AggregatorOptions.
const (
	DefaultAggregateInterval = time.Minute
	DefaultAggregateKeys     = 4096
	// flushParallel is how many records a flush hands the trail at once: the trail commits
	// concurrent records in one transaction, so a full table is a few commits, not thousands.
	flushParallel = 64
)

// AggregatorOptions configure an Aggregator; Next is required.
type AggregatorOptions struct {
	// Next writes the records (the trail).
	Next Recorder
	// Events are the event types aggregated (RefusalEvents when empty); any other event
	// goes to Next as it is.
	Events []string
	// Interval is how often the repeats counted are written (DefaultAggregateInterval).
	Interval time.Duration
	// MaxKeys bounds the table of keys (DefaultAggregateKeys). When a new key finds it full,
	// every count in it is written and the table starts empty.
	MaxKeys int
	// Client names the client of a source address: the key groups refusals by it (the
	// address itself when nil). tokenwall passes proxy.ClientKey, the per-client limiter's
	// grouping (an IPv6 /64 is one client).
	Client func(sourceIP string) string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	Log zerolog.Logger
}

// Aggregator writes refusals so that a flood of them costs a bounded number of records, and
// loses none. An event of an aggregated type is keyed by (client, actor, type, outcome,
// reason, details): the fields tokenwall decides, never the path or ids a client sends. The
// first event of a key is written at once, as Record always did. Its repeats are counted;
// at the end of each interval, and at Close, each key with repeats is written as one record
// of the same type, with DetailCount, DetailFirst and DetailLast added to its details, and
// the resource, source address and request id the repeats share (emptied when they differ;
// the source becomes the client when its addresses differ). Counting the records with
// Repeats gives exactly the number of events. A key without repeats for a whole interval is
// forgotten: its next event is written at once again.
//
// Nothing a client sends decides whether its refusal is recorded, only how many records its
// repeats cost. A record the trail does not take is counted again and retried at the next
// flush; only what is still unwritten at Close is lost, and Close says how much.
type Aggregator struct {
	o      AggregatorOptions
	events map[string]bool

	mu     sync.Mutex
	table  map[aggKey]*aggEntry
	closed bool

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// aggKey is what makes two events repeats of each other.
type aggKey struct {
	client, actor, typ, outcome, reason, details string
}

// aggEntry counts the repeats of one key since its last record.
type aggEntry struct {
	ev          Event // the fields the repeats share
	client      string
	count       int64
	first, last time.Time
}

// aggItem is one key's repeats taken out of the table to be written.
type aggItem struct {
	key aggKey
	e   *aggEntry
}

// NewAggregator checks o, fills in defaults and starts the interval flush; Close stops it.
func NewAggregator(o AggregatorOptions) (*Aggregator, error) {
	if o.Next == nil {
		return nil, errors.New("audit: aggregator: Next is required")
	}
	if o.Interval < 0 || o.MaxKeys < 0 {
		return nil, fmt.Errorf("audit: aggregator: interval %s and max keys %d must not be negative", o.Interval, o.MaxKeys)
	}
	if len(o.Events) == 0 {
		o.Events = RefusalEvents()
	}
	if o.Interval == 0 {
		o.Interval = DefaultAggregateInterval
	}
	if o.MaxKeys == 0 {
		o.MaxKeys = DefaultAggregateKeys
	}
	if o.Client == nil {
		o.Client = func(ip string) string { return ip }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &Aggregator{o: o, events: map[string]bool{}, table: map[aggKey]*aggEntry{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, t := range o.Events {
		a.events[t] = true
	}
	go a.run()
	return a, nil
}

// Record writes ev: at once unless it repeats an aggregated event written before, in which
// case it is counted (O(1)) and written with its key's record at the end of the interval.
// The error is Next's, for an event written at once.
func (a *Aggregator) Record(ctx context.Context, ev Event) error {
	if !a.events[ev.Type] {
		return a.o.Next.Record(ctx, ev)
	}
	at := ev.Time
	if at.IsZero() {
		at = a.o.Now()
	}
	client := a.o.Client(ev.SourceIP)
	k := keyOf(ev, client)
	one := &aggEntry{ev: ev, client: client, count: 1, first: at, last: at}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return a.o.Next.Record(ctx, ev)
	}
	if e, ok := a.table[k]; ok {
		e.merge(one)
		a.mu.Unlock()
		return nil
	}
	var spilled []aggItem
	if len(a.table) >= a.o.MaxKeys {
		spilled = a.take(true)
	}
	a.table[k] = &aggEntry{client: client}
	a.mu.Unlock()
	if len(spilled) > 0 {
		if err := a.write(context.WithoutCancel(ctx), spilled); err != nil {
			a.o.Log.Error().Err(err).Msg("audit: writing the repeated refusals of a full table failed; they are retried")
		}
	}
	if err := a.o.Next.Record(ctx, ev); err != nil {
		// Owed: counted with the repeats, so the next flush writes it.
		a.requeue(aggItem{key: k, e: one})
		return err
	}
	return nil
}

// Flush writes a record for every key with repeats now, and forgets the keys without.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.mu.Lock()
	items := a.take(false)
	a.mu.Unlock()
	return a.write(ctx, items)
}

// Close stops the interval flush and writes every count still held; events recorded after
// it are written at once. Call it before the trail closes.
func (a *Aggregator) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		close(a.stop)
		<-a.done
	})
	a.mu.Lock()
	items := a.take(true)
	a.closed = true
	a.mu.Unlock()
	return a.write(ctx, items)
}

// Pending is how many repeats are counted and not yet written.
func (a *Aggregator) Pending() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var n int64
	for _, e := range a.table {
		n += e.count
	}
	return n
}

// run flushes at the end of each interval until Close.
func (a *Aggregator) run() {
	defer close(a.done)
	t := time.NewTicker(a.o.Interval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := a.Flush(ctx); err != nil {
				a.o.Log.Error().Err(err).Msg("audit: writing repeated refusals failed; they are retried at the next interval")
			}
			cancel()
		}
	}
}

// take removes from the table what is to be written: each key's repeats, the key kept
// (reset) when it had some and forgotten when it had none, or, with all, every key.
// a.mu is held.
func (a *Aggregator) take(all bool) []aggItem {
	var out []aggItem
	for k, e := range a.table {
		if e.count > 0 {
			snap := *e
			out = append(out, aggItem{key: k, e: &snap})
		}
		if all || e.count == 0 {
			delete(a.table, k)
			continue
		}
		*e = aggEntry{client: e.client}
	}
	return out
}

// requeue puts back the repeats of a record that was not written, for the next flush (the
// table may briefly hold more than MaxKeys: only what came out of it). It reports false once
// the aggregator is closed.
func (a *Aggregator) requeue(it aggItem) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return false
	}
	e, ok := a.table[it.key]
	if !ok {
		e = &aggEntry{client: it.e.client}
		a.table[it.key] = e
	}
	e.merge(it.e)
	return true
}

// write hands the records of items to Next, flushParallel at a time, and requeues those it
// does not take.
func (a *Aggregator) write(ctx context.Context, items []aggItem) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		lost  int64
		n     int
	)
	sem := make(chan struct{}, flushParallel)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := a.o.Next.Record(ctx, it.e.record())
			if err == nil {
				return
			}
			requeued := a.requeue(it)
			mu.Lock()
			defer mu.Unlock()
			n++
			if first == nil {
				first = err
			}
			if !requeued {
				lost += it.e.count
			}
		})
	}
	wg.Wait()
	if first == nil {
		return nil
	}
	if lost > 0 {
		return fmt.Errorf("audit: %d records of repeated refusals not written, %d refusals lost: %w", n, lost, first)
	}
	return fmt.Errorf("audit: %d records of repeated refusals not written (kept for the next flush): %w", n, first)
}

// merge adds o's repeats to e's.
func (e *aggEntry) merge(o *aggEntry) {
	if e.count == 0 {
		*e = *o
		e.ev.Details = maps.Clone(o.ev.Details)
		return
	}
	if e.ev.Resource != o.ev.Resource {
		e.ev.Resource = ""
	}
	if e.ev.SourceIP != o.ev.SourceIP {
		e.ev.SourceIP = e.client
	}
	if e.ev.RequestID != o.ev.RequestID {
		e.ev.RequestID = ""
	}
	if o.first.Before(e.first) {
		e.first = o.first
	}
	if o.last.After(e.last) {
		e.last = o.last
	}
	e.count += o.count
}

// record is the event that stands for e's repeats.
func (e *aggEntry) record() Event {
	ev := e.ev
	ev.Time = time.Time{} // the trail stamps the write
	ev.Details = maps.Clone(e.ev.Details)
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	ev.Details[DetailCount] = strconv.FormatInt(e.count, 10)
	ev.Details[DetailFirst] = e.first.UTC().Format(time.RFC3339Nano)
	ev.Details[DetailLast] = e.last.UTC().Format(time.RFC3339Nano)
	return ev
}

// keyOf is ev's key: its details in a canonical order, so that equal maps make equal keys.
func keyOf(ev Event, client string) aggKey {
	k := aggKey{client: client, actor: ev.Actor, typ: ev.Type, outcome: ev.Outcome, reason: ev.Reason}
	if len(ev.Details) > 0 {
		var b strings.Builder
		for _, name := range slices.Sorted(maps.Keys(ev.Details)) {
			b.WriteString(name)
			b.WriteByte(0)
			b.WriteString(ev.Details[name])
			b.WriteByte(0)
		}
		k.details = b.String()
	}
	return k
}
