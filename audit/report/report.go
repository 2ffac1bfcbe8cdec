// Package report builds tokenwall's compliance report (PCI DSS evidence) from the audit trail
// and from checks run at report time, renders it (self-contained HTML, JSON, PDF) and signs
// it with Vault's transit engine so it cannot be edited afterwards.
package report

import (
	"strconv"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit"
)

// FormatVersion is the version of the report's JSON form.
const FormatVersion = 1

// Statuses of a requirement, decided by its evidence.
const (
	Pass = "PASS"
	Fail = "FAIL"
	NA   = "N/A"
)

// Report is everything a report says. The HTML and PDF forms render it; the JSON form is it.
type Report struct {
	FormatVersion int       `json:"format_version"`
	ID            string    `json:"id"`
	GeneratedAt   time.Time `json:"generated_at"`
	// From and To bound the period (From inclusive, To exclusive), UTC.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Host names the tokenwall installation (host name) that produced the report.
	Host         string        `json:"host"`
	Summary      Summary       `json:"summary"`
	Daily        []Day         `json:"daily"`
	Requirements []Requirement `json:"requirements"`
	Evidence     Evidence      `json:"evidence"`
	Flow         Flow          `json:"flow"`
}

// Summary counts what happened in the period, from the audit trail.
type Summary struct {
	// Records is how many audit records lie in the period.
	Records int64 `json:"records"`

	TokenizationsSucceeded int64            `json:"tokenizations_succeeded"`
	TokenizationsFailed    int64            `json:"tokenizations_failed"`
	TokenizeFailuresByCode map[string]int64 `json:"tokenize_failures_by_code"`
	TokenizationsByBrand   map[string]int64 `json:"tokenizations_by_brand"`
	CardEscapesRefused     int64            `json:"card_escapes_refused"`
	CardEscapesAlerted     int64            `json:"card_escapes_alerted"`

	// Charges counts the charge records (attempts); the Charges… counters below split them
	// by the payment's real outcome (the record's DetailResult; a record without one counts
	// by its Outcome), so they add up to Charges.
	Charges int64 `json:"charges"`
	// ChargesSucceeded were paid, processing or authorized (requires_capture).
	ChargesSucceeded int64 `json:"charges_succeeded"`
	// ChargesRequiringAction waited for the customer (3-D Secure) when the charge answered.
	ChargesRequiringAction int64 `json:"charges_requiring_action"`
	// ChargesFailed were declined, failed authentication or failed at the gateway.
	ChargesFailed int64 `json:"charges_failed"`
	// ChargesCanceled were canceled at the gateway when the charge answered.
	ChargesCanceled int64 `json:"charges_canceled"`
	Captures        int64 `json:"captures"`
	Refunds         int64 `json:"refunds"`
	RefundsFailed   int64 `json:"refunds_failed"`

	// SetupsSucceeded, SetupsRequiringAction and SetupsFailed count the setup records
	// (cards saved for later charges) by their result; a canceled setup counts as failed.
	SetupsSucceeded       int64 `json:"setups_succeeded"`
	SetupsRequiringAction int64 `json:"setups_requiring_action"`
	SetupsFailed          int64 `json:"setups_failed"`
	// StaleCanceled counts the payments and setups tokenwall canceled because the customer
	// never came back from authentication (reason stale_requires_action).
	StaleCanceled int64 `json:"stale_canceled"`

	WebhooksReceived          int64            `json:"webhooks_received"`
	WebhooksDuplicate         int64            `json:"webhooks_duplicate"`
	WebhooksRejected          int64            `json:"webhooks_rejected"`
	WebhookRejectionsByReason map[string]int64 `json:"webhook_rejections_by_reason"`
	WebhooksDelivered         int64            `json:"webhooks_delivered"`
	WebhooksDead              int64            `json:"webhooks_dead"`
	WebhooksReplayed          int64            `json:"webhooks_replayed"`

	// Erasures are the erasure requests of the period, each against the 48-hour promise.
	Erasures []Erasure `json:"erasures"`

	APIRefusalsByReason map[string]int64 `json:"api_refusals_by_reason"`
	AdminAccess         int64            `json:"admin_access"`
	KeysCreated         int64            `json:"api_keys_created"`
	KeysRevoked         int64            `json:"api_keys_revoked"`
	SecretRefreshFailed int64            `json:"secret_refresh_failures"`
	Startups            int64            `json:"startups"`
	ReportsGenerated    int64            `json:"reports_generated"`

	// ClientRateLimited counts requests the per-client limiter refused before authentication.
	ClientRateLimited int64 `json:"client_rate_limited"`
}

// ErasurePromise is how long an erasure may take: the merchant promises 48 hours.
const ErasurePromise = 48 * time.Hour

// Erasure is one erasure request: when it came, how long it took, whether that kept the promise.
type Erasure struct {
	Receipt     string    `json:"receipt"`
	Subject     string    `json:"subject"` // the audit pseudonym, linked to no one after the erasure
	RequestedAt time.Time `json:"requested_at"`
	CompletedAt time.Time `json:"completed_at"`
	DurationMS  int64     `json:"duration_ms"`
	WithinSLA   bool      `json:"within_48h"`
}

// Day is one day's volume, for the charts.
type Day struct {
	Date          string `json:"date"` // YYYY-MM-DD, UTC
	Tokenizations int64  `json:"tokenizations"`
	Charges       int64  `json:"charges"`
	Refunds       int64  `json:"refunds"`
	Webhooks      int64  `json:"webhooks"`
	Refusals      int64  `json:"refusals"` // card-escape, webhook, API and rate-limit refusals
}

// Requirement is one PCI DSS v4.0.1 requirement with the evidence that decided its status.
type Requirement struct {
	ID       string   `json:"id"` // "3.3.1", "3.6/3.7", "8.2/8.6", …
	Title    string   `json:"title"`
	Status   string   `json:"status"` // Pass, Fail or NA
	Evidence []string `json:"evidence"`
}

// Evidence is what tokenwall checked at report time.
type Evidence struct {
	TLS        TLSEvidence       `json:"tls"`
	DataAtRest []ScanEvidence    `json:"data_at_rest"`
	Chain      ChainEvidence     `json:"audit_chain"`
	Secrets    []SecretEvidence  `json:"secrets"`
	TransitKey TransitEvidence   `json:"transit_key"`
	Keys       []KeyEvidence     `json:"api_keys"`
	Retention  RetentionEvidence `json:"retention"`
	Logging    LoggingEvidence   `json:"logging"`
	// Pages are the payment pages (PCI DSS 6.4.3, 11.6.1): the configured ones, then those
	// only the audit trail names.
	Pages []PageEvidence `json:"payment_pages"`
}

// TLSEvidence is the result of connecting to tokenwall's own listener with each protocol
// version and each TLS 1.2 cipher suite Go knows.
type TLSEvidence struct {
	Addr string `json:"addr"`
	// Error, when set, says why the listener could not be probed at all.
	Error    string       `json:"error,omitempty"`
	Versions []TLSVersion `json:"versions"`
	Suites   []TLSSuite   `json:"tls12_suites"`
}

// TLSVersion is whether a protocol version was accepted.
type TLSVersion struct {
	Version  string `json:"version"` // "TLS 1.0" … "TLS 1.3"
	Accepted bool   `json:"accepted"`
}

// TLSSuite is whether a TLS 1.2 cipher suite was accepted, and whether it is AEAD.
type TLSSuite struct {
	Name     string `json:"name"`
	Accepted bool   `json:"accepted"`
	AEAD     bool   `json:"aead"`
}

// ScanEvidence is a `tokenwall scan` of one place tokenwall writes (database, logs).
type ScanEvidence struct {
	What     string         `json:"what"` // "database", "logs"
	Path     string         `json:"path"`
	Files    int            `json:"files"`
	Bytes    int64          `json:"bytes"`
	Findings int            `json:"findings"`
	ByKind   map[string]int `json:"by_kind"`
	Error    string         `json:"error,omitempty"`
}

// ChainEvidence is `audit verify` over the period.
type ChainEvidence struct {
	OK          bool   `json:"ok"`
	From        int64  `json:"from_seq"`
	To          int64  `json:"to_seq"`
	Records     int64  `json:"records"`
	Checkpoints int64  `json:"signed_checkpoints"`
	FirstBad    int64  `json:"first_bad_seq,omitempty"`
	Problem     string `json:"problem,omitempty"`
	// Anchor is the newest checkpoint anchored outside the database (Vault KV), which the
	// trail was compared with: a copy of it in the signed report anchors the trail once more.
	Anchor *AnchorEvidence `json:"anchor,omitempty"`
}

// AnchorEvidence is the audit trail's anchor in Vault as verified.
type AnchorEvidence struct {
	// Version is the anchor's KV version; Versions how many versions were compared.
	Version  int    `json:"version"`
	Versions int    `json:"versions_checked"`
	Seq      int64  `json:"checkpoint_seq"`
	Hash     string `json:"checkpoint_hash"`
	KeyName  string `json:"key_name"`
	// Signature is the transit signature of the anchored checkpoint.
	Signature string `json:"signature"`
	// Restores counts recorded restores of the database in the anchor's history.
	Restores int `json:"restores"`
}

// SecretEvidence is one secret's Vault KV metadata against the cryptoperiod.
type SecretEvidence struct {
	Name             string    `json:"name"`
	Path             string    `json:"path"`
	Version          int       `json:"version"`
	CreatedAt        time.Time `json:"created_at"`
	AgeDays          int       `json:"age_days"`
	CryptoperiodDays int       `json:"cryptoperiod_days"`
	Expired          bool      `json:"expired"`
	Error            string    `json:"error,omitempty"`
}

// TransitEvidence is the transit key that signs checkpoints and reports.
type TransitEvidence struct {
	Name          string    `json:"name"`
	LatestVersion int       `json:"latest_version"`
	RotatedAt     time.Time `json:"rotated_at"`
	AgeDays       int       `json:"age_days"`
	Error         string    `json:"error,omitempty"`
}

// KeyEvidence is one API key: who may do what, and when it was last used.
type KeyEvidence struct {
	ID        string     `json:"id"`
	Name      string     `json:"name,omitempty"`
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	LastUsed  *time.Time `json:"last_used,omitempty"`
	Calls     int64      `json:"calls_in_period"`
	Refusals  int64      `json:"refusals_in_period"`
}

// RetentionEvidence is the configured retention against PCI DSS 10.5.1's twelve months.
type RetentionEvidence struct {
	ConfiguredDays int       `json:"configured_days"`
	OldestRecord   time.Time `json:"oldest_record"`
	OldestAgeDays  int       `json:"oldest_age_days"`
}

// LoggingEvidence is how logs treat card numbers.
type LoggingEvidence struct {
	CardMask string `json:"card_mask"` // brand_last4 or first6_last4
	LogFile  string `json:"log_file,omitempty"`
}

// Flow is the card data flow, drawn from the configuration.
type Flow struct {
	Listen     string      `json:"listen"`
	Upstream   string      `json:"upstream"`
	Gateway    string      `json:"gateway"`
	Routes     []FlowRoute `json:"routes"`
	Webhooks   string      `json:"webhooks_path,omitempty"`
	DeliverURL string      `json:"webhooks_deliver_url,omitempty"`
	API        bool        `json:"api"`
}

// FlowRoute is one tokenization route: the card fields it takes and what the app receives.
type FlowRoute struct {
	Path         string   `json:"path"`
	Methods      []string `json:"methods"`
	Body         string   `json:"body"`
	CardFields   []string `json:"card_fields"`
	ResultFields []string `json:"result_fields"`
}

// Failed returns the requirements that failed.
func (r Report) Failed() []Requirement {
	var out []Requirement
	for _, q := range r.Requirements {
		if q.Status == Fail {
			out = append(out, q)
		}
	}
	return out
}

// Event is the report_generated audit record of r, made by actor in format.
func (r Report) Event(format, actor string) audit.Event {
	var failed []string
	for _, q := range r.Failed() {
		failed = append(failed, q.ID)
	}
	return audit.Event{Type: audit.EventReportGenerated, Actor: actor, Outcome: audit.Success, Resource: "report:" + r.ID,
		Details: map[string]string{"format": format, "from": r.From.Format(time.DateOnly), "to": r.To.Format(time.DateOnly),
			"records": strconv.FormatInt(r.Summary.Records, 10), "failed": strings.Join(failed, ",")}}
}
