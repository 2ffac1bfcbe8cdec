package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/signature"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
)

// Headers of a delivery to the app, besides SignatureHeader. The app deduplicates by
// EventIDHeader: a delivery can repeat (a lease ran out mid-request, a replay).
const (
	EventIDHeader   = "Tokenwall-Event-Id"
	EventTypeHeader = "Tokenwall-Event-Type"
)

// Defaults of DelivererOptions.
const (
	DefaultLease       = 30 * time.Second
	DefaultBatch       = 16
	DefaultMaxAge      = 72 * time.Hour
	DefaultBackoffBase = time.Second
	DefaultBackoffCap  = time.Hour
	DefaultPoll        = 500 * time.Millisecond
	DefaultTimeout     = 10 * time.Second
)

// ReasonMaxAge is webhook_dead's reason: the event failed past MaxAge.
const ReasonMaxAge = "max_age_exceeded"

// Log field names of the Deliverer.
const (
	fieldEventID  = "event_id"
	fieldAttempts = "attempts"
	fieldStatus   = "status"
)

// bookkeepingTimeout bounds the store and audit writes after a delivery. They run even when
// Run's context ends mid-delivery, so a delivered item is marked delivered.
const bookkeepingTimeout = 15 * time.Second

// DelivererOptions configure a Deliverer. URL, SigningKey, Store, Audit and Owner are required.
type DelivererOptions struct {
	// URL is the app's webhook endpoint (http or https).
	URL string
	// Client sends the deliveries (a default client when nil). It is copied with redirects
	// disabled: a 3xx is a failed delivery, not a reason to POST elsewhere.
	Client *http.Client
	// SignV1 adds the v1 signature beside v2 (upstream.signature_v1, the transition).
	SignV1 bool
	// SigningKey returns the key deliveries are signed with (Sign, SignatureHeader); read at
	// every round, so a rotated key is used at once.
	SigningKey func() ([]byte, error)
	// Store is the outbox the Receiver fills.
	Store store.Outbox
	// Audit records webhook_delivered and webhook_dead.
	Audit Recorder
	// Owner names this replica in the outbox leases.
	Owner string
	// Lease is how long a claimed item stays this replica's (default 30 s).
	Lease time.Duration
	// Batch is how many items one round claims and delivers in parallel (default 16).
	Batch int
	// MaxAge is how long after receipt an item is retried; a failure past it is final
	// (default 72 h). A replayed item past MaxAge gets one attempt per replay.
	MaxAge time.Duration
	// BackoffBase and BackoffCap bound the full-jitter retry delay (defaults 1 s and 1 h).
	BackoffBase, BackoffCap time.Duration
	// Poll is how often Run looks for due items when not kicked (default 500 ms).
	Poll time.Duration
	// Timeout bounds one delivery request (default 10 s); it must be shorter than Lease so
	// an item is finished before another replica may claim it.
	Timeout time.Duration
	// Now is the clock of leases, signatures, backoff and MaxAge (time.Now when nil).
	Now func() time.Time
	// Rand draws the jitter (math/rand/v2's global generator when nil).
	Rand rand.Source
	// Log receives one line per failed round or delivery (disabled when zero). It never
	// receives a payload.
	Log zerolog.Logger
	// Observe, when set, is told the outcome of every delivery attempt (OutcomeDelivered,
	// OutcomeRetry or OutcomeDead) and how long the request took, for metrics.
	Observe func(outcome string, took time.Duration)
}

// Outcomes of a delivery attempt given to DelivererOptions.Observe.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
)

// Deliverer sends stored events, signed, to the app, with retries, and purges each payload
// once it is delivered.
type Deliverer struct {
	o       DelivererOptions
	client  *http.Client
	backoff *backoff
	kick    chan struct{}
}

// NewDeliverer checks o, fills in defaults and returns a Deliverer.
func NewDeliverer(o DelivererOptions) (*Deliverer, error) {
	if o.SigningKey == nil || o.Store == nil || o.Audit == nil || o.Owner == "" {
		return nil, errors.New("webhooks: deliverer: SigningKey, Store, Audit and Owner are required")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL is not printed: it may carry credentials.
		return nil, errors.New("webhooks: deliverer: url must be an absolute http or https URL")
	}
	setDefault(&o.Lease, DefaultLease)
	setDefault(&o.Batch, DefaultBatch)
	setDefault(&o.MaxAge, DefaultMaxAge)
	setDefault(&o.BackoffBase, DefaultBackoffBase)
	setDefault(&o.BackoffCap, DefaultBackoffCap)
	setDefault(&o.Poll, DefaultPoll)
	setDefault(&o.Timeout, DefaultTimeout)
	if o.Lease < 0 || o.Batch < 0 || o.MaxAge < 0 || o.BackoffBase < 0 || o.BackoffCap < o.BackoffBase || o.Poll < 0 || o.Timeout < 0 {
		return nil, errors.New("webhooks: deliverer: durations and batch must be positive, backoff cap at least its base")
	}
	if o.Timeout >= o.Lease {
		return nil, fmt.Errorf("webhooks: deliverer: timeout %s must be shorter than lease %s", o.Timeout, o.Lease)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	client := &http.Client{}
	if o.Client != nil {
		c := *o.Client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Deliverer{o: o, client: client, backoff: newBackoff(o.BackoffBase, o.BackoffCap, o.Rand), kick: make(chan struct{}, 1)}, nil
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// Kick wakes Run to look for due items now instead of at the next poll. It never blocks.
func (d *Deliverer) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: a round whenever kicked, every Poll otherwise, and at once
// again after a full batch. Deliveries in flight when ctx ends finish their bookkeeping.
func (d *Deliverer) Run(ctx context.Context) {
	timer := time.NewTimer(d.o.Poll)
	defer timer.Stop()
	for {
		n, err := d.DeliverOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.o.Log.Warn().Err(err).Msg("webhook delivery round failed")
		} else if n == d.o.Batch {
			continue // more may be due
		}
		timer.Reset(d.o.Poll)
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		case <-timer.C:
		}
	}
}

// DeliverOnce claims up to Batch due items and delivers them in parallel, returning how many
// it claimed. A failed delivery is not an error (it is scheduled again or marked dead); an
// error means the key, the claim or the bookkeeping of some item failed.
func (d *Deliverer) DeliverOnce(ctx context.Context) (int, error) {
	key, err := d.o.SigningKey()
	if err != nil {
		return 0, fmt.Errorf("webhooks: signing key: %w", err)
	}
	if len(key) == 0 {
		return 0, errors.New("webhooks: signing key is empty")
	}
	items, err := d.o.Store.ClaimOutbox(ctx, d.o.Owner, d.o.Batch, d.o.Lease, d.o.Now())
	if err != nil {
		return 0, fmt.Errorf("webhooks: claim: %w", err)
	}
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Go(func() { errs[i] = d.deliver(ctx, it, key) })
	}
	wg.Wait()
	return len(items), errors.Join(errs...)
}

// deliver makes one attempt at it and records the outcome.
func (d *Deliverer) deliver(ctx context.Context, it store.OutboxItem, key []byte) error {
	started := time.Now()
	status, err := d.post(ctx, it, key)
	took := time.Since(started)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	now := d.o.Now()
	if err != nil && ctx.Err() != nil {
		// Shutting down: the attempt is not the app's fault. The lease is given back, due
		// now, so another replica need not wait for it to run out; the app may have
		// processed the event, and deduplicates the repeat.
		if err := d.o.Store.RetryOutbox(bctx, it.ID, d.o.Owner, now, "interrupted: tokenwall shutting down"); err != nil {
			return fmt.Errorf("webhooks: release %s: %w", it.ID, err)
		}
		return nil
	}
	attempts := it.Attempts + 1
	details := map[string]string{DetailType: it.Type, DetailAttempts: strconv.Itoa(attempts), DetailStatus: statusDetail(status),
		DetailOwner: d.o.Owner}
	if err == nil {
		if err := d.o.Store.CompleteOutbox(bctx, it.ID, d.o.Owner, now); err != nil {
			return fmt.Errorf("webhooks: complete %s: %w", it.ID, err)
		}
		d.observe(OutcomeDelivered, took)
		return d.record(bctx, audit.Event{Type: audit.EventWebhookDelivered, Actor: audit.ActorSystem, Outcome: audit.Success,
			Resource: it.ID, Details: details, Time: now})
	}
	lastError := err.Error()
	if now.After(it.CreatedAt.Add(d.o.MaxAge)) {
		if err := d.o.Store.DeadOutbox(bctx, it.ID, d.o.Owner, lastError); err != nil {
			return fmt.Errorf("webhooks: dead %s: %w", it.ID, err)
		}
		d.observe(OutcomeDead, took)
		d.o.Log.Warn().Str(fieldEventID, it.ID).Int(fieldAttempts, attempts).Str(fieldStatus, details[DetailStatus]).Msg("webhook dead: max age passed")
		return d.record(bctx, audit.Event{Type: audit.EventWebhookDead, Actor: audit.ActorSystem, Outcome: audit.Failure,
			Reason: ReasonMaxAge, Resource: it.ID, Details: details, Time: now})
	}
	if err := d.o.Store.RetryOutbox(bctx, it.ID, d.o.Owner, now.Add(d.backoff.delay(attempts)), lastError); err != nil {
		return fmt.Errorf("webhooks: retry %s: %w", it.ID, err)
	}
	d.observe(OutcomeRetry, took)
	d.o.Log.Info().Str(fieldEventID, it.ID).Int(fieldAttempts, attempts).Str(fieldStatus, details[DetailStatus]).Msg("webhook delivery failed; retry scheduled")
	return nil
}

func (d *Deliverer) observe(outcome string, took time.Duration) {
	if d.o.Observe != nil {
		d.o.Observe(outcome, took)
	}
}

func (d *Deliverer) record(ctx context.Context, ev audit.Event) error {
	if err := d.o.Audit.Record(ctx, ev); err != nil {
		return fmt.Errorf("webhooks: audit %s %s: %w", ev.Type, ev.Resource, err)
	}
	return nil
}

// post sends it to the app once. It returns the response status (0 when there was none)
// and an error, fit for the outbox's last_error, unless the status is 2xx.
func (d *Deliverer) post(ctx context.Context, it store.OutboxItem, key []byte) (int, error) {
	if it.Payload == nil {
		return 0, errors.New("payload missing")
	}
	ctx, cancel := context.WithTimeout(ctx, d.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.o.URL, bytes.NewReader(it.Payload))
	if err != nil {
		return 0, errors.New("building the request failed")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokenwall-webhooks")
	req.Header.Set(signature.Header, signature.SignV2(d.o.Now(), signature.NewNonce(), signature.Of(req, signature.PurposeWebhook), it.Payload, d.o.SignV1, key))
	req.Header.Set(EventIDHeader, it.ID)
	req.Header.Set(EventTypeHeader, it.Type)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, transportError(err)
	}
	// Drained (a little) so the connection is reused; the app's answer is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("app answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// transportError describes a failed request without the URL (which may carry credentials),
// scrubbed as a backstop.
func transportError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("transport: timeout")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("transport: %s", scrub.Default().Text([]byte(err.Error())))
}

func statusDetail(status int) string {
	if status == 0 {
		return "none"
	}
	return strconv.Itoa(status)
}
