package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tokenwall/tokenwall/store"
)

// verifySpacing fails the trail where more than limit records follow a checkpoint: the
// writer never lets that happen, so a longer stretch means checkpoints were deleted.
// prevCP is the newest checkpoint at or before the range's start (0 for a trail from 1).
func verifySpacing(res *Result, cps []store.Checkpoint, prevCP, to, last, limit int64) {
	prev := prevCP
	gap := func(next int64) {
		if next-prev > limit {
			res.fail(prev+1, "records %d..%d have no signed checkpoint: at most %d records may follow one "+
				"(checkpoints were deleted, or the trail was written past its limit)", prev+1, next, limit)
		}
	}
	for _, c := range cps {
		if c.Seq <= prev || c.Seq > to {
			continue
		}
		gap(c.Seq)
		prev = c.Seq
	}
	if to == last {
		gap(last)
	}
}

// spacingStart is the newest checkpoint at or before from-1, for verifySpacing: 0 for a
// trail that starts at 1, the checkpoint a pruned trail starts after, or the last one within
// limit records before from; -1 when there is none that close.
func spacingStart(ctx context.Context, st store.Audit, from, first, limit int64) (int64, error) {
	if from <= 1 {
		return 0, nil
	}
	cps, err := st.Checkpoints(ctx, max(0, from-1-limit), from-1)
	if err != nil {
		return 0, err
	}
	if len(cps) == 0 {
		if from == first {
			return from - 1, nil // pruned: chainStart checks the checkpoint it starts after
		}
		return -1, nil
	}
	return cps[len(cps)-1].Seq, nil
}

// anchorVerifier compares the anchor's history with the trail.
type anchorVerifier struct {
	st          store.Audit
	signer      Signer
	res         *Result
	hashes      map[int64][]byte // record hashes at anchored sequences, from verifyRecords
	cpAt        map[int64]store.Checkpoint
	first, last int64
}

// verify checks each anchor version, oldest first: it is signed by the transit key; it does
// not go back unless it is a recorded restore; and, unless a later restore gave its records
// up, the trail still holds it with the same hash. The first anchored checkpoint the trail
// does not hold names the first missing sequence; one it holds with another hash names the
// records after the last matching anchor (rewritten since).
func (v *anchorVerifier) verify(ctx context.Context, history []AnchorPoint) error {
	lost := lostToRestore(history)
	var maxSeq, matched int64
	for i, p := range history {
		v.res.AnchorVersions++
		if p.Deleted {
			v.res.fail(maxSeq+1, "anchor version %d was deleted or destroyed in Vault", p.Version)
			continue
		}
		v.res.Anchor = p
		ok, err := v.signer.Verify(ctx, checkpointMessage(p.Seq, p.Hash), p.Signature)
		if err != nil {
			return fmt.Errorf("audit: verify anchor version %d: %w", p.Version, err)
		}
		if !ok {
			v.res.fail(p.Seq, "anchor version %d (checkpoint %d) has an invalid signature", p.Version, p.Seq)
			continue
		}
		switch {
		case p.Kind == AnchorRestore:
			v.res.Restores++
			if err := v.checkRestore(ctx, p); err != nil {
				return err
			}
			maxSeq, matched = p.Seq, min(matched, p.RestoredTo)
		case p.Seq < maxSeq:
			v.res.fail(p.Seq+1, "anchor version %d goes back from checkpoint %d to %d without a recorded restore "+
				"(an older checkpoint was written back)", p.Version, maxSeq, p.Seq)
		default:
			maxSeq = p.Seq
		}
		if lost[i] {
			continue
		}
		matched = v.compare(p, matched)
	}
	return nil
}

// compare checks that the trail holds anchored point p and returns the newest sequence known
// to match an anchor.
func (v *anchorVerifier) compare(p AnchorPoint, matched int64) int64 {
	if p.Seq > v.last {
		v.res.fail(v.last+1, "the trail ends at %d but anchor version %d signs checkpoint %d: records %d..%d are missing",
			v.last, p.Version, p.Seq, v.last+1, p.Seq)
		return matched
	}
	h, ok := v.hashes[p.Seq]
	if !ok {
		c, cok := v.cpAt[p.Seq]
		if !cok {
			return matched // pruned, or outside the range verified
		}
		h = c.Hash
	}
	if !bytes.Equal(h, p.Hash) {
		v.res.fail(matched+1, "records %d..%d were rewritten: anchor version %d signs another hash for record %d",
			matched+1, p.Seq, p.Version, p.Seq)
		return matched
	}
	return max(matched, p.Seq)
}

// checkRestore checks that the record a restore anchored is the audit_restored event that
// names it, so a restore cannot be claimed in Vault alone.
func (v *anchorVerifier) checkRestore(ctx context.Context, p AnchorPoint) error {
	seq := p.RestoredTo + 1
	if seq < v.first || seq > v.last {
		return nil // pruned since, or reported missing by compare
	}
	var rec *store.AuditRecord
	if err := v.st.AuditRange(ctx, seq, seq, func(r store.AuditRecord) error { rec = &r; return nil }); err != nil {
		return err
	}
	var d map[string]string
	if rec != nil {
		_ = json.Unmarshal([]byte(rec.Details), &d)
	}
	if rec == nil || rec.Event != EventAuditRestored || d["restored_to"] != strconv.FormatInt(p.RestoredTo, 10) {
		v.res.fail(seq, "anchor version %d says the trail was restored to %d, but record %d is not the audit_restored event naming it",
			p.Version, p.RestoredTo, seq)
	}
	return nil
}

// lostToRestore marks the anchor points whose records a later restore gave up: those past
// the point some later restore went back to.
func lostToRestore(history []AnchorPoint) []bool {
	lost := make([]bool, len(history))
	floor := int64(-1)
	for i := len(history) - 1; i >= 0; i-- {
		p := history[i]
		if floor >= 0 && p.Seq > floor {
			lost[i] = true
		}
		if p.Kind == AnchorRestore && !p.Deleted && (floor < 0 || p.RestoredTo < floor) {
			floor = p.RestoredTo
		}
	}
	return lost
}
