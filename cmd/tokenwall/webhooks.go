package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/webhooks"
)

const webhooksUsage = `usage:
  tokenwall webhooks list [--status pending|delivered|dead] [--limit N] [--json] --config FILE
  tokenwall webhooks replay --config FILE EVENT_ID
`

// runWebhooks shows the webhook outbox or replays a dead event. Payloads are never shown:
// a delivered event has none left, and a pending one is the app's business.
func runWebhooks(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
		fmt.Fprint(stderr, webhooksUsage)
		return 2
	}
	sub := args[0]
	fs, path := configFlags("webhooks "+sub, stderr)
	status := fs.String("status", "", "list: only events with this status (pending, delivered, dead)")
	limit := fs.Int("limit", 100, "list: at most this many events, newest first")
	asJSON := fs.Bool("json", false, "list: one JSON object per line")
	cfg, code := parseAndLoad(fs, path, args[1:], stderr, 2)
	if code != 0 {
		return code
	}
	switch {
	case sub == "list" && fs.NArg() != 0, sub == "replay" && fs.NArg() != 1:
		fmt.Fprint(stderr, webhooksUsage)
		return 2
	case *status != "" && *status != store.StatusPending && *status != store.StatusDelivered && *status != store.StatusDead:
		fmt.Fprintf(stderr, "tokenwall: --status %q is not one of pending, delivered, dead\n", *status)
		return 2
	case *limit < 1:
		fmt.Fprintf(stderr, "tokenwall: --limit must be at least 1\n")
		return 2
	}
	ac, st, err := openAdmin(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		return 2
	}
	defer st.Close()
	if sub == "list" {
		items, err := st.ListOutbox(ctx, *status, *limit)
		if err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		if err := writeOutbox(stdout, items, *asJSON); err != nil {
			fmt.Fprintf(stderr, "tokenwall: %v\n", err)
			return 2
		}
		return 0
	}
	if err := replayWebhook(ctx, ac, st, fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "tokenwall: %v\n", err)
		if errors.Is(err, webhooks.ErrNotDead) || errors.Is(err, webhooks.ErrUnknownEvent) || errors.Is(err, webhooks.ErrPayloadErased) {
			return 1
		}
		return 2
	}
	fmt.Fprintf(stdout, "replayed %s: pending, due now; a running tokenwall delivers it at its next round\n", fs.Arg(0))
	return 0
}

// writeOutbox prints items as a table, or as JSON lines.
func writeOutbox(w io.Writer, items []store.OutboxItem, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		for _, it := range items {
			if err := enc.Encode(webhooks.Summarize(it)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT ID\tTYPE\tSTATUS\tATTEMPTS\tRECEIVED\tNEXT / DELIVERED\tLAST ERROR")
	for _, it := range items {
		l := webhooks.Summarize(it)
		when := "-"
		if l.NextAttempt != nil {
			when = "next " + l.NextAttempt.Format(time.RFC3339)
		} else if l.DeliveredAt != nil {
			when = l.DeliveredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", l.ID, l.Type, l.Status, l.Attempts, l.ReceivedAt.Format(time.RFC3339), when, oneLine(l.LastError))
	}
	return tw.Flush()
}

func oneLine(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}

// replayWebhook replays a dead event through a trail of its own, closed (with a signed
// checkpoint) before it returns.
func replayWebhook(ctx context.Context, ac *adminConn, st store.Store, id string) error {
	trail, err := ac.trail(st)
	if err != nil {
		return err
	}
	replayErr := webhooks.Replay(ctx, st, trail, id, operator("cli"), "", "", time.Now())
	if err := trail.Close(ctx); err != nil {
		return errors.Join(replayErr, fmt.Errorf("audit: %w", err))
	}
	return replayErr
}

// operator names who ran a maintenance command, for the audit trail: "admin:cli:USER".
func operator(via string) string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return audit.ActorAdmin + ":" + via + ":" + name
}
