// Package audit keeps tokenwall's tamper-evident audit trail: every security-relevant event
// with the fields PCI DSS 10.2.2 asks for, chained by SHA-256, each record MACed with a key
// from Vault, and checkpoints of the chain signed by Vault's transit engine. Verify proves
// nobody edited, deleted, reordered or inserted records, and names the first bad one.
package audit

import "time"

// Event types tokenwall records.
const (
	EventTokenize              = "tokenize"
	EventTokenizeFailed        = "tokenize_failed"
	EventCardEscapeBlocked     = "card_escape_blocked"
	EventCardEscapeAlerted     = "card_escape_alerted"
	EventWebhookReceived       = "webhook_received"
	EventWebhookRejected       = "webhook_rejected"
	EventWebhookDelivered      = "webhook_delivered"
	EventWebhookDead           = "webhook_dead"
	EventWebhookReplayed       = "webhook_replayed"
	EventAPIAuthFailed         = "api_auth_failed"
	EventAPIKeyCreated         = "api_key_created"
	EventAPIKeyRevoked         = "api_key_revoked"
	EventCapture               = "capture"
	EventCustomerCreated       = "customer_created"
	EventPaymentMethodAttached = "payment_method_attached"
	EventAPIRead               = "api_read"
	EventCharge                = "charge"
	EventRefund                = "refund"
	EventErasure               = "erasure"
	EventSecretLoaded          = "secret_loaded"
	EventSecretRefreshFailed   = "secret_refresh_failed"
	EventAdminAccess           = "admin_access"
	EventReportGenerated       = "report_generated"
	// EventAuditKeyRotated records a new version of the audit HMAC key (tokenwall audit
	// rotate-key); its details name the new and the previous version.
	EventAuditKeyRotated = "audit_key_rotated"
	// EventAuditRestored records that the database was restored from a backup (tokenwall
	// audit restore): the records after details' restored_to, up to previous_seq, are gone,
	// and the anchor moves back to this record, the one thing allowed to move it back.
	EventAuditRestored = "audit_restored"
	// The intents of gateway calls with side effects, written (durably) before the call: a
	// call whose intent cannot be written is not made, so the gateway never acts unaudited.
	// The outcome record (charge, capture, …) follows the call.
	EventChargeRequested         = "charge_requested"
	EventCaptureRequested        = "capture_requested"
	EventRefundRequested         = "refund_requested"
	EventCustomerCreateRequested = "customer_create_requested"
	EventAttachRequested         = "payment_method_attach_requested"
	EventErasureRequested        = "erasure_requested"
	// EventAuditGap records that an outcome record could not be written after the gateway
	// acted: what was missed, written as soon as the trail takes records again.
	EventAuditGap     = "audit_gap"
	EventConfigLoaded = "config_loaded"
	EventStartup      = "startup"
	EventShutdown     = "shutdown"

	// EventClientRateLimited is a request the per-client limiter (rate_limit) refused before
	// looking at it: its client's refusals had emptied its bucket.
	EventClientRateLimited = "client_rate_limited"

	// Payments that need the customer (3-D Secure). A charge record's DetailResult is the
	// payment's real outcome: ResultSucceeded (also processing, requires_capture),
	// ResultRequiresAction, ResultFailed or ResultCanceled.
	//
	// EventConfirmRequested / EventPaymentConfirmed: a payment confirmed again (after the
	// customer came back, or on-session after an off-session attempt needed them).
	EventConfirmRequested = "payment_confirm_requested"
	EventPaymentConfirmed = "payment_confirmed"
	// EventCancelRequested / EventPaymentCanceled: a payment canceled by the app, or by
	// tokenwall when the customer never came back (Actor system, Reason stale_requires_action).
	EventCancelRequested = "payment_cancel_requested"
	EventPaymentCanceled = "payment_canceled"
	// EventSetupRequested / EventSetup: a card saved for later charges (a SetupIntent),
	// with DetailResult; EventSetupCanceled when it was canceled.
	EventSetupRequested = "setup_requested"
	EventSetup          = "setup"
	EventSetupCanceled  = "setup_canceled"
	// EventPaymentState: a final state the gateway reported by webhook (payment_intent.* or
	// setup_intent.*): DetailResult and the intent as Resource (Actor "gateway").
	EventPaymentState = "payment_state"

	// Payment-page integrity (PCI DSS 6.4.3, 11.6.1). Each names the page in DetailPage and
	// a page's fingerprint in DetailFingerprint.
	//
	// EventPageBaseline: an operator recorded the page as served as its approved baseline
	// (tokenwall pages baseline; DetailReason).
	EventPageBaseline = "page_baseline"
	// EventPageApproved: an operator approved a changed page as its new baseline (tokenwall
	// pages approve; DetailReason, DetailPrevious is the baseline it replaces).
	EventPageApproved = "page_approved"
	// EventPageChecked: a check of the page (scheduled, or tokenwall pages check) fetched it
	// through the upstream and compared it with the baseline; Outcome success when it
	// matched, failure otherwise (Reason page_changed, no_baseline or fetch_failed).
	EventPageChecked = "page_checked"
	// EventPageChanged: the page as served differs from its approved baseline (or has
	// none); written once per new fingerprint. DetailChanges says what changed,
	// DetailOnChange what tokenwall does about it (alert or block).
	EventPageChanged = "page_changed"
	// EventPageReverted: the page is served as its approved baseline again, which resolves
	// an earlier page_changed.
	EventPageReverted = "page_reverted"
	// EventPageScriptBlocked: a browser reported a violation of the page's policy (a CSP
	// report): DetailBlocked (the blocked source: an origin, or inline, eval, …),
	// DetailDirective and DetailDisposition (enforce or report). Aggregated: repeats are one
	// record with DetailCount.
	EventPageScriptBlocked = "page_script_blocked"
)

// DetailResult is a payment's or setup's real outcome (charge, payment_confirmed, setup,
// payment_state records).
const DetailResult = "result"

// Results of a payment or setup (DetailResult).
const (
	ResultSucceeded      = "succeeded"
	ResultRequiresAction = "requires_action"
	ResultFailed         = "failed"
	ResultCanceled       = "canceled"
)

// Detail keys of the payment-page events.
const (
	DetailPage        = "page"
	DetailFingerprint = "fingerprint"
	DetailPrevious    = "previous"
	DetailReason      = "reason"
	DetailChanges     = "changes"
	DetailOnChange    = "on_change"
	DetailTrigger     = "trigger"
	DetailBlocked     = "blocked"
	DetailDirective   = "directive"
	DetailDisposition = "disposition"
)

// Reasons of the payment-page events.
const (
	ReasonPageChanged  = "page_changed"
	ReasonNoBaseline   = "no_baseline"
	ReasonFetchFailed  = "fetch_failed"
	ReasonCSPViolation = "csp_violation"
)

// Outcomes.
const (
	Success = "success"
	Failure = "failure"
)

// Actors that are not API keys.
const (
	ActorSystem = "system"
	ActorAdmin  = "admin"
	// ActorAnonymous is a caller that did not authenticate.
	ActorAnonymous = "anonymous"
)

// Event is one thing that happened: who (Actor: "key:ID" for an API key, "admin:cli:USER", "system", …), what
// (Type), when (Time, UTC; set at append when zero), the outcome and why (Reason, a code),
// where from (SourceIP, RequestID) and which resource (a token id, webhook event id, route).
// Details are further plain facts (brand, last4, status); never card data or secrets: the
// trail refuses a record the scrubber flags.
type Event struct {
	Type      string
	Actor     string
	Outcome   string
	Reason    string
	SourceIP  string
	RequestID string
	Resource  string
	Details   map[string]string
	Time      time.Time
}
