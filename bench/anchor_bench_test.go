package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/vault"
)

// BenchmarkAuditAnchor: appends through the trail with each checkpoint anchored in the
// package's real Vault (KV v2, check-and-set) and without an anchor, in the same run, 32
// writers, a checkpoint every 1000 records (the default) and so an anchor write every 1000; it prints the
// ratio, which issue 12 wants at 0.9 or more (anchoring runs off the append path).
func BenchmarkAuditAnchor(b *testing.B) {
	kv, err := vault.Dial(context.Background(), vault.Options{Address: benchVault.Addr, Timeout: 5 * time.Second, KVMount: "secret",
		Auth: vault.Auth{Method: "token", TokenFile: benchTokenFile}})
	if err != nil {
		b.Fatal(err)
	}
	perSec := map[bool]float64{}
	for _, anchored := range []bool{false, true} {
		b.Run(fmt.Sprintf("anchor=%v", anchored), func(b *testing.B) {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "anchor.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = st.Close() })
			o := audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, benchKey, 1), nil },
				Signer: benchSigner, CheckpointEvery: 1000}
			if anchored {
				o.Anchor = audit.NewVaultAnchor(kv, "bench/audit-anchor-"+scrub.NewLetterID(8))
			}
			tr, err := audit.New(o)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = tr.Close(context.Background()) })
			perSec[anchored], _ = runAppends(b, 32, func(i int) error { return tr.Record(context.Background(), benchEvent(i)) })
		})
	}
	if perSec[false] > 0 {
		fmt.Printf("BenchmarkAuditAnchor: anchored %.0f appends/s, not anchored %.0f appends/s, ratio %.2f (target >= 0.9)\n",
			perSec[true], perSec[false], perSec[true]/perSec[false])
	}
}
