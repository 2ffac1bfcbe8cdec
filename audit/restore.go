package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// ErrNotRestored means `audit restore` found nothing to record: the database holds the
// anchored checkpoint, so it was not restored to an earlier state.
var ErrNotRestored = errors.New("audit: the trail holds its anchored checkpoint: nothing was restored")

// RestoreInput is what Restore needs: the trail's options (store, key, signer; its anchor is
// the one moved back), the keys to verify the restored trail with, and who restores and why.
type RestoreInput struct {
	Trail    Options
	Keys     Keys
	Operator string
	Reason   string
}

// Restored is what Restore did: the trail was restored to RestoredTo, the records after it
// up to PreviousSeq (the anchor before) are gone, and record Seq (audit_restored) is the new
// anchor, at Vault version AnchorVersion.
type Restored struct {
	RestoredTo, PreviousSeq, Seq int64
	AnchorVersion                int
}

// Restore records that the database was restored from a backup, the one way the anchor moves
// back: the restored trail must verify by itself; then audit_restored (operator, reason,
// the sequence restored to and the anchor it replaces) is appended and signed, and the anchor
// is written, check-and-set, as a restore pointing at that record. Verify accepts the history
// going back only through such a pair. Run it with tokenwall stopped: a running tokenwall
// refuses to write to a trail behind its anchor.
func Restore(ctx context.Context, in RestoreInput) (Restored, error) {
	anchor, st := in.Trail.Anchor, in.Trail.Store
	if anchor == nil || st == nil || in.Keys == nil || in.Trail.Signer == nil {
		return Restored{}, errors.New("audit: restore needs the store, the anchor, the keys and the signer")
	}
	if in.Operator == "" || in.Reason == "" {
		return Restored{}, errors.New("audit: restore needs an operator and a reason")
	}
	latest, err := anchor.Latest(ctx)
	if err != nil {
		return Restored{}, err
	}
	held, err := holdsCheckpoint(ctx, st, latest.Seq, latest.Hash)
	if err != nil {
		return Restored{}, err
	}
	if held {
		return Restored{}, fmt.Errorf("%w (checkpoint %d, anchor version %d)", ErrNotRestored, latest.Seq, latest.Version)
	}
	res, err := Verify(ctx, st, in.Keys, in.Trail.Signer, 0, 0)
	if err != nil {
		return Restored{}, err
	}
	if !res.OK {
		return Restored{}, fmt.Errorf("audit: the restored trail does not verify by itself (sequence %d: %s): restore another backup",
			res.FirstBad, res.Problem)
	}
	head, err := st.AuditHead(ctx)
	if err != nil {
		return Restored{}, err
	}
	out := Restored{RestoredTo: head.Seq, PreviousSeq: latest.Seq, AnchorVersion: latest.Version}
	c, err := recordRestore(ctx, in, out)
	if err != nil {
		return Restored{}, err
	}
	p := AnchorPoint{Kind: AnchorRestore, Seq: c.Seq, Hash: c.Hash, KeyName: c.KeyName, Signature: c.Signature, Time: c.Time,
		RestoredTo: out.RestoredTo, PreviousSeq: out.PreviousSeq, Operator: in.Operator, Reason: in.Reason}
	if out.AnchorVersion, err = anchor.Publish(ctx, p, latest.Version); err != nil {
		return Restored{}, fmt.Errorf("audit: record %d is written but the anchor was not moved: %w (run restore again)", c.Seq, err)
	}
	out.Seq = c.Seq
	return out, nil
}

// recordRestore appends audit_restored with a trail that does not check the anchor (the
// database is behind it, which is the point) and returns the checkpoint that signs it.
func recordRestore(ctx context.Context, in RestoreInput, r Restored) (store.Checkpoint, error) {
	o := in.Trail
	o.Anchor = nil
	t, err := New(o)
	if err != nil {
		return store.Checkpoint{}, err
	}
	ev := Event{Type: EventAuditRestored, Actor: in.Operator, Outcome: Success, Reason: "database_restored",
		Resource: "audit_trail", Time: time.Now(), Details: map[string]string{
			"restored_to": strconv.FormatInt(r.RestoredTo, 10), "previous_seq": strconv.FormatInt(r.PreviousSeq, 10),
			"previous_anchor_version": strconv.Itoa(r.AnchorVersion), "reason": in.Reason}}
	recErr := t.Record(ctx, ev)
	if err := t.Close(ctx); err != nil && recErr == nil {
		recErr = err
	}
	if recErr != nil {
		return store.Checkpoint{}, fmt.Errorf("audit: record the restore: %w", recErr)
	}
	seq := r.RestoredTo + 1
	cps, err := o.Store.Checkpoints(ctx, seq, seq)
	if err != nil {
		return store.Checkpoint{}, err
	}
	head, err := o.Store.AuditHead(ctx)
	if err != nil {
		return store.Checkpoint{}, err
	}
	if len(cps) == 0 || head.Seq != seq {
		return store.Checkpoint{}, fmt.Errorf("audit: the restore record is not the signed head (head %d): was tokenwall running?", head.Seq)
	}
	return cps[0], nil
}
