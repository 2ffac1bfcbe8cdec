package audit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"

	"github.com/tokenwall/tokenwall/store"
)

// Result is the outcome of Verify. OK is true only when every record, link, MAC, the head
// and every checkpoint signature in the range check out; otherwise FirstBad is the first
// sequence number at fault and Problem says what is wrong there.
type Result struct {
	From, To    int64
	Records     int64
	Checkpoints int
	// Anchor is the newest anchor point checked (Version 0: no anchor); AnchorVersions how
	// many versions of it were checked; Restores how many recorded restores they hold.
	Anchor         AnchorPoint
	AnchorVersions int
	Restores       int
	OK             bool
	FirstBad       int64
	Problem        string
}

func (r *Result) fail(seq int64, format string, args ...any) {
	if r.FirstBad == 0 || seq < r.FirstBad {
		r.FirstBad, r.Problem = seq, fmt.Sprintf(format, args...)
	}
}

// Verify checks the trail from from to to (0 and 0: all of it): the sequence has no gaps,
// each record links to the previous one, its hash matches its fields, its MAC matches the
// version of the audit key it names (keys gives each version; VaultKeys reads them from
// Vault, StaticKey is one key for all), the head matches the last record, and each
// checkpoint matches its record and carries a valid Vault signature. A trail pruned to a
// checkpoint starts from that checkpoint's hash.
func Verify(ctx context.Context, st store.Audit, keys Keys, signer Signer, from, to int64) (Result, error) {
	return VerifyWith(ctx, st, keys, signer, from, to, VerifyOptions{})
}

// VerifyOptions are the checks Verify adds when it knows the configuration and the anchor:
// what `tokenwall audit verify` and the report run.
type VerifyOptions struct {
	// CheckpointEvery, when set, requires a signed checkpoint at least every
	// MaxUnsigned(CheckpointEvery) records (deleted checkpoints fail verification).
	CheckpointEvery int64
	// Anchor, when set, is compared with the trail: every checkpoint it ever anchored that
	// the trail still covers must match it, none may be missing, and its history may only
	// move back through a recorded restore.
	Anchor Anchor
}

// VerifyWith is Verify with the spacing of checkpoints and the anchor checked as well.
func VerifyWith(ctx context.Context, st store.Audit, keys Keys, signer Signer, from, to int64, o VerifyOptions) (Result, error) {
	if keys == nil {
		return Result{}, errors.New("audit: verify needs the audit keys")
	}
	first, last, err := st.AuditBounds(ctx)
	if err != nil {
		return Result{}, err
	}
	if from <= 0 || from < first {
		from = first
	}
	if to <= 0 || to > last {
		to = last
	}
	res := Result{From: from, To: to}
	cps, err := st.Checkpoints(ctx, max(0, from-1), 0)
	if err != nil {
		return res, err
	}
	cpAt := map[int64]store.Checkpoint{}
	want := map[int64]bool{}
	for _, c := range cps {
		cpAt[c.Seq], want[c.Seq] = c, true
	}
	var history []AnchorPoint
	if o.Anchor != nil {
		if history, err = o.Anchor.History(ctx); err != nil {
			return res, err
		}
		for _, p := range history {
			want[p.Seq] = true
		}
	}
	prev := chainStart(ctx, st, &res, cpAt, first, last)
	hashes, prev, err := verifyRecords(ctx, st, newMACs(keys), &res, want, prev)
	if err != nil {
		return res, err
	}
	if to == last {
		if last, err = verifyHead(ctx, st, &res, cpAt, hashes, last, prev); err != nil {
			return res, err
		}
		to = last // a trail pruned up to its head ends at the head
	}
	if err := verifyCheckpoints(ctx, signer, &res, cps, hashes, from, to, last); err != nil {
		return res, err
	}
	if o.CheckpointEvery > 0 {
		limit := MaxUnsigned(o.CheckpointEvery)
		start, err := spacingStart(ctx, st, from, first, limit)
		if err != nil {
			return res, err
		}
		if start < 0 {
			res.fail(from, "no signed checkpoint in the %d records before %d", limit, from)
		} else {
			verifySpacing(&res, cps, start, to, last, limit)
		}
	}
	if o.Anchor != nil {
		av := anchorVerifier{st: st, signer: signer, res: &res, hashes: hashes, cpAt: cpAt, first: first, last: last}
		if err := av.verify(ctx, history); err != nil {
			return res, err
		}
	}
	res.OK = res.FirstBad == 0
	return res, nil
}

// chainStart returns the hash the first record in range must link to: a pruned trail has
// no record before it, only the checkpoint it was pruned to.
func chainStart(ctx context.Context, st store.Audit, res *Result, cpAt map[int64]store.Checkpoint, first, last int64) []byte {
	from := res.From
	var prev []byte
	switch {
	case from <= 1 || last == 0:
	case from > first:
		_ = st.AuditRange(ctx, from-1, from-1, func(r store.AuditRecord) error { prev = r.Hash; return nil })
	default: // a pruned trail: it must start right after a checkpoint
		c, ok := cpAt[from-1]
		if !ok {
			res.fail(from, "the trail starts at %d without a checkpoint at %d", from, from-1)
		}
		prev = c.Hash
	}
	return prev
}

// verifyRecords walks the records in range, checking sequence, links, hashes and MACs. It
// returns the hashes of the records in want (those with a checkpoint or an anchor), for
// verifyCheckpoints and the anchor, and the last record's hash, for verifyHead.
func verifyRecords(ctx context.Context, st store.Audit, m *macs, res *Result, want map[int64]bool, prev []byte) (map[int64][]byte, []byte, error) {
	expect := res.From
	hashes := map[int64][]byte{}
	// One hasher for the whole walk (and one MAC per key version): allocating them per
	// record dominated.
	hasher := sha256.New()
	err := st.AuditRange(ctx, res.From, res.To, func(r store.AuditRecord) error {
		res.Records++
		if r.Seq != expect {
			res.fail(expect, "record %d is missing (next is %d)", expect, r.Seq)
		}
		if !bytes.Equal(r.PrevHash, prev) {
			res.fail(r.Seq, "record %d does not link to the record before it", r.Seq)
		}
		if !bytes.Equal(hashInto(hasher, r), r.Hash) {
			res.fail(r.Seq, "record %d was changed: its hash does not match its fields", r.Seq)
		}
		if err := m.check(ctx, res, r); err != nil {
			return err
		}
		if want[r.Seq] {
			hashes[r.Seq] = r.Hash
		}
		prev, expect = r.Hash, r.Seq+1
		return nil
	})
	return hashes, prev, err
}

// macs checks records' MACs, keeping one HMAC per key version for the walk and
// remembering the versions keys could not give.
type macs struct {
	keys      Keys
	byVersion map[int]hash.Hash
	missing   map[int]error
}

func newMACs(keys Keys) *macs {
	return &macs{keys: keys, byVersion: map[int]hash.Hash{}, missing: map[int]error{}}
}

// check verifies r's MAC with the key version r names, reporting a bad record in res; only
// an error that stops the walk (Vault unreachable, say) is returned.
func (m *macs) check(ctx context.Context, res *Result, r store.AuditRecord) error {
	if r.KeyVersion < 0 {
		res.fail(r.Seq, "record %d names audit key version %d, which cannot exist", r.Seq, r.KeyVersion)
		return nil
	}
	mac, err := m.forVersion(ctx, r.KeyVersion)
	switch {
	case errors.Is(err, ErrUnknownKeyVersion):
		res.fail(r.Seq, "record %d names an audit key version that cannot be read: %v", r.Seq, err)
		return nil
	case err != nil:
		return fmt.Errorf("audit: verify record %d: %w", r.Seq, err)
	}
	mac.Reset()
	mac.Write(r.Hash)
	switch {
	case hmac.Equal(mac.Sum(nil), r.MAC):
	case r.KeyVersion == 0:
		res.fail(r.Seq, "record %d has a MAC that the legacy audit key did not make (the record names no key version: "+
			"it predates versioned records, or was edited to look so)", r.Seq)
	default:
		res.fail(r.Seq, "record %d has a MAC that version %d of the audit key did not make", r.Seq, r.KeyVersion)
	}
	return nil
}

// forVersion is the HMAC with the key of version v.
func (m *macs) forVersion(ctx context.Context, v int) (hash.Hash, error) {
	if mac, ok := m.byVersion[v]; ok {
		return mac, nil
	}
	if err, ok := m.missing[v]; ok {
		return nil, err
	}
	key, err := m.keys(ctx, v)
	if errors.Is(err, ErrUnknownKeyVersion) {
		m.missing[v] = err
	}
	if err != nil {
		return nil, err
	}
	mac := hmac.New(sha256.New, key)
	m.byVersion[v] = mac
	return mac, nil
}

// verifyHead checks the chain head against the last record (prev is its hash) and returns
// the last sequence number: the head's when the trail was pruned up to it, which a
// checkpoint must then sign.
func verifyHead(ctx context.Context, st store.Audit, res *Result, cpAt map[int64]store.Checkpoint, hashes map[int64][]byte, last int64, prev []byte) (int64, error) {
	head, err := st.AuditHead(ctx)
	if err != nil {
		return last, err
	}
	if last == 0 && head.Seq > 0 {
		// Pruned up to the head: a signed checkpoint of the head must remain.
		if c, ok := cpAt[head.Seq]; !ok || !bytes.Equal(c.Hash, head.Hash) {
			res.fail(1, "the trail is empty but its head says %d and no checkpoint signs that head", head.Seq)
		}
		last, prev = head.Seq, head.Hash
		hashes[head.Seq] = head.Hash
	}
	if head.Seq != last || (last > 0 && !bytes.Equal(head.Hash, prev)) {
		res.fail(min(head.Seq, last)+1, "the chain head says %d but the last record is %d", head.Seq, last)
	}
	return last, nil
}

// verifyCheckpoints checks that each checkpoint in range matches the record it signs
// (hashes, from verifyRecords) and carries a valid Vault signature.
func verifyCheckpoints(ctx context.Context, signer Signer, res *Result, cps []store.Checkpoint, hashes map[int64][]byte, from, to, last int64) error {
	for _, c := range cps {
		if c.Seq > to && to != last {
			continue
		}
		res.Checkpoints++
		h, ok := hashes[c.Seq]
		switch {
		case c.Seq > last:
			res.fail(last+1, "checkpoint %d signs records that are gone (the trail ends at %d)", c.Seq, last)
			continue
		case c.Seq >= from && !ok:
			continue // reported as missing above
		case ok && !bytes.Equal(h, c.Hash):
			res.fail(c.Seq, "checkpoint %d does not match record %d", c.Seq, c.Seq)
			continue
		}
		valid, err := signer.Verify(ctx, checkpointMessage(c.Seq, c.Hash), c.Signature)
		if err != nil {
			return fmt.Errorf("audit: verify checkpoint %d: %w", c.Seq, err)
		}
		if !valid {
			res.fail(c.Seq, "checkpoint %d has an invalid signature", c.Seq)
		}
	}
	return nil
}
