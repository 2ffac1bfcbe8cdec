package webhooks

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
)

// Defaults of ReceiverOptions.
const (
	DefaultReceiveTolerance = 300 * time.Second
	DefaultMaxBody          = 256 << 10
)

// ReceiverOptions configure a Receiver. Secrets, Store, Audit and Judge are required.
type ReceiverOptions struct {
	// Secrets returns the gateway's endpoint secrets (whsec_…, from the Vault cache). It is
	// called for every event, so a rolled secret is used at once; during a roll it returns
	// the old and the new one.
	Secrets func() ([][]byte, error)
	// Tolerance is how old a signature's timestamp may be (default 300 s).
	Tolerance time.Duration
	// MaxBody is the largest body accepted, in bytes (default 256 KiB).
	MaxBody int64
	// Store keeps accepted events in its outbox.
	Store store.Outbox
	// Audit records every acceptance and rejection.
	Audit Recorder
	// Scrubber scrubs payloads before they are stored (scrub.Default() when nil).
	Scrubber *scrub.Scrubber
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Notify, when set, is called after a new event is stored; wire it to Deliverer.Kick.
	Notify func()
	// SourceIP gives Handler the client address to audit (the host of RemoteAddr when nil).
	SourceIP func(r *http.Request) string
	// RequestID gives Handler the request id to audit (when nil: the X-Request-Id response
	// header a request-id middleware has set, else none). An incoming request header is not
	// trusted by default.
	RequestID func(w http.ResponseWriter, r *http.Request) string
	// Log receives Handler's failures on tokenwall's side (disabled when zero).
	Log zerolog.Logger
	// Judge gives a failure its status, message and audit reason (proxy.WebhookVerdict, the
	// one error table); required.
	Judge func(error) Verdict
	// Observe, when set, is told the outcome of every Receive, for metrics: OutcomeAccepted,
	// OutcomeDuplicate, OutcomeUnavailable or a rejection reason (ReasonBadSignature, …).
	Observe func(outcome string)
}

// Outcomes of Receive given to ReceiverOptions.Observe, besides the rejection reasons.
const (
	OutcomeAccepted    = "accepted"
	OutcomeDuplicate   = "duplicate"
	OutcomeUnavailable = "unavailable"
)

// Receiver verifies, scrubs and durably stores the gateway's webhook events.
type Receiver struct {
	o ReceiverOptions
}

// Result is what Receive did with an accepted event.
type Result struct {
	// EventID is the gateway's event id, the outbox key.
	EventID string
	// Type is the event type ("payment_intent.succeeded").
	Type string
	// APIVersion is the gateway API version the event was rendered with.
	APIVersion string
	// Duplicate is true when the event was stored already; it is not delivered again.
	Duplicate bool
}

// NewReceiver checks o, fills in defaults and returns a Receiver.
func NewReceiver(o ReceiverOptions) (*Receiver, error) {
	if o.Secrets == nil || o.Store == nil || o.Audit == nil || o.Judge == nil {
		return nil, errors.New("webhooks: receiver: Secrets, Store, Audit and Judge are required")
	}
	if o.Tolerance < 0 || o.MaxBody < 0 {
		return nil, fmt.Errorf("webhooks: receiver: tolerance %s and max body %d must not be negative", o.Tolerance, o.MaxBody)
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultReceiveTolerance
	}
	if o.MaxBody == 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.Scrubber == nil {
		o.Scrubber = scrub.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Receiver{o: o}, nil
}

// Receive verifies the Stripe-Signature header in header against the raw body, scrubs the
// event, stores it in the outbox under its event id and records webhook_received, and, for
// an event reporting a payment's or setup's state (payment_intent.succeeded, …), the first
// time it is stored, payment_state with the intent id and the state. It
// returns only once the store and the audit writes are durable. A duplicate event id is
// accepted with Result.Duplicate set and not stored again.
//
// A rejection returns one of ErrNoSignature, ErrBadSignatureHeader, ErrBadSignature,
// ErrTooOld, ErrTooLarge or ErrNotJSON, wrapped, after recording webhook_rejected with the
// kind as its reason (never the body). A failure of the secrets, the store or the audit
// trail wraps ErrUnavailable: the gateway should retry.
func (r *Receiver) Receive(ctx context.Context, header http.Header, body []byte, sourceIP, requestID string) (Result, error) {
	res, err := r.receive(ctx, header, body, sourceIP, requestID)
	if r.o.Observe != nil {
		r.o.Observe(r.outcomeOf(res, err))
	}
	return res, err
}

// outcomeOf names what Receive did, for ReceiverOptions.Observe.
func (r *Receiver) outcomeOf(res Result, err error) string {
	switch {
	case errors.Is(err, ErrUnavailable):
		return OutcomeUnavailable
	case err != nil:
		if reason := r.o.Judge(err).Reason; reason != "" {
			return reason
		}
		return OutcomeUnavailable
	case res.Duplicate:
		return OutcomeDuplicate
	}
	return OutcomeAccepted
}

func (r *Receiver) receive(ctx context.Context, header http.Header, body []byte, sourceIP, requestID string) (Result, error) {
	now := r.o.Now()
	ev, err := r.verify(header, body, now)
	if err != nil {
		return Result{}, r.reject(ctx, err, sourceIP, requestID)
	}
	res := Result{EventID: ev.ID, Type: ev.Type, APIVersion: ev.APIVersion}
	state, reportsState := stateRecord(ev)
	scrubbed, err := r.o.Scrubber.JSONBytes(body)
	if err != nil {
		// The scrubber's error names an offset, never content; the event is not kept.
		return Result{}, r.reject(ctx, fmt.Errorf("%w: scrub: %w", ErrNotJSON, err), sourceIP, requestID)
	}
	digest := sha256.Sum256(body)
	inserted, err := r.o.Store.EnqueueOutbox(ctx, store.OutboxItem{
		ID: res.EventID, Type: res.Type, Payload: scrubbed, Digest: digest[:],
		CreatedAt: now, NextAttempt: now,
	})
	if err != nil {
		return Result{}, fmt.Errorf("%w: store event %s: %w", ErrUnavailable, res.EventID, err)
	}
	res.Duplicate = !inserted
	if err := r.o.Audit.Record(ctx, audit.Event{
		Type: audit.EventWebhookReceived, Actor: ActorGateway, Outcome: audit.Success,
		SourceIP: sourceIP, RequestID: requestID, Resource: res.EventID, Time: now,
		Details: map[string]string{DetailType: res.Type, DetailAPIVersion: res.APIVersion, DetailDuplicate: strconv.FormatBool(res.Duplicate)},
	}); err != nil {
		// The event is stored; the gateway's retry is then a duplicate, audited as one.
		return Result{}, fmt.Errorf("%w: audit event %s: %w", ErrUnavailable, res.EventID, err)
	}
	if inserted && reportsState {
		// Once per event, with its acceptance: a duplicate writes no second record.
		state.SourceIP, state.RequestID, state.Time = sourceIP, requestID, now
		if err := r.o.Audit.Record(ctx, state); err != nil {
			return Result{}, fmt.Errorf("%w: audit state of event %s: %w", ErrUnavailable, res.EventID, err)
		}
	}
	if inserted && r.o.Notify != nil {
		r.o.Notify()
	}
	return res, nil
}

// verify checks size and signature and decodes the event.
func (r *Receiver) verify(header http.Header, body []byte, now time.Time) (event, error) {
	if int64(len(body)) > r.o.MaxBody {
		return event{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, r.o.MaxBody)
	}
	sig := header.Get(StripeSignatureHeader)
	if sig == "" {
		return event{}, ErrNoSignature
	}
	secrets, err := r.o.Secrets()
	if err != nil {
		return event{}, fmt.Errorf("%w: webhook secrets: %w", ErrUnavailable, err)
	}
	if len(secrets) == 0 {
		return event{}, fmt.Errorf("%w: no webhook secret configured", ErrUnavailable)
	}
	ev, err := verifyStripe(body, sig, secrets, r.o.Tolerance, now)
	if err != nil {
		return event{}, err
	}
	out := event{ID: ev.ID, Type: string(ev.Type), APIVersion: ev.APIVersion}
	if ev.Data != nil {
		out.ObjectID, _ = ev.Data.Object["id"].(string)
	}
	return out, nil
}

// event is what Receive keeps of a decoded gateway event: ObjectID is data.object.id as
// sent, unchecked (stateRecord checks it).
type event struct {
	ID, Type, APIVersion, ObjectID string
}

// reject records webhook_rejected for a rejection and returns err, joined with
// ErrUnavailable when the audit write fails. Errors that are not rejections (the secrets
// failed) are returned as they are.
func (r *Receiver) reject(ctx context.Context, err error, sourceIP, requestID string) error {
	reason := r.o.Judge(err).Reason
	if reason == "" || errors.Is(err, ErrUnavailable) {
		return err
	}
	if aerr := r.o.Audit.Record(ctx, audit.Event{
		Type: audit.EventWebhookRejected, Actor: ActorAnonymous, Outcome: audit.Failure, Reason: reason,
		SourceIP: sourceIP, RequestID: requestID, Time: r.o.Now(),
	}); aerr != nil {
		return errors.Join(err, fmt.Errorf("%w: audit rejection: %w", ErrUnavailable, aerr))
	}
	return err
}
