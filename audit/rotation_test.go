package audit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
)

// TestRecordHashKnownAnswers pins the encoding: a record without a key version hashes and
// MACs exactly as tokenwall did before records named one (the values were computed with
// that code), so trails written then keep verifying; naming a version changes the hash.
func TestRecordHashKnownAnswers(t *testing.T) {
	r := store.AuditRecord{Seq: 42, Time: time.Date(2026, 11, 28, 9, 30, 0, 123456000, time.UTC), Actor: "system", Event: "tokenize",
		Outcome: "success", SourceIP: "203.0.113.7", RequestID: "req-1", Resource: "pm_1Test",
		Details: `{"brand":"visa","last4":"4242"}`, PrevHash: []byte("0123456789abcdef0123456789abcdef")}
	legacy := recordHash(r)
	if got := hex.EncodeToString(legacy); got != "2824c510ce23668fc997999d09ffffde3a5d32522ce27527d1e4c4c1483a085a" {
		t.Fatalf("legacy hash changed: %s", got)
	}
	if got := hex.EncodeToString(recordMAC([]byte("legacy-audit-key"), legacy)); got != "df3277d2767e05b5c78e5b8894ef2c5e561bbad4538212123c6465652700c7de" {
		t.Fatalf("legacy MAC changed: %s", got)
	}
	seen := map[string]int{hex.EncodeToString(legacy): 0}
	for _, v := range []int{1, 2, 1 << 40} {
		r.KeyVersion = v
		h := hex.EncodeToString(recordHash(r))
		if prev, ok := seen[h]; ok {
			t.Fatalf("key version %d hashes like version %d", v, prev)
		}
		seen[h] = v
	}
}

// rotatingKey is an audit key in the shared dev Vault at a path of the test's own, read
// through a vault.Cache as tokenwall reads it.
type rotatingKey struct {
	path  string
	cache *vault.Cache
}

func newRotatingKey(t *testing.T) *rotatingKey {
	t.Helper()
	path := "tokenwall/audit-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	k := &rotatingKey{path: path, cache: vault.NewCache(kv, vault.CacheOptions{
		Paths: map[string]string{vault.SecretAuditKey: path}, RefreshInterval: time.Hour, MaxAge: time.Hour})}
	k.rotate(t)
	return k
}

// rotate writes a new random key as the next KV version (check-and-set) and refreshes the
// cache, as a running tokenwall does on its next refresh.
func (k *rotatingKey) rotate(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	cur := 0
	if vs, err := kv.KVVersions(ctx, k.path); err == nil && len(vs) > 0 {
		cur = vs[len(vs)-1]
	}
	if err := kv.WriteKVCAS(ctx, k.path, hex.EncodeToString(hmacKey(t)), cur); err != nil {
		t.Fatal(err)
	}
	if err := k.cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := k.cache.Get(vault.SecretAuditKey)
	if s.Version() != cur+1 {
		t.Fatalf("after rotation the cache holds version %d, want %d", s.Version(), cur+1)
	}
	return s.Version()
}

func (k *rotatingKey) get() (vault.Secret, error) { return k.cache.Get(vault.SecretAuditKey) }

// record appends n events one by one.
func record(t *testing.T, tr *Trail, n int, resource string) {
	t.Helper()
	for i := range n {
		ev := Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success, Resource: fmt.Sprintf("%s%d", resource, i)}
		if err := tr.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
}

// rotatedTrail writes 5 records with key version 1, rotates the key, and writes 5 more with
// version 2, with checkpoints every 4.
func rotatedTrail(t *testing.T, st store.Store) *rotatingKey {
	t.Helper()
	k := newRotatingKey(t)
	tr, err := New(Options{Store: st, Key: k.get, Signer: transit, CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	record(t, tr, 5, "pm_1Before")
	k.rotate(t)
	record(t, tr, 5, "pm_1After")
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k
}

func verifyWith(t *testing.T, st store.Store, keys Keys) Result {
	t.Helper()
	res, err := Verify(context.Background(), st, keys, transit, 0, 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func TestRotationMidTrailVerifies(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			k := rotatedTrail(t, st)
			var versions []int
			_ = st.AuditRange(context.Background(), 0, 0, func(r store.AuditRecord) error {
				versions = append(versions, r.KeyVersion)
				return nil
			})
			if fmt.Sprint(versions) != "[1 1 1 1 1 2 2 2 2 2]" {
				t.Fatalf("records name key versions %v", versions)
			}
			if res := verifyWith(t, st, VaultKeys(kv, k.path, 0)); !res.OK || res.Records != 10 || res.Checkpoints < 2 {
				t.Fatalf("rotated trail: %+v", res)
			}
			// The latest key alone, as before records named their version, fails the first.
			latest, _ := k.get()
			if res := verifyWith(t, st, StaticKey(latest.Reveal())); res.OK || res.FirstBad != 1 {
				t.Fatalf("latest key alone: %+v", res)
			}
		})
	}
}

// TestRecordClaimingAnotherKeyVersionFails edits record 3 (MACed with version 1) to name
// another version; verification fails and names record 3 whatever else the editor fixes up.
func TestRecordClaimingAnotherKeyVersionFails(t *testing.T) {
	cases := []struct {
		name     string
		version  int
		rehash   bool // recompute the hashes from record 3 on, as one who knows SHA-256 can
		contains string
	}{
		{name: "claims the newer version", version: 2, contains: "hash does not match"},
		{name: "claims the newer version, hashes recomputed", version: 2, rehash: true, contains: "version 2 of the audit key did not make"},
		{name: "claims no version, hashes recomputed", version: 0, rehash: true, contains: "legacy audit key did not make"},
		{name: "claims a version Vault lacks, hashes recomputed", version: 9, rehash: true, contains: "cannot be read"},
	}
	for _, b := range backends() {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				st, exec := b.open(t)
				k := rotatedTrail(t, st)
				exec(`UPDATE audit_records SET key_version = $1 WHERE seq = 3`, tc.version)
				if tc.rehash {
					rehashFrom(t, st, exec, 3)
				}
				res := verifyWith(t, st, VaultKeys(kv, k.path, 0))
				if res.OK || res.FirstBad != 3 || !strings.Contains(res.Problem, "record 3 ") || !strings.Contains(res.Problem, tc.contains) {
					t.Fatalf("verify: ok=%v first bad %d (%s); want record 3: %q", res.OK, res.FirstBad, res.Problem, tc.contains)
				}
			})
		}
	}
}

// rehashFrom recomputes the hashes and links of the records from seq on and the head, as
// an editor without the MAC key can.
func rehashFrom(t *testing.T, st store.Store, exec func(string, ...any), seq int64) {
	t.Helper()
	var recs []store.AuditRecord
	_ = st.AuditRange(context.Background(), seq, 0, func(r store.AuditRecord) error { recs = append(recs, r); return nil })
	prev := recs[0].PrevHash
	for _, r := range recs {
		r.PrevHash = prev
		r.Hash = recordHash(r)
		prev = r.Hash
		exec(`UPDATE audit_records SET prev_hash = $1, hash = $2 WHERE seq = $3`, r.PrevHash, r.Hash, r.Seq)
	}
	exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, prev)
}

// TestLegacyRecordsVerifyAfterUpgrade: records that name no key version (as tokenwall wrote
// before schema 3) followed by versioned ones and a rotation verify with the legacy rule:
// the lowest version Vault keeps, or the one given when the key was rotated before the
// upgrade.
func TestLegacyRecordsVerifyAfterUpgrade(t *testing.T) {
	cases := []struct {
		name          string
		rotateBefore  bool // the key went to version 2 before the upgrade
		legacy        int
		wantFirstBad  int64
		wantInProblem string
	}{
		{name: "never rotated before: lowest version", wantFirstBad: 0},
		{name: "rotated before: lowest version is wrong", rotateBefore: true, wantFirstBad: 1, wantInProblem: "legacy audit key"},
		{name: "rotated before: legacy version given", rotateBefore: true, legacy: 2, wantFirstBad: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			k := newRotatingKey(t)
			if tc.rotateBefore {
				k.rotate(t)
			}
			// The old tokenwall: the current key, no version named.
			old, err := New(Options{Store: st, Signer: transit, CheckpointEvery: 4, Key: func() (vault.Secret, error) {
				s, err := k.get()
				return vault.NewSecret(s.Name(), s.Reveal(), 0), err
			}})
			if err != nil {
				t.Fatal(err)
			}
			record(t, old, 5, "pm_1Legacy")
			if err := old.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The upgraded one, then a rotation.
			tr, err := New(Options{Store: st, Key: k.get, Signer: transit, CheckpointEvery: 4})
			if err != nil {
				t.Fatal(err)
			}
			record(t, tr, 3, "pm_1Upgraded")
			k.rotate(t)
			record(t, tr, 3, "pm_1Rotated")
			if err := tr.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			res := verifyWith(t, st, VaultKeys(kv, k.path, tc.legacy))
			if res.FirstBad != tc.wantFirstBad || res.OK != (tc.wantFirstBad == 0) || !strings.Contains(res.Problem, tc.wantInProblem) {
				t.Fatalf("verify: %+v; want first bad %d naming %q", res, tc.wantFirstBad, tc.wantInProblem)
			}
		})
	}
}

// TestVerifyStopsWhenKeysFail: an error other than a missing version (Vault unreachable)
// is Verify's error, not a verdict on the trail.
func TestVerifyStopsWhenKeysFail(t *testing.T) {
	st, _ := openSQLite(t)
	fill(t, st, hmacKey(t), 4)
	down := errors.New("vault unreachable")
	_, err := Verify(context.Background(), st, func(context.Context, int) ([]byte, error) { return nil, down }, transit, 0, 0)
	if !errors.Is(err, down) {
		t.Fatalf("err = %v, want the keys' error", err)
	}
}
