package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// TestWebhooksListAndReplay: `tokenwall webhooks list` shows the outbox without payloads and
// filters by status; `tokenwall webhooks replay` makes a dead event pending, refuses one that
// is not dead or does not exist, and every replay (done or refused) is in the audit trail,
// which still verifies.
func TestWebhooksListAndReplay(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx := context.Background()
	seedDeadAndPending(t, ctx, cfg.Store.SQLitePath)
	checkWebhooksList(t, cfgPath)

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"replay a dead event", []string{"replay", "--config", cfgPath, "evt_dead"}, 0, ""},
		{"replay it again", []string{"replay", "--config", cfgPath, "evt_dead"}, 1, "only a dead event can be replayed: evt_dead is pending"},
		{"replay an unknown id", []string{"replay", "--config", cfgPath, "evt_nope"}, 1, `no such event: "evt_nope"`},
		{"replay without an id", []string{"replay", "--config", cfgPath}, 2, "usage"},
		{"list with a bad status", []string{"list", "--status", "lost", "--config", cfgPath}, 2, `--status "lost" is not one of`},
		{"list with a bad limit", []string{"list", "--limit", "0", "--config", cfgPath}, 2, "--limit must be at least 1"},
		{"unknown subcommand", []string{"purge", "--config", cfgPath}, 2, "usage"},
	}
	for _, tc := range tests {
		code, _, errb := runCmd(t, append([]string{"webhooks"}, tc.args...)...)
		if code != tc.wantCode || !strings.Contains(errb, tc.wantErr) {
			t.Errorf("%s: exit %d %q, want %d with %q", tc.name, code, errb, tc.wantCode, tc.wantErr)
		}
	}

	checkReplayRecorded(t, ctx, cfg.Store.SQLitePath, cfgPath)
}

// seedDeadAndPending puts two events into the outbox of the SQLite store at path:
// evt_dead, claimed and given up after the app answered 500, and evt_pending.
func seedDeadAndPending(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	for _, id := range []string{"evt_dead", "evt_pending"} {
		if _, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: id, Type: "charge.failed", Payload: []byte(`{"id":"` + id + `","note":"payload-marker"}`),
			Digest: make([]byte, 32), CreatedAt: now, NextAttempt: now}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClaimOutbox(ctx, "replica-x", 1, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadOutbox(ctx, "evt_dead", "replica-x", "app answered 500"); err != nil {
		t.Fatal(err)
	}
}

// checkWebhooksList checks `tokenwall webhooks list` on the seeded outbox: every event
// with the dead one's last error and no payload, and with --status dead --json only the
// dead event, its payload marked as kept but not shown.
func checkWebhooksList(t *testing.T, cfgPath string) {
	t.Helper()
	code, out, errb := runCmd(t, "webhooks", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "EVENT ID") || !strings.Contains(out, "evt_dead") || !strings.Contains(out, "evt_pending") ||
		!strings.Contains(out, "app answered 500") || strings.Contains(out, "payload-marker") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errb)
	}
	code, out, _ = runCmd(t, "webhooks", "list", "--status", "dead", "--json", "--config", cfgPath)
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"id":"evt_dead"`) || !strings.Contains(out, `"payload_kept":true`) ||
		strings.Contains(out, "payload-marker") {
		t.Fatalf("list --status dead --json: exit %d\n%s", code, out)
	}
}

// checkReplayRecorded checks, in the SQLite store at path, that the replayed evt_dead is
// pending and due, and that the audit trail holds the three replays (one done, two refused)
// by the CLI's admin and still verifies.
func checkReplayRecorded(t *testing.T, ctx context.Context, path, cfgPath string) {
	t.Helper()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	it, err := s.GetOutbox(ctx, "evt_dead")
	if err != nil || it.Status != store.StatusPending || it.NextAttempt.After(time.Now()) {
		t.Fatalf("after replay: %+v %v", it, err)
	}
	var outcomes []string
	if err := s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if r.Event == audit.EventWebhookReplayed {
			if !strings.HasPrefix(r.Actor, "admin:cli:") {
				t.Errorf("replay actor %q, want admin:cli:USER", r.Actor)
			}
			outcomes = append(outcomes, r.Outcome+"/"+r.Reason)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(outcomes, ","); got != "success/,failure/not_dead,failure/unknown_event" {
		t.Fatalf("webhook_replayed records %s", got)
	}
	if code, out, _ := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 || !strings.Contains(out, "audit trail OK") {
		t.Fatalf("audit verify after replays: exit %d %q", code, out)
	}
}
