package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/vault"
)

const auditUsage = "Usage: linkvault audit --client ID [--token TOKENID] [--since DURATION] [--limit N] [--json]\n" +
	"       linkvault audit --prune-older-than DURATION   (retention: deletes older entries of every client)"

// auditStore is what `linkvault audit` reads.
type auditStore interface {
	ListAudit(ctx context.Context, q linkvault.AuditQuery) ([]linkvault.AuditEntry, error)
	GetClient(ctx context.Context, id string) (*linkvault.Client, error)
	PruneAudit(ctx context.Context, before time.Time, limit int) (int64, error)
}

// auditCmd is `linkvault audit`: the trail of every use of a client's tokenIds, newest
// first. Its flags are registered on a caller's flags so they can sit beside --config
// (runAuditCommand) or stand alone (runAudit).
type auditCmd struct {
	client, token *string
	since         *time.Duration
	limit         *int
	json          *bool
	prune         *time.Duration
}

func newAuditCmd(fs *flags) *auditCmd {
	return &auditCmd{
		client: fs.String("client", "", "client id (required)"),
		token:  fs.String("token", "", "only uses of this tokenId (also finds probes with it by other clients' keys: matched by fingerprint; with the master key configured, also the entries of the removed connection it was)"),
		since:  fs.Duration("since", 0, "only entries newer than this, e.g. 24h (default: no bound)"),
		limit:  fs.Int("limit", linkvault.AuditDefaultLimit, fmt.Sprintf("at most this many entries (1-%d)", linkvault.AuditMaxLimit)),
		json:   fs.Bool("json", false, "print one JSON object per line instead of a table"),
		prune:  fs.Duration("prune-older-than", 0, "delete the entries of every client older than this (at least 1h), e.g. 2160h, and print how many"),
	}
}

// runAuditCommand is `linkvault audit`: flags are parsed (-h prints the usage) before
// the existing database is opened.
func runAuditCommand(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	fs := newFlags("audit", auditUsage, stdout)
	cfgPath := configFlag(fs.FlagSet)
	cmd := newAuditCmd(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cmd.check(); err != nil {
		return err
	}
	st, cfg, err := openConfigured(ctx, *cfgPath, lookup)
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, st)
	fp := func(ctx context.Context, clientID, tokenID string) (string, error) {
		ring, err := adminKeyring(cfg, st)
		if err != nil {
			return "", err
		}
		key, err := ring.DeriveKey(ctx, envelope.PurposeFingerprint)
		if err != nil {
			return "", err
		}
		return vault.Fingerprint(key, clientID, tokenID), nil
	}
	return cmd.run(ctx, stdout, st, fp, time.Now())
}

// fingerprinter returns the keyed fingerprint a removed connection's audit entries keep
// (vault.Fingerprint under the keyring's derived key); nil or an error when the master
// key is not available.
type fingerprinter func(ctx context.Context, clientID, tokenID string) (string, error)

// runAudit parses args as `linkvault audit` does, without --config, and prints the
// selected entries of st to stdout.
func runAudit(ctx context.Context, args []string, stdout io.Writer, st auditStore, fp fingerprinter) error {
	fs := newFlags("audit", auditUsage, stdout)
	cmd := newAuditCmd(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	return cmd.run(ctx, stdout, st, fp, time.Now())
}

// minAuditPrune is the shortest --prune-older-than, the floor LINKVAULT_RETENTION_AUDIT
// has too: a unit slip (24s for 24h) must not empty the audit trail.
const minAuditPrune = time.Hour

// check rejects flag values the command cannot run with, as usage errors (exit 2),
// before any database is opened.
func (c *auditCmd) check() error {
	if *c.prune != 0 {
		if *c.prune < minAuditPrune {
			return usageErrorf("audit: --prune-older-than must be at least %v (e.g. 2160h), got %v", minAuditPrune, *c.prune)
		}
		if *c.client != "" || *c.token != "" || *c.since != 0 || *c.json || *c.limit != linkvault.AuditDefaultLimit {
			return usageErrorf("audit: --prune-older-than applies to every client and takes no other flag")
		}
		return nil
	}
	if *c.client == "" {
		return usageErrorf("audit: --client is required\n%s", auditUsage)
	}
	if *c.since < 0 {
		return usageErrorf("audit: --since must be a positive duration, e.g. 24h")
	}
	if *c.limit < 1 || *c.limit > linkvault.AuditMaxLimit {
		return usageErrorf("audit: --limit must be between 1 and %d, got %d", linkvault.AuditMaxLimit, *c.limit)
	}
	return nil
}

// run prints the entries the parsed flags select.
func (c *auditCmd) run(ctx context.Context, stdout io.Writer, st auditStore, fp fingerprinter, now time.Time) error {
	if err := c.check(); err != nil {
		return err
	}
	if *c.prune != 0 {
		before := now.Add(-*c.prune)
		n, err := app.PruneAll(ctx, st.PruneAudit, before)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted %d audit entries older than %s\n", n, before.UTC().Format(time.RFC3339))
		return nil
	}
	q := linkvault.AuditQuery{ClientID: *c.client, TokenID: *c.token, Limit: *c.limit}
	if q.TokenID != "" && fp != nil {
		// Without the master key the removed connection's entries cannot be named.
		if f, err := fp(ctx, q.ClientID, q.TokenID); err == nil {
			q.Fingerprint = f
		}
	}
	if *c.since > 0 {
		q.Since = now.Add(-*c.since)
	}
	entries, err := st.ListAudit(ctx, q)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		// An empty trail of a client that does not exist is a typo, not "no entries"
		// (clients are never deleted, so a trail always has its client).
		if _, err := st.GetClient(ctx, q.ClientID); linkvault.IsNotFound(err) {
			return fmt.Errorf("no client %q (linkvault clients list shows them)", q.ClientID)
		} else if err != nil {
			return err
		}
	}
	if *c.json {
		enc := json.NewEncoder(stdout)
		for _, e := range entries {
			if err := enc.Encode(auditJSON(e)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tACTION\tOUTCOME\tHTTP\tTOKEN\tTYPE\tKEY\tDURATION")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", e.CreatedAt.UTC().Format(time.RFC3339Nano), e.Action, e.Outcome,
			e.HTTPStatus, tokenColumn(e), e.BrokerType, e.KeyID, e.Duration.Round(time.Microsecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(stdout, "(no entries)")
	}
	return nil
}

// tokenColumn shows the tokenId when it was the client's, else the fingerprint of what
// was presented.
func tokenColumn(e linkvault.AuditEntry) string {
	if e.TokenID != "" {
		return e.TokenID
	}
	return "unresolved:" + e.TokenRef
}

type auditLine struct {
	Time       time.Time `json:"time"`
	ClientID   string    `json:"clientId"`
	KeyID      string    `json:"keyId"`
	TokenID    string    `json:"tokenId,omitempty"`
	TokenRef   string    `json:"tokenRef"`
	BrokerType string    `json:"brokerType,omitempty"`
	Action     string    `json:"action"`
	Outcome    string    `json:"outcome"`
	HTTPStatus int       `json:"httpStatus"`
	DurationMS float64   `json:"durationMs"`
}

func auditJSON(e linkvault.AuditEntry) auditLine {
	return auditLine{
		Time: e.CreatedAt.UTC(), ClientID: e.ClientID, KeyID: e.KeyID, TokenID: e.TokenID, TokenRef: e.TokenRef,
		BrokerType: string(e.BrokerType), Action: e.Action, Outcome: e.Outcome, HTTPStatus: e.HTTPStatus,
		DurationMS: float64(e.Duration.Microseconds()) / 1000,
	}
}
