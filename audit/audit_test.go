package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

var (
	sharedVault *devstack.Vault
	transit     *vault.Transit
	// kv is a root client of sharedVault, for the audit keys' KV versions.
	kv *vault.Client
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	root, err := testkit.ArtifactsRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir := filepath.Join(root, "audit-TestMain")
	_ = os.MkdirAll(dir, 0o755)
	vlog, _ := os.Create(filepath.Join(dir, "vault.log"))
	defer vlog.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if sharedVault, err = devstack.StartVault(ctx, devstack.Options{Dir: dir, Log: vlog}); err != nil {
		fmt.Fprintln(os.Stderr, "audit tests:", err)
		return 1
	}
	defer sharedVault.Stop()
	tokenFile := filepath.Join(os.TempDir(), fmt.Sprintf("audit-vault-token-%d", os.Getpid()))
	_ = os.WriteFile(tokenFile, []byte(sharedVault.Token), 0o600)
	defer os.Remove(tokenFile)
	kv, err = vault.Dial(ctx, vault.Options{Address: sharedVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: tokenFile}})
	if err == nil {
		err = kv.EnableTransitKey(ctx, "transit", "tokenwall-audit")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "audit tests:", err)
		return 1
	}
	transit = kv.Transit("transit", "tokenwall-audit")
	code := m.Run()
	for _, f := range cleanups {
		f()
	}
	return code
}

// backend is a store under test plus a way to tamper with its rows directly.
type backend struct {
	name string
	open func(t *testing.T) (store.Store, func(query string, args ...any))
}

func backends() []backend {
	return append([]backend{{name: "sqlite", open: openSQLite}}, extraBackends...)
}

// extraBackends are added by the PostgreSQL test file, with cleanups to run after the tests.
var (
	extraBackends []backend
	cleanups      []func()
)

func openSQLite(t *testing.T) (store.Store, func(string, ...any)) {
	p := filepath.Join(testkit.ArtifactsDir(t), "audit.db")
	for _, sfx := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(p + sfx)
	}
	s, err := sqlite.Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, func(q string, args ...any) {
		t.Helper()
		if err := s.RawExec(context.Background(), q, args...); err != nil {
			t.Fatalf("tamper %q: %v", q, err)
		}
	}
}

func hmacKey(t *testing.T) []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// staticSecret is Options.Key for one key, as version 1 of the audit key.
func staticSecret(key []byte) func() (vault.Secret, error) {
	return func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, key, 1), nil }
}

// fill records n events from 4 goroutines through a Trail with a checkpoint every 10, in two
// halves with a signed checkpoint between them, so that every trail has at least two
// checkpoints however group commit batches the appends.
func fill(t *testing.T, st store.Store, key []byte, n int) {
	t.Helper()
	tr, err := New(Options{Store: st, Key: staticSecret(key), Signer: transit, CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	half := func(from, to int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := from + w; i < to; i += 4 {
					ev := Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success, SourceIP: "203.0.113.7",
						RequestID: fmt.Sprintf("req-%04d", i), Resource: "pm_1Test" + fmt.Sprint(i),
						Details: map[string]string{"brand": "visa", "last4": "4242", "route": "/checkout/submit"}}
					if err := tr.Record(context.Background(), ev); err != nil {
						t.Errorf("record: %v", err)
					}
				}
			}()
		}
		wg.Wait()
	}
	half(0, n/2)
	if err := tr.Checkpoint(context.Background()); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	half(n/2, n)
	if err := tr.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
}

func verify(t *testing.T, st store.Store, key []byte) Result {
	t.Helper()
	res, err := Verify(context.Background(), st, StaticKey(key), transit, 0, 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func TestTrailVerifiesAndCatchesTampering(t *testing.T) {
	const n = 60
	cases := []struct {
		name     string
		tamper   func(st store.Store, exec func(string, ...any))
		firstBad int64
	}{
		{name: "untouched", firstBad: 0},
		{name: "edit a field", firstBad: 17, tamper: func(_ store.Store, exec func(string, ...any)) {
			exec(`UPDATE audit_records SET outcome = 'failure' WHERE seq = $1`, 17)
		}},
		{name: "edit and recompute the hashes", firstBad: 17, tamper: func(st store.Store, exec func(string, ...any)) {
			// An attacker who knows the hash function but not the Vault-held MAC key.
			var recs []store.AuditRecord
			_ = st.AuditRange(context.Background(), 17, 0, func(r store.AuditRecord) error { recs = append(recs, r); return nil })
			prev := recs[0].PrevHash
			for i := range recs {
				if i == 0 {
					recs[i].Resource = "pm_1Forged"
				}
				recs[i].PrevHash = prev
				recs[i].Hash = recordHash(recs[i])
				prev = recs[i].Hash
				exec(`UPDATE audit_records SET resource = $1, prev_hash = $2, hash = $3 WHERE seq = $4`, recs[i].Resource, recs[i].PrevHash, recs[i].Hash, recs[i].Seq)
			}
			exec(`UPDATE audit_head SET hash = $1 WHERE id = 1`, prev)
		}},
		{name: "delete a record", firstBad: 23, tamper: func(_ store.Store, exec func(string, ...any)) {
			exec(`DELETE FROM audit_records WHERE seq = $1`, 23)
		}},
		{name: "reorder two records", firstBad: 30, tamper: func(_ store.Store, exec func(string, ...any)) {
			exec(`UPDATE audit_records SET seq = -1 WHERE seq = 30`)
			exec(`UPDATE audit_records SET seq = 30 WHERE seq = 31`)
			exec(`UPDATE audit_records SET seq = 31 WHERE seq = -1`)
		}},
		{name: "insert a record", firstBad: n + 1, tamper: func(st store.Store, exec func(string, ...any)) {
			var last store.AuditRecord
			_ = st.AuditRange(context.Background(), n, n, func(r store.AuditRecord) error { last = r; return nil })
			last.Seq, last.PrevHash, last.Resource = n+1, last.Hash, "pm_1Inserted"
			last.Hash = recordHash(last)
			exec(`INSERT INTO audit_records (seq, `+timeColumn(st)+`, actor, event, outcome, reason, source_ip, request_id, resource, details, prev_hash, hash, mac)
				SELECT $1, `+timeColumn(st)+`, actor, event, outcome, reason, source_ip, request_id, $2, details, $3, $4, mac FROM audit_records WHERE seq = $5`,
				last.Seq, last.Resource, last.PrevHash, last.Hash, n)
		}},
		{name: "truncate the tail and move the head", firstBad: 41, tamper: func(st store.Store, exec func(string, ...any)) {
			var h []byte
			_ = st.AuditRange(context.Background(), 40, 40, func(r store.AuditRecord) error { h = r.Hash; return nil })
			exec(`DELETE FROM audit_records WHERE seq > 40`)
			exec(`UPDATE audit_head SET seq = 40, hash = $1 WHERE id = 1`, h)
		}},
		{name: "forge a checkpoint signature", firstBad: -1, tamper: func(st store.Store, exec func(string, ...any)) {
			cps, _ := st.Checkpoints(context.Background(), 0, 0)
			exec(`UPDATE audit_checkpoints SET signature = $1 WHERE seq = $2`, cps[0].Signature, cps[1].Seq)
		}},
	}
	for _, b := range backends() {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				st, exec := b.open(t)
				key := hmacKey(t)
				fill(t, st, key, n)
				if tc.tamper != nil {
					tc.tamper(st, exec)
				}
				want := tc.firstBad
				if want == -1 { // the second checkpoint, wherever group commit put it
					cps, _ := st.Checkpoints(context.Background(), 0, 0)
					want = cps[1].Seq
				}
				res := verify(t, st, key)
				if res.FirstBad != want || res.OK != (tc.firstBad == 0) {
					t.Fatalf("verify: ok=%v first bad %d (%s), want %d", res.OK, res.FirstBad, res.Problem, want)
				}
				if tc.firstBad == 0 && (res.Records != n || res.Checkpoints < 2) {
					t.Fatalf("verified %d records and %d checkpoints", res.Records, res.Checkpoints)
				}
			})
		}
	}
}

// timeColumn names the time column, which differs between the backends' schemas.
func timeColumn(st store.Store) string {
	if _, ok := st.(*sqlite.Store); ok {
		return "time_us"
	}
	return "time"
}

func TestWrongKeyFailsVerification(t *testing.T) {
	st, _ := openSQLite(t)
	fill(t, st, hmacKey(t), 5)
	if res := verify(t, st, hmacKey(t)); res.OK || res.FirstBad != 1 {
		t.Fatalf("another key verified: %+v", res)
	}
}

func TestSensitiveRecordIsRefused(t *testing.T) {
	st, _ := openSQLite(t)
	key := hmacKey(t)
	tr, err := New(Options{Store: st, Key: staticSecret(key), Signer: transit})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close(context.Background())
	cases := []struct {
		name string
		ev   Event
	}{
		{name: "card in the resource", ev: Event{Type: EventCardEscapeBlocked, Actor: ActorSystem, Outcome: Failure, Resource: "4242424242424242"}},
		{name: "cvc in the details", ev: Event{Type: EventTokenize, Actor: ActorSystem, Outcome: Success, Details: map[string]string{"card_cvc": "123"}}},
		{name: "card grouped in the reason", ev: Event{Type: EventTokenizeFailed, Actor: ActorSystem, Outcome: Failure, Reason: "bad 4242 4242 4242 4242"}},
		{name: "secret in the actor", ev: Event{Type: EventAdminAccess, Actor: "sk_live_abcdefghij12345", Outcome: Success}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tr.Record(context.Background(), tc.ev); !errors.Is(err, ErrSensitive) {
				t.Fatalf("err = %v, want ErrSensitive", err)
			}
		})
	}
	if h, _ := st.AuditHead(context.Background()); h.Seq != 0 {
		t.Fatalf("a refused record was written: head %d", h.Seq)
	}
	if err := tr.Record(context.Background(), Event{Type: EventTokenize, Actor: ActorSystem}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("event without outcome: %v", err)
	}
}

func TestPruneKeepsTheTrailVerifiable(t *testing.T) {
	st, _ := openSQLite(t)
	key := hmacKey(t)
	fill(t, st, key, 45)
	// Everything older than a minute in the future: prune to the newest checkpoint.
	n, err := Prune(context.Background(), st, -time.Minute, time.Now())
	if err != nil || n == 0 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	first, _, _ := st.AuditBounds(context.Background())
	if res := verify(t, st, key); !res.OK {
		t.Fatalf("pruned trail (from %d) does not verify: %s at %d", first, res.Problem, res.FirstBad)
	}
}
