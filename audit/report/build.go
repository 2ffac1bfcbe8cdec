package report

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
)

// actorKeyPrefix starts the audit actor of an API key ("key:ID").
const actorKeyPrefix = "key:"

// KeyInfo is an API key as the key set in Vault describes it.
type KeyInfo struct {
	ID        string
	Name      string
	Scopes    []string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Inputs are what Build reads besides the audit trail.
type Inputs struct {
	// From and To bound the period: From inclusive, To exclusive.
	From, To time.Time
	// Now is the report's time (GeneratedAt, ages).
	Now  time.Time
	ID   string
	Host string
	// Store holds the audit trail.
	Store store.Audit
	// Evidence gathered by the caller at report time (TLS, data at rest, secrets, transit
	// key, logging); Build adds the chain, the API keys' use, the retention and the payment
	// pages.
	Evidence Evidence
	// Keys are the API keys of the key set.
	Keys []KeyInfo
	// RetentionDays is audit.retention_days.
	RetentionDays int
	// CryptoperiodDays is how old a secret may get (report.cryptoperiod_days).
	CryptoperiodDays int
	Flow             Flow
	// Pages are the configured payment pages with their script inventories.
	Pages []PageInventory
	// Verify checks the chain between two sequence numbers (audit.Verify with the key and
	// the signer).
	Verify func(ctx context.Context, from, to int64) (ChainEvidence, error)
	// Progress, when set, is told how many records were read so far, every 100,000.
	Progress func(read int64)
}

// Build reads the whole audit trail once, counts what happened in the period, verifies the
// period's part of the chain, and decides every requirement from the evidence.
func Build(ctx context.Context, in Inputs) (Report, error) {
	r := Report{FormatVersion: FormatVersion, ID: in.ID, GeneratedAt: in.Now.UTC(), From: in.From.UTC(), To: in.To.UTC(), Host: in.Host,
		Evidence: in.Evidence, Flow: in.Flow}
	s := &r.Summary
	s.TokenizeFailuresByCode, s.TokenizationsByBrand = map[string]int64{}, map[string]int64{}
	s.WebhookRejectionsByReason, s.APIRefusalsByReason = map[string]int64{}, map[string]int64{}
	days := map[string]*Day{}
	keys := map[string]*KeyEvidence{}
	for _, k := range in.Keys {
		keys[k.ID] = &KeyEvidence{ID: k.ID, Name: k.Name, Scopes: k.Scopes, CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt}
	}
	pages := newPageTally(in.Pages, in.From, in.To)
	var read, firstSeq, lastSeq int64
	var oldest time.Time
	err := in.Store.AuditRange(ctx, 0, 0, func(rec store.AuditRecord) error {
		read++
		if in.Progress != nil && read%100_000 == 0 {
			in.Progress(read)
		}
		if oldest.IsZero() {
			oldest = rec.Time
		}
		keyID, isKey := strings.CutPrefix(rec.Actor, actorKeyPrefix)
		if isKey {
			if k := keys[keyID]; k != nil && (k.LastUsed == nil || rec.Time.After(*k.LastUsed)) {
				t := rec.Time.UTC()
				k.LastUsed = &t
			}
		}
		var det map[string]string
		if isPageEvent(rec.Event) {
			// A page's baseline, last check and open changes may predate the period.
			det = details(rec)
			pages.add(rec, det)
		}
		if rec.Time.Before(in.From) || !rec.Time.Before(in.To) {
			return nil
		}
		if firstSeq == 0 {
			firstSeq = rec.Seq
		}
		lastSeq = rec.Seq
		s.Records++
		if det == nil {
			det = details(rec)
		}
		if isKey {
			if k := keys[keyID]; k != nil {
				if rec.Event == "api_auth_failed" {
					k.Refusals += audit.Repeats(det)
				} else {
					k.Calls++
				}
			}
		}
		count(s, day(days, rec.Time), rec, det)
		return nil
	})
	if err != nil {
		return Report{}, fmt.Errorf("report: read the audit trail: %w", err)
	}
	if in.Progress != nil {
		in.Progress(read)
	}
	for d := in.From.UTC().Truncate(24 * time.Hour); d.Before(in.To); d = d.Add(24 * time.Hour) {
		if v, ok := days[d.Format(time.DateOnly)]; ok {
			r.Daily = append(r.Daily, *v)
		} else {
			r.Daily = append(r.Daily, Day{Date: d.Format(time.DateOnly)})
		}
	}
	for _, k := range in.Keys {
		r.Evidence.Keys = append(r.Evidence.Keys, *keys[k.ID])
	}
	r.Evidence.Pages = pages.evidence()
	r.Evidence.Retention = RetentionEvidence{ConfiguredDays: in.RetentionDays, OldestRecord: oldest.UTC()}
	if !oldest.IsZero() {
		r.Evidence.Retention.OldestAgeDays = int(in.Now.Sub(oldest) / (24 * time.Hour))
	}
	if firstSeq > 0 && in.Verify != nil {
		ce, err := in.Verify(ctx, firstSeq, lastSeq)
		if err != nil {
			ce = ChainEvidence{Problem: "verification could not run: " + err.Error()}
		}
		r.Evidence.Chain = ce
	} else {
		r.Evidence.Chain = ChainEvidence{OK: true, Problem: "no records in the period"}
	}
	r.Requirements = Evaluate(r, in.CryptoperiodDays)
	return r, nil
}

// day returns the Day of t, creating it.
func day(days map[string]*Day, t time.Time) *Day {
	k := t.UTC().Format(time.DateOnly)
	d, ok := days[k]
	if !ok {
		d = &Day{Date: k}
		days[k] = d
	}
	return d
}

// count adds one record of the period to the summary and its day. A refusal record may stand
// for repeated refusals (audit.Aggregator): it counts as many as its details say.
func count(s *Summary, d *Day, rec store.AuditRecord, det map[string]string) {
	ok := rec.Outcome == "success"
	n := audit.Repeats(det)
	switch rec.Event {
	case "tokenize":
		s.TokenizationsSucceeded++
		s.TokenizationsByBrand[orUnknown(det["brand"])]++
		d.Tokenizations++
	case "tokenize_failed":
		s.TokenizationsFailed++
		s.TokenizeFailuresByCode[orUnknown(rec.Reason)]++
		d.Tokenizations++
	case "card_escape_blocked":
		s.CardEscapesRefused += n
		d.Refusals += n
	case "card_escape_alerted":
		s.CardEscapesAlerted++
	case "charge":
		s.Charges++
		switch resultOf(ok, det) {
		case audit.ResultSucceeded:
			s.ChargesSucceeded++
		case audit.ResultRequiresAction:
			s.ChargesRequiringAction++
		case audit.ResultCanceled:
			s.ChargesCanceled++
		default:
			s.ChargesFailed++
		}
		d.Charges++
	case "setup":
		switch resultOf(ok, det) {
		case audit.ResultSucceeded:
			s.SetupsSucceeded++
		case audit.ResultRequiresAction:
			s.SetupsRequiringAction++
		default:
			s.SetupsFailed++
		}
	case "payment_canceled", "setup_canceled":
		if ok && rec.Reason == reasonStale {
			s.StaleCanceled++
		}
	case "capture":
		if ok {
			s.Captures++
		}
	case "refund":
		if ok {
			s.Refunds++
		} else {
			s.RefundsFailed++
		}
		d.Refunds++
	case "webhook_received":
		s.WebhooksReceived++
		if det["duplicate"] == "true" {
			s.WebhooksDuplicate++
		}
		d.Webhooks++
	case "webhook_rejected":
		s.WebhooksRejected += n
		s.WebhookRejectionsByReason[orUnknown(rec.Reason)] += n
		d.Refusals += n
	case "webhook_delivered":
		s.WebhooksDelivered++
	case "webhook_dead":
		s.WebhooksDead++
	case "webhook_replayed":
		if ok {
			s.WebhooksReplayed++
		}
	case "erasure":
		if ok {
			s.Erasures = append(s.Erasures, erasureOf(rec, det))
		}
	case "api_auth_failed":
		s.APIRefusalsByReason[orUnknown(rec.Reason)] += n
		d.Refusals += n
	case "client_rate_limited":
		s.ClientRateLimited += n
		d.Refusals += n
	case "admin_access":
		s.AdminAccess++
	case "api_key_created":
		s.KeysCreated++
	case "api_key_revoked":
		s.KeysRevoked++
	case "secret_refresh_failed":
		s.SecretRefreshFailed++
	case "startup":
		s.Startups++
	case "report_generated":
		s.ReportsGenerated++
	}
}

// reasonStale is the reason of a payment or setup tokenwall canceled because the customer
// never came back from authentication (payments.ReasonStale).
const reasonStale = "stale_requires_action"

// resultOf is a payment or setup record's result: its DetailResult, or, for a record
// written before results were recorded, succeeded or failed by its outcome.
func resultOf(ok bool, det map[string]string) string {
	if r := det[audit.DetailResult]; r != "" {
		return r
	}
	if ok {
		return audit.ResultSucceeded
	}
	return audit.ResultFailed
}

// erasureOf reads an erasure record: requested at the details' requested_at, completed at
// the record's time.
func erasureOf(rec store.AuditRecord, det map[string]string) Erasure {
	e := Erasure{Receipt: det["receipt"], Subject: rec.Resource, CompletedAt: rec.Time.UTC(), RequestedAt: rec.Time.UTC()}
	if t, err := time.Parse(time.RFC3339Nano, det["requested_at"]); err == nil {
		e.RequestedAt = t.UTC()
	}
	if ms, err := strconv.ParseInt(det["duration_ms"], 10, 64); err == nil {
		e.DurationMS = ms
	} else {
		e.DurationMS = e.CompletedAt.Sub(e.RequestedAt).Milliseconds()
	}
	e.WithinSLA = time.Duration(e.DurationMS)*time.Millisecond <= ErasurePromise
	return e
}

func details(rec store.AuditRecord) map[string]string {
	if len(rec.Details) == 0 {
		return nil
	}
	var m map[string]string
	_ = json.Unmarshal([]byte(rec.Details), &m)
	return m
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
