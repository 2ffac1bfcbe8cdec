package webhooks_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/store/postgres"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
	"github.com/tokenwall/tokenwall/webhooks"
)

// pgCluster is one throwaway PostgreSQL cluster shared by a test or benchmark function and
// its subtests. It starts when the first of them asks for a database, so a run filtered to
// the SQLite cases starts none, and stops when the top-level function ends. Its server log is
// postgres.log in the top-level function's artifacts folder.
type pgCluster struct {
	top testing.TB
	dir string

	mu  sync.Mutex
	c   *pgtest.Cluster
	err error
	dbs int
}

// newPGCluster prepares the shared cluster of top; call it from top's own goroutine.
func newPGCluster(top testing.TB) *pgCluster {
	top.Helper()
	return &pgCluster{top: top, dir: testkit.ArtifactsDir(top)}
}

// database creates a fresh database on the cluster, starting the cluster first if need be,
// and returns its DSN. tb is the (sub)test that needs it and fails if it cannot have it.
func (p *pgCluster) database(tb testing.TB) string {
	tb.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.c == nil && p.err == nil {
		p.c, p.err = p.start()
	}
	if p.err != nil {
		tb.Fatalf("pgtest: %v", p.err)
	}
	p.dbs++
	dsn, err := p.c.NewDatabase(context.Background(), fmt.Sprintf("webhooks_%d", p.dbs))
	if err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// start runs the cluster and registers its stop on top. top.Cleanup may be called from a
// subtest's goroutine; top's cleanups run after every subtest's, so each subtest's pools are
// closed before the server goes.
func (p *pgCluster) start() (*pgtest.Cluster, error) {
	log, err := os.Create(filepath.Join(p.dir, "postgres.log"))
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	c, err := pgtest.Start(context.Background(), "", log)
	if err != nil {
		_ = log.Close()
		return nil, err
	}
	p.top.Cleanup(func() {
		if err := c.Stop(); err != nil {
			p.top.Errorf("pgtest: %v", err)
		}
		_ = log.Close()
	})
	return c, nil
}

// pgReplica is one tokenwall replica on a shared PostgreSQL database, as in production: its
// own connection pool, its own audit trail appending to the one chain, a Receiver and,
// once newDeliverer has run, a Deliverer the Receiver kicks.
type pgReplica struct {
	name  string
	st    *postgres.Store
	trail *audit.Trail
	recv  *webhooks.Receiver
	d     *webhooks.Deliverer
}

// newPGReplica opens a replica named name on dsn. signer stands in for the Vault transit
// key every replica shares; the store and trail are closed when tb ends.
func newPGReplica(tb testing.TB, dsn, name string, signer audit.Signer) *pgReplica {
	tb.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	tr, err := audit.New(audit.Options{Store: st, Key: func() (vault.Secret, error) { return vault.NewSecret(vault.SecretAuditKey, auditKey, 1), nil }, Signer: signer})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = tr.Close(context.Background()) }) // cleanups run last-first: trail, then store
	r := &pgReplica{name: name, st: st, trail: tr}
	r.recv, err = webhooks.NewReceiver(webhooks.ReceiverOptions{
		Secrets: func() ([][]byte, error) { return [][]byte{secretNew}, nil },
		Store:   st,
		Audit:   tr,
		Now:     time.Now,
		Judge:   proxy.WebhookVerdict,
		// Set before the first Receive, so reading r.d here needs no lock.
		Notify: func() {
			if r.d != nil {
				r.d.Kick()
			}
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// newDeliverer gives the replica its Deliverer, owner r.name, on the real clock, posting to
// url with client; edit changes the options first. Call it before the first Receive.
func (r *pgReplica) newDeliverer(tb testing.TB, url string, client *http.Client, edit func(*webhooks.DelivererOptions)) *webhooks.Deliverer {
	tb.Helper()
	o := webhooks.DelivererOptions{
		URL: url, Client: client,
		SigningKey: func() ([]byte, error) { return signingKey, nil },
		// The transition, as tokenwall's default: the test apps verify v1.
		SignV1: true,
		Store:  r.st, Audit: r.trail, Owner: r.name,
		Now: time.Now,
	}
	if edit != nil {
		edit(&o)
	}
	d, err := webhooks.NewDeliverer(o)
	if err != nil {
		tb.Fatal(err)
	}
	r.d = d
	return d
}
