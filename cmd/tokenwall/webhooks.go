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

// webhooksCmd shows the webhook outbox or replays a dead event. Payloads are never shown:
// a delivered event has none left, and a pending one is the app's business.
type webhooksCmd struct {
	List   webhooksListCmd   `cmd:"" help:"Show the webhook outbox, newest first (never a payload)."`
	Replay webhooksReplayCmd `cmd:"" help:"Send a dead webhook event again (audited)."`
}

// webhooksListCmd is webhooks list.
type webhooksListCmd struct {
	configFlag
	Status string `placeholder:"STATUS" help:"Only events with this status: pending, delivered or dead."`
	Limit  int    `default:"100" placeholder:"N" help:"At most this many events."`
	JSON   bool   `name:"json" help:"One JSON object a line."`
}

// Validate checks --status and --limit before anything is opened.
func (c *webhooksListCmd) Validate() error {
	switch {
	case c.Status != "" && c.Status != store.StatusPending && c.Status != store.StatusDelivered && c.Status != store.StatusDead:
		return fmt.Errorf("--status %q is not one of pending, delivered, dead", c.Status)
	case c.Limit < 1:
		return fmt.Errorf("--limit must be at least 1")
	}
	return nil
}

func (c *webhooksListCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(_ *adminConn, st store.Store) int {
		items, err := st.ListOutbox(e.ctx, c.Status, c.Limit)
		if err != nil {
			return fail(e.stderr, 2, err)
		}
		if err := writeOutbox(e.stdout, items, c.JSON); err != nil {
			return fail(e.stderr, 2, err)
		}
		return 0
	})
}

// webhooksReplayCmd is webhooks replay.
type webhooksReplayCmd struct {
	configFlag
	EventID string `arg:"" name:"event-id" help:"The dead event's id (evt_...)."`
}

func (c *webhooksReplayCmd) run(e cmdEnv) int {
	return withAdmin(e, c.configFlag, func(ac *adminConn, st store.Store) int {
		if err := replayWebhook(e.ctx, ac, st, c.EventID); err != nil {
			if errors.Is(err, webhooks.ErrNotDead) || errors.Is(err, webhooks.ErrUnknownEvent) || errors.Is(err, webhooks.ErrPayloadErased) {
				return fail(e.stderr, 1, err)
			}
			return fail(e.stderr, 2, err)
		}
		fmt.Fprintf(e.stdout, "replayed %s: pending, due now; a running tokenwall delivers it at its next round\n", c.EventID)
		return 0
	})
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
