package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// exported is one JSON line of Export.
type exported struct {
	Seq       int64           `json:"seq"`
	Time      string          `json:"time"`
	Actor     string          `json:"actor"`
	Event     string          `json:"event"`
	Outcome   string          `json:"outcome"`
	Reason    string          `json:"reason,omitempty"`
	SourceIP  string          `json:"source_ip,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	Resource  string          `json:"resource,omitempty"`
	Details   json.RawMessage `json:"details,omitempty"`
	// KeyVersion is the audit key version that made MAC (0: none named, a record from
	// before schema 3); a receiver re-checking hashes needs it, as the hash covers it.
	KeyVersion int    `json:"key_version"`
	PrevHash   string `json:"prev_hash"`
	Hash       string `json:"hash"`
	MAC        string `json:"mac"`
}

// Export writes the records from from to to (0: all) as JSON lines, for a SIEM. Hashes and
// MACs are hex, so a receiver can re-check the chain.
func Export(ctx context.Context, st store.Audit, w io.Writer, from, to int64) (int64, error) {
	enc := json.NewEncoder(w)
	var n int64
	err := st.AuditRange(ctx, from, to, func(r store.AuditRecord) error {
		e := exported{Seq: r.Seq, Time: r.Time.UTC().Format(time.RFC3339Nano), Actor: r.Actor, Event: r.Event,
			Outcome: r.Outcome, Reason: r.Reason, SourceIP: r.SourceIP, RequestID: r.RequestID, Resource: r.Resource,
			KeyVersion: r.KeyVersion, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash), MAC: hex.EncodeToString(r.MAC)}
		if r.Details != "" {
			e.Details = json.RawMessage(r.Details)
		}
		n++
		return enc.Encode(e)
	})
	if err != nil {
		return n, fmt.Errorf("audit: export: %w", err)
	}
	return n, nil
}

// Prune deletes records older than retention, keeping the trail verifiable: it cuts at the
// newest checkpoint signed before the cut-off, so what remains starts from a signed hash.
// It returns how many records it deleted.
func Prune(ctx context.Context, st store.Audit, retention time.Duration, now time.Time) (int64, error) {
	cutoff := now.Add(-retention)
	cps, err := st.Checkpoints(ctx, 0, 0)
	if err != nil {
		return 0, err
	}
	var at int64
	for _, c := range cps {
		if c.Time.Before(cutoff) {
			at = c.Seq
		}
	}
	if at == 0 {
		return 0, nil
	}
	return st.PruneAudit(ctx, at+1)
}
