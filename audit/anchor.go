package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/tokenwall/tokenwall/vault"
)

// Anchor kinds: a checkpoint moves the anchor forward; a restore (tokenwall audit restore,
// after a database backup was restored) is the only thing that may move it back.
const (
	AnchorCheckpoint = "checkpoint"
	AnchorRestore    = "restore"
)

// Errors of anchoring.
var (
	// ErrBehindAnchor means the trail in the database ends before, or differs from, the
	// checkpoint anchored outside it: records were lost (a truncated or restored database).
	// tokenwall refuses to append until `tokenwall audit restore` records what happened.
	ErrBehindAnchor = errors.New("audit: the trail is behind its anchor")
	// ErrNoAnchor means the anchor was never written (a new installation).
	ErrNoAnchor = errors.New("audit: no anchor yet")
)

// AnchorPoint is one version of the anchor: a signed checkpoint kept outside the database,
// so that deleting the last records and checkpoints and moving the head back (which needs
// only database access) no longer verifies.
type AnchorPoint struct {
	// Version is the anchor's version in its store (Vault KV v2); 0 before it is written.
	Version int
	Kind    string
	Seq     int64
	Hash    []byte
	// KeyName and Signature are the checkpoint's transit key and signature.
	KeyName   string
	Signature string
	Time      time.Time
	// RestoredTo and PreviousSeq describe a restore: the trail was restored to RestoredTo,
	// losing the records after it up to PreviousSeq, the anchor before the restore.
	RestoredTo, PreviousSeq int64
	// Operator and Reason of a restore.
	Operator, Reason string
	// Deleted is set on a version that was deleted or destroyed in Vault (it has no fields).
	Deleted bool
}

// Anchor keeps the latest checkpoint outside the database, with a history that only grows.
type Anchor interface {
	// Latest is the newest anchor point; ErrNoAnchor when there is none.
	Latest(ctx context.Context) (AnchorPoint, error)
	// Publish writes p as the newest point only if the newest is still version cas (0: none
	// yet); a lost race is vault.ErrConflict. It returns the version written.
	Publish(ctx context.Context, p AnchorPoint, cas int) (int, error)
	// History is every version still kept, oldest first.
	History(ctx context.Context) ([]AnchorPoint, error)
}

// AnchorKV is what VaultAnchor needs of Vault; *vault.Client is the real one.
type AnchorKV interface {
	ReadKVDoc(ctx context.Context, path string, version int) (vault.KVDoc, error)
	WriteKVDoc(ctx context.Context, path string, fields map[string]string, cas int) (int, error)
	KVHistory(ctx context.Context, path string) ([]vault.KVDoc, error)
}

// VaultAnchor is the anchor in a Vault KV v2 entry: each checkpoint a new version written
// with check-and-set, so replicas never overwrite each other, and Vault keeps the versions
// before it (up to the entry's max_versions). tokenwall's runtime policy may create and
// update the entry but not delete or destroy versions.
type VaultAnchor struct {
	kv   AnchorKV
	path string
}

// NewVaultAnchor is the anchor at path in kv's KV v2 mount.
func NewVaultAnchor(kv AnchorKV, path string) *VaultAnchor { return &VaultAnchor{kv: kv, path: path} }

// Latest reads the newest version.
func (a *VaultAnchor) Latest(ctx context.Context) (AnchorPoint, error) {
	d, err := a.kv.ReadKVDoc(ctx, a.path, 0)
	if errors.Is(err, vault.ErrMissing) {
		return AnchorPoint{}, fmt.Errorf("%w: %w", ErrNoAnchor, err)
	}
	if err != nil {
		return AnchorPoint{}, fmt.Errorf("audit: read anchor: %w", err)
	}
	return pointOf(d)
}

// Publish writes p with check-and-set on cas.
func (a *VaultAnchor) Publish(ctx context.Context, p AnchorPoint, cas int) (int, error) {
	v, err := a.kv.WriteKVDoc(ctx, a.path, fieldsOf(p), cas)
	if err != nil {
		return 0, fmt.Errorf("audit: write anchor: %w", err)
	}
	return v, nil
}

// History reads every version Vault keeps.
func (a *VaultAnchor) History(ctx context.Context) ([]AnchorPoint, error) {
	docs, err := a.kv.KVHistory(ctx, a.path)
	if errors.Is(err, vault.ErrMissing) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read anchor history: %w", err)
	}
	out := make([]AnchorPoint, 0, len(docs))
	for _, d := range docs {
		p, err := pointOf(d)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func fieldsOf(p AnchorPoint) map[string]string {
	f := map[string]string{"kind": p.Kind, "seq": strconv.FormatInt(p.Seq, 10), "hash": hex.EncodeToString(p.Hash),
		"key_name": p.KeyName, "signature": p.Signature, "time": p.Time.UTC().Format(time.RFC3339Nano)}
	if p.Kind == AnchorRestore {
		f["restored_to"] = strconv.FormatInt(p.RestoredTo, 10)
		f["previous_seq"] = strconv.FormatInt(p.PreviousSeq, 10)
		f["operator"], f["reason"] = p.Operator, p.Reason
	}
	return f
}

// pointOf parses one version; a deleted or destroyed version is a point with Deleted set.
func pointOf(d vault.KVDoc) (AnchorPoint, error) {
	p := AnchorPoint{Version: d.Version, Time: d.Created}
	if d.Deleted || d.Destroyed {
		p.Deleted = true
		return p, nil
	}
	f := d.Fields
	var err error
	bad := func(field string, e error) error {
		return fmt.Errorf("audit: anchor version %d: field %s: %w", d.Version, field, e)
	}
	p.Kind, p.KeyName, p.Signature, p.Operator, p.Reason = f["kind"], f["key_name"], f["signature"], f["operator"], f["reason"]
	if p.Kind != AnchorCheckpoint && p.Kind != AnchorRestore {
		return p, bad("kind", fmt.Errorf("%q is neither %s nor %s", p.Kind, AnchorCheckpoint, AnchorRestore))
	}
	if p.Seq, err = strconv.ParseInt(f["seq"], 10, 64); err != nil || p.Seq < 1 {
		return p, bad("seq", fmt.Errorf("not a sequence number"))
	}
	if p.Hash, err = hex.DecodeString(f["hash"]); err != nil || len(p.Hash) == 0 {
		return p, bad("hash", fmt.Errorf("not a hex hash"))
	}
	if t, err := time.Parse(time.RFC3339Nano, f["time"]); err == nil {
		p.Time = t
	}
	if p.Kind == AnchorRestore {
		if p.RestoredTo, err = strconv.ParseInt(f["restored_to"], 10, 64); err != nil {
			return p, bad("restored_to", err)
		}
		if p.PreviousSeq, err = strconv.ParseInt(f["previous_seq"], 10, 64); err != nil {
			return p, bad("previous_seq", err)
		}
	}
	return p, nil
}

// anchorer moves the anchor forward after each checkpoint, remembering the version it last
// saw so that a replica writes with one round trip unless another replica moved it.
type anchorer struct {
	a  Anchor
	mu sync.Mutex
	// known is the newest point this process read or wrote (Version 0: none known).
	known AnchorPoint
}

// advance anchors checkpoint p (Seq 0: only checks the anchor against the database). It reads the anchor first when it knows none, or when another
// replica wrote since; consistent(seq, hash) says whether this database holds the checkpoint
// an anchor it did not write names. An anchor at or past p that the database holds is left
// alone (another replica anchored further); one the database does not hold is
// ErrBehindAnchor: the database lost records.
func (an *anchorer) advance(ctx context.Context, p AnchorPoint, consistent func(ctx context.Context, seq int64, hash []byte) (bool, error)) error {
	an.mu.Lock()
	defer an.mu.Unlock()
	for attempt := 0; attempt < 5; attempt++ {
		if an.known.Version == 0 || attempt > 0 {
			latest, err := an.a.Latest(ctx)
			switch {
			case errors.Is(err, ErrNoAnchor):
				latest = AnchorPoint{}
			case err != nil:
				return err
			default:
				ok, err := consistent(ctx, latest.Seq, latest.Hash)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%w: Vault's anchor (version %d) signs checkpoint %d, which this database does not hold "+
						"(records lost: a truncated database, or a backup restored without `tokenwall audit restore`)",
						ErrBehindAnchor, latest.Version, latest.Seq)
				}
			}
			an.known = latest
		}
		if p.Seq == 0 {
			return nil // only the check: an empty trail with no anchor yet
		}
		if an.known.Version > 0 && an.known.Seq >= p.Seq {
			return nil
		}
		v, err := an.a.Publish(ctx, p, an.known.Version)
		if errors.Is(err, vault.ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		p.Version = v
		an.known = p
		return nil
	}
	return fmt.Errorf("audit: anchor checkpoint %d: the anchor kept moving (5 attempts)", p.Seq)
}
