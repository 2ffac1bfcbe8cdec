// Package store defines tokenwall's storage: the audit trail and its checkpoints, the
// webhook outbox (a work queue that several replicas share) with its dedup keys, API
// idempotency records, the per-customer keys that pseudonymise the audit trail, and the
// payments and setups left waiting for the customer. store/sqlite (embedded, the default)
// and store/postgres (several replicas) implement it; store/storetest is the conformance
// suite both pass.
//
// The store holds no card data by design: callers put only tokens, brand, last four, ids
// and digests in it, and the audit package refuses any record the scrubber flags.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors every backend returns, wrapped with detail.
var (
	// ErrNotFound means no row has that key.
	ErrNotFound = errors.New("store: not found")
	// ErrSchemaTooNew means the database was migrated by a newer tokenwall.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this tokenwall")
	// ErrNotOwner means an outbox item is leased by another worker (or its lease ran out).
	ErrNotOwner = errors.New("store: outbox item not leased by this worker")
	// ErrChainConflict means the audit chain head moved under an append (a bug or an edit).
	ErrChainConflict = errors.New("store: audit chain head changed during append")
	// ErrInvalidArgument means a caller passed a value the store refuses, such as an empty
	// needle, which would match every row.
	ErrInvalidArgument = errors.New("store: invalid argument")
)

// Store is the storage interface.
type Store interface {
	Audit
	Outbox
	Idempotency
	Subjects
	Pages
	Intents
	// SchemaVersion is the migration version the database is at.
	SchemaVersion(ctx context.Context) (int, error)
	// Close releases the database.
	Close() error
}

// AuditRecord is one stored audit event. The audit package gives the fields their meaning
// (PCI DSS 10.2.2) and computes Hash and MAC; the store keeps them in chain order.
type AuditRecord struct {
	Seq       int64
	Time      time.Time // UTC, microsecond precision
	Actor     string    // who: "key:ID" (an API key), "admin:cli:USER", "system", …
	Event     string    // what: "tokenize", "webhook_received", …
	Outcome   string    // "success" or "failure"
	Reason    string    // why it failed (a code), or ""
	SourceIP  string    // where from
	RequestID string
	Resource  string // which resource: a token id, webhook event id, route
	Details   string // a JSON object of further fields, or ""
	// KeyVersion is the KV v2 version of the audit HMAC key that made MAC; 0 for records
	// written before schema 3, which named no version.
	KeyVersion int
	PrevHash   []byte
	Hash       []byte
	MAC        []byte
}

// Head is the end of the audit chain: the last record's sequence number and hash; zero for
// an empty trail (or the checkpoint a pruned trail starts from).
type Head struct {
	Seq  int64
	Hash []byte
}

// Checkpoint is a signed statement of the chain head at Seq.
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	Time      time.Time
	KeyName   string // the transit key that signed
	Signature string // as Vault's transit engine returns it ("vault:v1:…")
}

// Audit stores the audit trail.
type Audit interface {
	// AppendAudit appends records in one durable transaction. build gets the current head
	// and returns the records to insert, with Seq (head.Seq+1, +2, …), PrevHash, Hash, MAC
	// and KeyVersion set. Appenders in one process and in several replicas on one database
	// are serialised, so the chain stays linear.
	AppendAudit(ctx context.Context, build func(head Head) ([]AuditRecord, error)) error
	// AuditHead returns the current head.
	AuditHead(ctx context.Context) (Head, error)
	// AuditRange calls fn for each record with from <= Seq <= to, in order; to 0 means to
	// the end.
	AuditRange(ctx context.Context, from, to int64, fn func(AuditRecord) error) error
	// AuditBounds returns the first and last sequence numbers kept (0, 0 when empty).
	AuditBounds(ctx context.Context) (first, last int64, err error)
	// AddCheckpoint stores a signed checkpoint; when one is stored at that Seq already (a
	// second replica signed the same head) it keeps the first and returns nil.
	AddCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints returns the checkpoints with from <= Seq <= to (to 0: to the end), in order.
	Checkpoints(ctx context.Context, from, to int64) ([]Checkpoint, error)
	// PruneAudit deletes records with Seq < before and checkpoints below the last one at or
	// before before-1, and returns how many records it deleted. Callers prune only up to a
	// checkpoint so the rest stays verifiable.
	PruneAudit(ctx context.Context, before int64) (int64, error)
}

// Outbox item statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusDead      = "dead"
)

// OutboxItem is one message to deliver (a webhook event). Payload is deleted once delivered;
// the rest stays for deduplication and the audit report.
type OutboxItem struct {
	ID          string // the dedup key (the gateway's event id)
	Type        string // the event type
	Payload     []byte // scrubbed; nil once delivered
	Digest      []byte // SHA-256 of the payload as received
	Status      string
	Attempts    int
	NextAttempt time.Time
	CreatedAt   time.Time
	DeliveredAt time.Time
	LastError   string
	LeaseOwner  string
	LeaseUntil  time.Time
}

// Outbox is a durable work queue with dedup keys. Claims are leases: an item claimed by a
// worker is invisible to others until its lease ends, so each is delivered by one replica
// at a time, and a crashed worker's items come back when their leases run out.
type Outbox interface {
	// EnqueueOutbox inserts item as pending; it returns false (and changes nothing) when an
	// item with that ID exists already.
	EnqueueOutbox(ctx context.Context, item OutboxItem) (bool, error)
	// ClaimOutbox leases up to n pending items due at now (NextAttempt <= now, no live
	// lease), oldest first, to owner until now+lease.
	ClaimOutbox(ctx context.Context, owner string, n int, lease time.Duration, now time.Time) ([]OutboxItem, error)
	// CompleteOutbox marks a leased item delivered and deletes its payload.
	CompleteOutbox(ctx context.Context, id, owner string, at time.Time) error
	// RetryOutbox ends the lease, counts the attempt and schedules the next one.
	RetryOutbox(ctx context.Context, id, owner string, next time.Time, lastError string) error
	// DeadOutbox ends the lease, counts the attempt and marks the item dead.
	DeadOutbox(ctx context.Context, id, owner string, lastError string) error
	// GetOutbox returns one item.
	GetOutbox(ctx context.Context, id string) (OutboxItem, error)
	// ListOutbox returns items with status (all when ""), newest first, at most limit.
	ListOutbox(ctx context.Context, status string, limit int) ([]OutboxItem, error)
	// ReplayOutbox makes a dead item pending again, due at now.
	ReplayOutbox(ctx context.Context, id string, now time.Time) error
	// PurgeOutboxMatching erases the payload of every item not yet delivered whose payload
	// contains needle (a customer id being erased): payload set to NULL, status dead,
	// last_error set to reason, lease cleared. It returns how many items it changed. Delivered
	// items hold no payload already.
	PurgeOutboxMatching(ctx context.Context, needle, reason string) (int64, error)
	// CountOutboxMatching counts the items PurgeOutboxMatching(needle) would change: not yet
	// delivered, payload containing needle. It changes nothing.
	CountOutboxMatching(ctx context.Context, needle string) (int64, error)
	// OutboxStats counts the pending and the dead items (each count stopping at
	// MaxOutboxCount) and finds when the oldest pending one was received, for the operators'
	// gauges. It reads the status index, never a delivered row.
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// MaxOutboxCount is where OutboxStats stops counting, so that its cost stays bounded
// however far deliveries fall behind.
const MaxOutboxCount = 1_000_000

// OutboxStats is a summary of the outbox for the metrics.
type OutboxStats struct {
	// Pending and Dead are the items with that status, at most MaxOutboxCount each.
	Pending, Dead int64
	// OldestPending is the CreatedAt of the oldest pending item; zero when none is pending.
	OldestPending time.Time
}

// IdempotencyRecord is a stored API response for an Idempotency-Key.
type IdempotencyRecord struct {
	Key         string // scoped by the caller, e.g. "api_key_id:key"
	RequestHash []byte // SHA-256 of method, path and body
	Status      int
	Body        []byte
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// Idempotency stores API responses by idempotency key.
type Idempotency interface {
	// PutIdempotency stores rec; it returns false when a live record with that key exists.
	PutIdempotency(ctx context.Context, rec IdempotencyRecord) (bool, error)
	// CompleteIdempotency replaces the live pending claim (Status 0) on rec.Key that holds
	// rec.RequestHash with rec; it returns false when there is no such claim.
	CompleteIdempotency(ctx context.Context, rec IdempotencyRecord) (bool, error)
	// ReleaseIdempotency deletes the pending claim (Status 0) on key that holds requestHash.
	ReleaseIdempotency(ctx context.Context, key string, requestHash []byte) error
	// GetIdempotency returns the live record for key at now, or ErrNotFound.
	GetIdempotency(ctx context.Context, key string, now time.Time) (IdempotencyRecord, error)
	// PruneIdempotency deletes records expired at now and returns how many.
	PruneIdempotency(ctx context.Context, now time.Time) (int64, error)
	// DeleteIdempotencyMatching deletes the records whose stored response body contains needle
	// and returns how many.
	DeleteIdempotencyMatching(ctx context.Context, needle string) (int64, error)
	// CountIdempotencyMatching counts the records DeleteIdempotencyMatching(needle) would
	// delete. It changes nothing.
	CountIdempotencyMatching(ctx context.Context, needle string) (int64, error)
}

// SubjectKeySize is the length in bytes of a subject key.
const SubjectKeySize = 32

// Subjects keeps one random key per data subject (a gateway customer id). The audit trail
// names a customer only by a pseudonym, HMAC-SHA256(subject key, customer id); erasing the
// customer destroys the key, after which no record can be linked back to them while the hash
// chain stays intact (crypto-shredding).
type Subjects interface {
	// SubjectKey returns subject's key, creating a random 32-byte key (crypto/rand) when none
	// exists. Concurrent first calls for one subject, also from two replicas on one database,
	// must return the same key.
	SubjectKey(ctx context.Context, subject string) ([]byte, error)
	// ForgetSubject deletes subject's key and reports whether there was one.
	ForgetSubject(ctx context.Context, subject string) (bool, error)
	// HasSubject reports whether subject has a key, without creating one.
	HasSubject(ctx context.Context, subject string) (bool, error)
}

// PageBaseline is a payment page's approved baseline: the fingerprint of the page as served
// when an operator recorded or approved it (PCI DSS 6.4.3, 11.6.1). The approvals' history
// is in the audit trail; the store keeps the current one.
type PageBaseline struct {
	Page        string // the page's path
	Fingerprint string // hex SHA-256 of Doc
	Doc         []byte // the fingerprint document (JSON, at most MaxPageDoc bytes)
	ApprovedBy  string // the operator ("admin:cli:USER")
	Reason      string
	At          time.Time
}

// PageState is what tokenwall last saw of a payment page, shared by the replicas.
type PageState struct {
	Page string
	// Fingerprint is the fingerprint last seen, Doc its document.
	Fingerprint string
	Doc         []byte
	// Changed is whether Fingerprint differs from the baseline and is not approved.
	Changed bool
	// Since is when Fingerprint was first seen; CheckedAt when the page was last checked
	// (a scheduled or an operator's check).
	Since     time.Time
	CheckedAt time.Time
}

// MaxPageDoc bounds a fingerprint document.
const MaxPageDoc = 256 << 10

// Pages keeps the payment pages' baselines and states, and the leases that let one replica
// run a scheduled job per period.
type Pages interface {
	// GetPageBaseline returns page's baseline, or ErrNotFound.
	GetPageBaseline(ctx context.Context, page string) (PageBaseline, error)
	// SetPageBaseline makes b its page's baseline (replacing any) and, in the same
	// transaction, sets the page's state to b's fingerprint, unchanged, since b.At.
	SetPageBaseline(ctx context.Context, b PageBaseline) error
	// GetPageState returns page's state, or ErrNotFound.
	GetPageState(ctx context.Context, page string) (PageState, error)
	// ObservePage records s as its page's state when its fingerprint or Changed differs from
	// the stored state (or there is none), atomically: of replicas observing the same new
	// fingerprint at once, exactly one gets true. It returns whether it wrote and the state
	// stored before (zero when none). s.CheckedAt, when not zero, is stored either way.
	ObservePage(ctx context.Context, s PageState) (bool, PageState, error)
	// ListPageStates returns every page's state, by page.
	ListPageStates(ctx context.Context) ([]PageState, error)
	// ClaimLease takes the lease name for holder until until, when it is free, expired at
	// now, or already holder's; it reports whether holder has it. Of replicas claiming at
	// once, one gets true.
	ClaimLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)
}

// Kinds of a PendingIntent.
const (
	IntentPayment = "payment"
	IntentSetup   = "setup"
)

// PendingIntent is a payment or a setup the gateway left waiting for the customer
// (requires_action, 3-D Secure), so that one the customer never comes back to is canceled.
type PendingIntent struct {
	// ID is the gateway's id (pi_… or seti_…).
	ID string
	// Kind is IntentPayment or IntentSetup.
	Kind string
	// Since is when tokenwall first saw it waiting (microsecond precision).
	Since time.Time
}

// Intents keeps the payments and setups waiting for the customer, shared by the replicas.
type Intents interface {
	// PutPendingIntent stores p; when p.ID is stored already it keeps the earlier Since.
	PutPendingIntent(ctx context.Context, p PendingIntent) error
	// DeletePendingIntent deletes the intent id; deleting one not stored is not an error.
	DeletePendingIntent(ctx context.Context, id string) error
	// PendingIntentsBefore returns up to limit intents with Since before before, oldest
	// first (then by id).
	PendingIntentsBefore(ctx context.Context, before time.Time, limit int) ([]PendingIntent, error)
}

// Check refuses a PendingIntent a backend must not store: no id, another kind, or no Since.
func (p PendingIntent) Check() error {
	switch {
	case p.ID == "":
		return fmt.Errorf("%w: pending intent without an id", ErrInvalidArgument)
	case p.Kind != IntentPayment && p.Kind != IntentSetup:
		return fmt.Errorf("%w: pending intent %q: kind %q is not %s or %s", ErrInvalidArgument, p.ID, p.Kind, IntentPayment, IntentSetup)
	case p.Since.IsZero():
		return fmt.Errorf("%w: pending intent %q: no since", ErrInvalidArgument, p.ID)
	}
	return nil
}
