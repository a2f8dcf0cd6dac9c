package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/webhook"
)

const webhooksUsage = `Usage: linkvault webhooks set-url --client ID --url URL      (an empty --url disables delivery)
       linkvault webhooks rotate-secret --client ID [--overlap 24h]
       linkvault webhooks deliveries --client ID [--limit N] [--json]
       linkvault webhooks prune --older-than 720h                (finished events and their delivery log)`

// webhookStore is what `linkvault webhooks` needs from the database (both stores
// implement it).
type webhookStore interface {
	webhook.AdminStore
}

// webhooksCmd is `linkvault webhooks <subcommand>`: a client's webhook URL, its
// signing secrets, and the delivery log. Its flags are registered on a caller's
// FlagSet so they can sit beside --config (see runWebhooks for the standalone form).
type webhooksCmd struct {
	sub     string
	client  *string
	url     *string
	limit   *int
	overlap *time.Duration
	json    *bool // deliveries --json
}

// newWebhooksCmd registers the flags of subcommand sub on fs.
func newWebhooksCmd(sub string, fs *flag.FlagSet) (*webhooksCmd, error) {
	c := &webhooksCmd{sub: sub, client: fs.String("client", "", "client id (required)")}
	switch sub {
	case "set-url":
		c.url = fs.String("url", "", "https URL receiving the client's events (http only on loopback); empty disables delivery")
	case "rotate-secret":
		c.overlap = fs.Duration("overlap", webhook.DefaultOverlap, "how long the previous secrets keep signing")
	case "deliveries":
		c.limit = fs.Int("limit", 50, fmt.Sprintf("at most this many attempts, newest first (1-%d)", maxDeliveries))
	default:
		return nil, fmt.Errorf("unknown webhooks subcommand %q\n%s", sub, webhooksUsage)
	}
	return c, nil
}

// runWebhooksCommand is `linkvault webhooks SUBCOMMAND`: flags are parsed (-h prints
// the usage) and the master key loaded before the existing database is opened.
func runWebhooksCommand(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	sub, rest, err := subcommand("webhooks", webhooksUsage+"\n\nEvery subcommand takes --config FILE and reads the database of the configuration;\n\"linkvault webhooks SUBCOMMAND -h\" describes one.\n", args, stdout, "set-url", "rotate-secret", "deliveries", "prune")
	if err != nil {
		return err
	}
	fs := newFlags("webhooks "+sub, webhooksUsage, stdout)
	cfgPath := configFlag(fs.FlagSet)
	if sub == "prune" {
		olderThan := fs.Duration("older-than", 0, "prune finished events created longer ago than this (at least 1h)")
		if err := fs.parse(rest); err != nil {
			return err
		}
		if *olderThan == 0 {
			return usageErrorf("webhooks prune: --older-than is required (e.g. 720h)\n%s", webhooksUsage)
		}
		if *olderThan < time.Hour {
			return usageErrorf("webhooks prune: --older-than must be at least 1h (got %v)\n%s", *olderThan, webhooksUsage)
		}
		st, _, err := openConfigured(ctx, *cfgPath, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		return runWebhooksPrune(ctx, stdout, st, time.Now(), *olderThan)
	}
	c, err := newWebhooksCmd(sub, fs.FlagSet)
	if err != nil {
		return err
	}
	if sub == "deliveries" {
		c.json = jsonFlag(fs)
	}
	if err := fs.parse(rest); err != nil {
		return err
	}
	if err := fs.require("client"); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	st, ring, err := openSealing(ctx, *cfgPath, lookup)
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, st)
	return c.run(ctx, stdout, st, ring, time.Now)
}

// maxDeliveries is the most delivery attempts `webhooks deliveries` lists.
const maxDeliveries = 1000

// check rejects flag values the subcommand cannot run with, as usage errors (exit 2),
// before any database is opened.
func (c *webhooksCmd) check() error {
	if *c.client == "" {
		return usageErrorf("webhooks %s: --client is required\n%s", c.sub, webhooksUsage)
	}
	if c.overlap != nil && *c.overlap <= 0 {
		return usageErrorf("webhooks %s: --overlap must be a positive duration, e.g. 24h", c.sub)
	}
	if c.limit != nil && (*c.limit < 1 || *c.limit > maxDeliveries) {
		return usageErrorf("webhooks %s: --limit must be between 1 and %d, got %d", c.sub, maxDeliveries, *c.limit)
	}
	return nil
}

// run executes the parsed subcommand.
func (c *webhooksCmd) run(ctx context.Context, stdout io.Writer, st webhookStore, sealer linkvault.Sealer, now func() time.Time) error {
	if err := c.check(); err != nil {
		return err
	}
	var overlap time.Duration
	if c.overlap != nil {
		overlap = *c.overlap
	}
	admin := webhook.NewAdmin(st, sealer, now, overlap)
	switch c.sub {
	case "set-url":
		rot, err := admin.SetURL(ctx, *c.client, *c.url)
		if err != nil {
			return err
		}
		if *c.url == "" {
			fmt.Fprintf(stdout, "webhook delivery disabled for client %s (pending events will be skipped)\n", *c.client)
			return nil
		}
		fmt.Fprintf(stdout, "webhook URL of client %s set to %s\n", *c.client, *c.url)
		if !rot.Secret.IsZero() {
			printSecret(stdout, rot)
		}
		return nil
	case "rotate-secret":
		rot, err := admin.RotateSecret(ctx, *c.client)
		if err != nil {
			return err
		}
		printSecret(stdout, rot)
		if !rot.PreviousUntil.IsZero() {
			fmt.Fprintf(stdout, "  previous secrets keep signing until %s: update the receiver before then\n", rot.PreviousUntil.UTC().Format(time.RFC3339))
		}
		return nil
	case "deliveries":
		log, err := admin.Deliveries(ctx, *c.client, *c.limit)
		if err != nil {
			return err
		}
		if c.json != nil && *c.json {
			out := make([]deliveryLine, 0, len(log))
			for _, d := range log {
				out = append(out, deliveryLine{AttemptedAt: d.AttemptedAt.UTC(), EventID: d.EventID, EventType: d.EventType,
					Attempt: d.Attempt, StatusCode: d.StatusCode, ErrorCode: d.ErrorCode, DurationMS: float64(d.Duration.Microseconds()) / 1000})
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ATTEMPTED\tEVENT\tTYPE\tATTEMPT\tSTATUS\tERROR\tDURATION")
		for _, d := range log {
			status, errCode := "-", "-"
			if d.StatusCode != 0 {
				status = fmt.Sprint(d.StatusCode)
			}
			if d.ErrorCode != "" {
				errCode = d.ErrorCode
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", d.AttemptedAt.UTC().Format(time.RFC3339), d.EventID, d.EventType,
				d.Attempt, status, errCode, d.Duration)
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown webhooks subcommand %q\n%s", c.sub, webhooksUsage)
}

// printSecret shows a new signing secret, the only time it is ever shown.
func printSecret(w io.Writer, rot webhook.Rotation) {
	fmt.Fprintf(w, "new signing secret v%d (shown only now; give it to the receiver, which verifies the webhook-signature header):\n  %s\n",
		rot.Version, rot.Secret.Reveal())
}

// deliveryLine is a delivery attempt in --json output.
type deliveryLine struct {
	AttemptedAt time.Time `json:"attemptedAt"`
	EventID     string    `json:"eventId"`
	EventType   string    `json:"eventType"`
	Attempt     int       `json:"attempt"`
	StatusCode  int       `json:"statusCode,omitempty"`
	ErrorCode   string    `json:"errorCode,omitempty"`
	DurationMS  float64   `json:"durationMs"`
}

// runWebhooksPrune is `linkvault webhooks prune --older-than D`: it deletes delivered,
// failed and skipped events created more than D ago, with their delivery log (events
// still awaiting delivery are kept). Operators run it periodically; the outbox otherwise
// keeps every event.
func runWebhooksPrune(ctx context.Context, stdout io.Writer, st webhook.Pruner, now time.Time, olderThan time.Duration) error {
	n, err := app.PruneAll(ctx, st.PruneWebhookEvents, now.Add(-olderThan))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "pruned %d finished webhook events older than %v (and their delivery log)\n", n, olderThan)
	return nil
}
