package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store/pgtest"
	"github.com/tokenwall/tokenwall/testkit"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tokenwallBinary builds cmd/tokenwall once for the package: the test runs the real
// `tokenwall scan` a merchant's auditor would run.
func tokenwallBinary(t *testing.T) string {
	buildOnce.Do(func() {
		root, err := devstack.RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "tokenwall-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tokenwall")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/tokenwall")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// scan runs `tokenwall scan` and fails the test unless it exits 0 (nothing found).
func scan(t *testing.T, paths ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(tokenwallBinary(t), append([]string{"scan"}, paths...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil || !strings.Contains(errb.String(), ": 0 findings") {
		t.Fatalf("tokenwall scan %v: %v\nfindings:\n%s\n%s", paths, err, out.String(), errb.String())
	}
}

// testCards are Stripe test cards of every brand, with a valid CVC length and expiry.
var testCards = []struct{ number, cvc string }{
	{"4242424242424242", "123"}, {"5555 5555 5555 4444", "123"}, {"2223003122003222", "123"},
	{"3782 822463 10005", "1234"}, {"6011111111111117", "123"}, {"3566002020360505", "123"},
	{"36227206271667", "123"}, {"6200000000000005", "123"}, {"4000-0566-5566-5556", "123"},
}

// driveTransactions sends n checkouts: most tokenize, some carry a bad card, some a card on
// a path that must refuse it; with webhooks on, some are gateway events carrying a card
// number in their metadata, and it waits until those are delivered (and purged).
func driveTransactions(t *testing.T, h *harness, n int) (ok int) {
	var events []string
	defer func() { h.waitDelivered(events...) }()
	for i := range n {
		c := testCards[i%len(testCards)]
		if h.whsec != "" && i%10 == 6 {
			id := fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYa%07d", i)
			if resp, _ := h.sendEvent(gatewayEvent(id, "charge.succeeded", "card "+c.number+" cvc "+c.cvc), "", time.Now()); resp.StatusCode != http.StatusOK {
				t.Fatalf("event %s: %d", id, resp.StatusCode)
			}
			events = append(events, id)
			continue
		}
		switch i % 10 {
		case 7: // Luhn-invalid: refused before the gateway
			h.post("/checkout/submit", formCT, formBody("order_id", fmt.Sprint(i), "card_number", "4242424242424241", "card_exp", "12/34", "card_cvc", "123"))
		case 8: // a card on a path that is not a tokenization route
			h.post("/orders/notes", formCT, formBody("note", c.number))
		case 9:
			h.post("/api/checkout", "application/json", []byte(fmt.Sprintf(
				`{"order":{"id":"%d"},"payment":{"card":{"number":"%s","exp_month":"12","exp_year":"2034","cvc":"%s"}}}`, i, c.number, c.cvc)))
		default:
			resp, _ := h.post("/checkout/submit", formCT, formBody("order_id", fmt.Sprint(i), "card_name", "Ada Lovelace",
				"card_number", c.number, "card_exp", "12/34", "card_cvc", c.cvc))
			if resp.StatusCode == http.StatusOK {
				ok++
			}
		}
	}
	return ok
}

// TestNothingSensitiveRemainsAfterTransactions drives 300 transactions (30 of them gateway
// webhook events with a card number in their metadata), then runs
// `tokenwall scan` over what tokenwall stored: the SQLite file (and its WAL), and a pg_dump
// of the PostgreSQL database. Nothing may be found.
func TestNothingSensitiveRemainsAfterTransactions(t *testing.T) {
	const n = 300
	t.Run("sqlite", func(t *testing.T) {
		h := newHarness(t, options{webhooks: true})
		if ok := driveTransactions(t, h, n); ok < n/2 {
			t.Fatalf("only %d tokenizations succeeded", ok)
		}
		if len(h.events("tokenize")) < n/2 || len(h.events("webhook_delivered")) != n/10 {
			t.Fatal("the audit trail does not hold the tokenizations and the webhook deliveries")
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		scan(t, filepath.Dir(h.dbPath))
	})
	t.Run("postgres", func(t *testing.T) {
		c := pgtest.StartT(t)
		ctx := context.Background()
		dsn, err := c.NewDatabase(ctx, "aftertx")
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, options{postgresDSN: dsn, webhooks: true})
		if ok := driveTransactions(t, h, n); ok < n/2 {
			t.Fatalf("only %d tokenizations succeeded", ok)
		}
		if err := h.stop(); err != nil {
			t.Fatal(err)
		}
		dump, err := c.Dump(ctx, "aftertx")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(dump, []byte("tokenize")) || !bytes.Contains(dump, []byte("card_escape_blocked")) ||
			!bytes.Contains(dump, []byte("webhook_delivered")) {
			t.Fatal("the dump does not hold the audit trail")
		}
		dumpPath := filepath.Join(testkit.ArtifactsDir(t), "pg_dump.sql")
		if err := os.WriteFile(dumpPath, dump, 0o600); err != nil {
			t.Fatal(err)
		}
		scan(t, dumpPath)
	})
}
