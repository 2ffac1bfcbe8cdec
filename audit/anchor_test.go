package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
)

// anchorPath is a fresh anchor path in the shared Vault for one test.
func anchorPath(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "tokenwall-test/anchor-" + hex.EncodeToString(b)
}

// anchoredOptions are a trail's options with a checkpoint every 10 records, anchored at a
// fresh path in the shared Vault.
func anchoredOptions(t *testing.T, st store.Store, key []byte) Options {
	return Options{Store: st, Key: staticSecret(key), Signer: transit, CheckpointEvery: 10,
		Anchor: NewVaultAnchor(kv, anchorPath(t))}
}

// recordN appends n events through a trail with options o and closes it.
func recordN(t *testing.T, o Options, n int, tag string) {
	t.Helper()
	tr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ev := Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success, SourceIP: "203.0.113.7",
			RequestID: fmt.Sprintf("req-%s-%04d", tag, i), Resource: "pm_1Anchor" + fmt.Sprint(i)}
		if err := tr.Record(context.Background(), ev); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
}

// anchoredHistory records n events on a fresh SQLite trail anchored in Vault and returns its
// options, its key and the anchor's history (three versions at least).
func anchoredHistory(t *testing.T, n int) (Options, []byte, []AnchorPoint) {
	t.Helper()
	st, _ := openSQLite(t)
	key := hmacKey(t)
	o := anchoredOptions(t, st, key)
	recordN(t, o, n, "h")
	hist, err := o.Anchor.History(context.Background())
	if err != nil || len(hist) < 3 {
		t.Fatalf("history: %d versions, %v", len(hist), err)
	}
	return o, key, hist
}

// verifyAnchored runs the full verification (spacing and anchor) with key.
func verifyAnchored(t *testing.T, o Options, key []byte) Result {
	t.Helper()
	res, err := VerifyWith(context.Background(), o.Store, StaticKey(key), transit, 0, 0,
		VerifyOptions{CheckpointEvery: o.CheckpointEvery, Anchor: o.Anchor})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

// truncateTo deletes the records and checkpoints after seq and moves the head back to it:
// what an attacker with write access to the database only can do.
func truncateTo(t *testing.T, st store.Store, exec func(string, ...any), seq int64) {
	t.Helper()
	var h []byte
	_ = st.AuditRange(context.Background(), seq, seq, func(r store.AuditRecord) error { h = r.Hash; return nil })
	exec(`DELETE FROM audit_records WHERE seq > $1`, seq)
	exec(`DELETE FROM audit_checkpoints WHERE seq > $1`, seq)
	exec(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, seq, h)
}

// TestTruncatedTrailFailsAgainstItsAnchor: deleting the last records and checkpoints and
// moving the head back verified OK before the anchor (still true of Verify alone); with the
// anchor in Vault verification names the first missing record, and a trail on that
// database refuses to append.
func TestTruncatedTrailFailsAgainstItsAnchor(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, exec := b.open(t)
			key := hmacKey(t)
			o := anchoredOptions(t, st, key)
			recordN(t, o, 60, "a")
			if res := verifyAnchored(t, o, key); !res.OK || res.Anchor.Seq != 60 || res.AnchorVersions < 2 {
				t.Fatalf("untouched trail: ok=%v %s; anchor %+v, %d versions", res.OK, res.Problem, res.Anchor.Seq, res.AnchorVersions)
			}
			truncateTo(t, st, exec, 40)
			if res := verify(t, st, key); !res.OK {
				t.Fatalf("the database alone no longer verifies either (%s): the test does not show what the anchor adds", res.Problem)
			}
			res := verifyAnchored(t, o, key)
			if res.OK || res.FirstBad != 41 || !strings.Contains(res.Problem, "missing") {
				t.Fatalf("truncated trail: ok=%v first bad %d (%s), want 41 missing", res.OK, res.FirstBad, res.Problem)
			}
			tr, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			err = tr.Record(context.Background(), Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success})
			_ = tr.Close(context.Background())
			if !errors.Is(err, ErrBehindAnchor) {
				t.Fatalf("append to a truncated trail: %v, want ErrBehindAnchor", err)
			}
		})
	}
}

// TestRewrittenTrailWithoutCheckpointsFails: an attacker with the audit HMAC key (not the
// transit key) edits a record, recomputes the chain and the MACs and deletes the checkpoints
// that would betray it. The required checkpoints and the anchor each catch it.
func TestRewrittenTrailWithoutCheckpointsFails(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, exec := b.open(t)
			key := hmacKey(t)
			o := anchoredOptions(t, st, key)
			recordN(t, o, 60, "b")
			var recs []store.AuditRecord
			_ = st.AuditRange(context.Background(), 17, 0, func(r store.AuditRecord) error { recs = append(recs, r); return nil })
			prev := recs[0].PrevHash
			for i, r := range recs {
				if i == 0 {
					r.Resource = "pm_1Forged"
				}
				r.PrevHash = prev
				r.Hash = recordHash(r)
				r.MAC = recordMAC(key, r.Hash)
				prev = r.Hash
				exec(`UPDATE audit_records SET resource = $1, prev_hash = $2, hash = $3, mac = $4 WHERE seq = $5`,
					r.Resource, r.PrevHash, r.Hash, r.MAC, r.Seq)
			}
			exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, prev)
			exec(`DELETE FROM audit_checkpoints`)
			if res := verify(t, st, key); !res.OK {
				t.Fatalf("Verify alone caught it (%s): the test does not show what the new checks add", res.Problem)
			}
			spacing, err := VerifyWith(context.Background(), st, StaticKey(key), transit, 0, 0, VerifyOptions{CheckpointEvery: 10})
			if err != nil || spacing.OK || spacing.FirstBad != 1 {
				t.Fatalf("checkpoint spacing: ok=%v first bad %d (%s) err %v, want 1", spacing.OK, spacing.FirstBad, spacing.Problem, err)
			}
			anchored, err := VerifyWith(context.Background(), st, StaticKey(key), transit, 0, 0, VerifyOptions{Anchor: o.Anchor})
			if err != nil || anchored.OK || anchored.FirstBad > 17 || !strings.Contains(anchored.Problem, "rewritten") {
				t.Fatalf("anchor: ok=%v first bad %d (%s) err %v, want a rewrite at or before 17", anchored.OK, anchored.FirstBad, anchored.Problem, err)
			}
			if res := verifyAnchored(t, o, key); res.OK {
				t.Fatal("full verification passed a rewritten trail")
			}
		})
	}
}

// TestOlderAnchorWrittenBackFails: writing an older checkpoint back as the newest version of
// the anchor (with the runtime policy's write access) is caught from the version history.
func TestOlderAnchorWrittenBackFails(t *testing.T) {
	o, key, hist := anchoredHistory(t, 45)
	old, latest := hist[1], hist[len(hist)-1]
	if _, err := o.Anchor.Publish(context.Background(), old, latest.Version); err != nil {
		t.Fatal(err)
	}
	res := verifyAnchored(t, o, key)
	if res.OK || res.FirstBad != old.Seq+1 || !strings.Contains(res.Problem, "goes back") {
		t.Fatalf("rolled-back anchor: ok=%v first bad %d (%s), want %d", res.OK, res.FirstBad, res.Problem, old.Seq+1)
	}
}

// TestRestoreRecordsTheRestoreAndReanchors: a database restored from a backup looks like a
// truncation until `audit restore` records it; then the trail verifies and appends again,
// and restoring a trail that was not restored is refused.
func TestRestoreRecordsTheRestoreAndReanchors(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, exec := b.open(t)
			key := hmacKey(t)
			o := anchoredOptions(t, st, key)
			ctx := context.Background()
			in := RestoreInput{Trail: o, Keys: StaticKey(key), Operator: "admin:cli:test", Reason: "disk failure, restored last night's backup"}
			recordN(t, o, 30, "d")
			if _, err := Restore(ctx, in); !errors.Is(err, ErrNotRestored) {
				t.Fatalf("restore of an intact trail: %v, want ErrNotRestored", err)
			}
			recordN(t, o, 25, "e")
			truncateTo(t, st, exec, 33) // the backup: 33 records, the last 3 past its checkpoint
			r, err := Restore(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if r.RestoredTo != 33 || r.PreviousSeq != 55 || r.Seq != 34 {
				t.Fatalf("restored %+v, want to 33 from 55 at 34", r)
			}
			recordN(t, o, 12, "f")
			res := verifyAnchored(t, o, key)
			if !res.OK || res.Restores != 1 || res.Anchor.Seq != 46 {
				t.Fatalf("after the restore: ok=%v %d (%s), %d restores, anchor at %d", res.OK, res.FirstBad, res.Problem, res.Restores, res.Anchor.Seq)
			}
			var rec store.AuditRecord
			_ = st.AuditRange(ctx, 34, 34, func(x store.AuditRecord) error { rec = x; return nil })
			if rec.Event != EventAuditRestored || rec.Actor != in.Operator || !strings.Contains(rec.Details, `"restored_to":"33"`) {
				t.Fatalf("record 34: %s by %s %s", rec.Event, rec.Actor, rec.Details)
			}
		})
	}
}

// TestAppendsStopWhenCheckpointsCannotBeSigned: with the signer failing, the trail appends
// up to MaxUnsigned records past its last checkpoint and then refuses with ErrUnsigned.
func TestAppendsStopWhenCheckpointsCannotBeSigned(t *testing.T) {
	st, _ := openSQLite(t)
	key := hmacKey(t)
	sig := &flakySigner{Signer: transit}
	tr, err := New(Options{Store: st, Key: staticSecret(key), Signer: sig, CheckpointEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	ev := Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success}
	if err := tr.Record(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	sig.fail.Store(true)
	var written int
	for range 3 * MaxUnsigned(5) {
		err = tr.Record(context.Background(), ev)
		if err != nil {
			break
		}
		written++
	}
	if !errors.Is(err, ErrUnsigned) || int64(written+1) > MaxUnsigned(5)+1 {
		t.Fatalf("after %d unsigned appends: %v, want ErrUnsigned by %d", written, err, MaxUnsigned(5))
	}
	sig.fail.Store(false)
	if err := tr.Record(context.Background(), ev); err != nil {
		t.Fatalf("after the signer came back: %v", err)
	}
}

// TestQuietTrailIsCheckpointedWithinTheInterval: three records, far from a multiple of
// checkpoint_every, are signed by the interval checkpoint.
func TestQuietTrailIsCheckpointedWithinTheInterval(t *testing.T) {
	st, _ := openSQLite(t)
	key := hmacKey(t)
	o := anchoredOptions(t, st, key)
	o.CheckpointEvery, o.CheckpointInterval = 1000, 100*time.Millisecond
	tr, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	for range 3 {
		if err := tr.Record(context.Background(), Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		latest, err := o.Anchor.Latest(context.Background())
		if err == nil && latest.Seq == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no anchored checkpoint of record 3 within 30 s: %+v %v", latest.Seq, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// flakySigner fails while fail is set.
type flakySigner struct {
	Signer
	fail atomic.Bool
}

func (s *flakySigner) Sign(ctx context.Context, data []byte) (string, error) {
	if s.fail.Load() {
		return "", errors.New("transit unavailable")
	}
	return s.Signer.Sign(ctx, data)
}

// editedHistory is an Anchor whose History is the real one after edit (what Vault shows
// once a version was deleted or destroyed by someone holding more than the runtime policy).
type editedHistory struct {
	Anchor
	edit func([]AnchorPoint)
}

func (e editedHistory) History(ctx context.Context) ([]AnchorPoint, error) {
	h, err := e.Anchor.History(ctx)
	if err == nil {
		e.edit(h)
	}
	return h, err
}

// TestDeletedAnchorVersionFails: a version of the anchor that was deleted or destroyed fails
// verification, named after the last checkpoint anchored before it.
func TestDeletedAnchorVersionFails(t *testing.T) {
	o, key, hist := anchoredHistory(t, 35)
	o.Anchor = editedHistory{Anchor: o.Anchor, edit: func(h []AnchorPoint) { h[1] = AnchorPoint{Version: h[1].Version, Deleted: true} }}
	res := verifyAnchored(t, o, key)
	if res.OK || res.FirstBad != hist[0].Seq+1 || !strings.Contains(res.Problem, "deleted") {
		t.Fatalf("deleted version: ok=%v first bad %d (%s), want %d", res.OK, res.FirstBad, res.Problem, hist[0].Seq+1)
	}
}
