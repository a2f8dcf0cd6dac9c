package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/vault"
)

func runMigrate(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	fs := newFlags("migrate", "Usage: linkvault migrate [--config FILE]\n\nCreates the database schema, or upgrades it to this version of linkvault (safe to run\nconcurrently and repeatedly; serve also migrates on start).", stdout)
	cfg, err := parseConfig(fs, args, lookup)
	if err != nil {
		return err
	}
	created := newSQLiteFile(cfg)
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		removeIfCreated(created)
		return err
	}
	defer closeJoin(&retErr, st)
	before, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		if before == 0 {
			_ = st.Close()
			removeIfCreated(created)
		}
		return fmt.Errorf("migration failed (the schema stays at version %d): %w", before, err)
	}
	after, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema version %d -> %d (%s)\n", before, after, cfg.Database.Driver)
	if app.CrossedKeyedVerifiers(before, after) {
		n, err := upgradeVerifiers(ctx, cfg, st)
		if err != nil {
			return fmt.Errorf("schema migrated, but upgrading API key verifiers failed (run `linkvault keys upgrade-verifiers` once the cause is fixed; until then existing API keys are refused): %w", err)
		}
		fmt.Fprintf(stdout, "%d API key verifiers upgraded to keyed verifiers\n", n)
	}
	return nil
}

// upgradeVerifiers re-derives every unkeyed API key verifier with the master key.
func upgradeVerifiers(ctx context.Context, cfg *config.Config, st app.Store) (int, error) {
	ring, err := adminKeyring(cfg, st)
	if err != nil {
		return 0, err
	}
	return clients.New(st, ring, time.Now, 0).UpgradeVerifiers(ctx)
}

// adminStore parses an administrative command's flags (-h prints its usage), checks
// the required ones, loads the configuration and opens the existing database: it never
// creates one (openExistingStore).
func adminStore(ctx context.Context, fs *flags, args []string, lookup env, required ...string) (app.Store, *config.Config, error) {
	cfgPath := configFlag(fs.FlagSet)
	if err := fs.parse(args); err != nil {
		return nil, nil, err
	}
	if err := fs.require(required...); err != nil {
		return nil, nil, err
	}
	return openConfigured(ctx, *cfgPath, lookup)
}

const clientsUsage = `Usage:
  linkvault clients create [--id ID] [--name NAME] [--json]   create a client application
  linkvault clients update --id ID [--name NAME] [--logo FILE | --no-logo]
                         [--allowed-origin ORIGIN]... [--no-allowed-origins] [--json]
                                                             what Link shows and who may frame it
  linkvault clients list [--json]                            list the clients

Every subcommand takes --config FILE and reads the database of the configuration;
"linkvault clients SUBCOMMAND -h" describes one.
`

func runClients(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	sub, rest, err := subcommand("clients", clientsUsage, args, stdout, "create", "update", "list")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		fs := newFlags("clients create", "Usage: linkvault clients create [--id ID] [--name NAME] [--json]\n\nCreates a client application and prints its id.", stdout)
		id := fs.String("id", "", "client id (default: generated)")
		name := fs.String("name", "", "display name")
		asJSON := jsonFlag(fs)
		st, _, err := adminStore(ctx, fs, rest, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		c, err := clients.New(st, nil, time.Now, 0).CreateClient(ctx, *id, *name)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, clientJSON(c))
		}
		fmt.Fprintf(stdout, "client created\n  id:   %s\n  name: %s\n", c.ID, c.Name)
		return nil
	case "update":
		return updateClient(ctx, rest, stdout, lookup)
	default: // list
		fs := newFlags("clients list", "Usage: linkvault clients list [--json]\n\nLists the client applications.", stdout)
		asJSON := jsonFlag(fs)
		st, _, err := adminStore(ctx, fs, rest, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		cs, err := st.ListClients(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			out := make([]clientLine, 0, len(cs))
			for _, c := range cs {
				out = append(out, clientJSON(c))
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tWEBHOOK\tALLOWED ORIGINS")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.CreatedAt.Format(time.RFC3339), c.WebhookURL, originsText(c.AllowedOrigins))
		}
		return tw.Flush()
	}
}

// clientLine is a client in --json output.
type clientLine struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"createdAt"`
	WebhookURL string    `json:"webhookUrl,omitempty"`
	// AllowedOrigins may frame the client's Link pages; HasLogo when a logo is set.
	AllowedOrigins []string `json:"allowedOrigins"`
	HasLogo        bool     `json:"hasLogo"`
}

func clientJSON(c *linkvault.Client) clientLine {
	origins := c.AllowedOrigins
	if origins == nil {
		origins = []string{}
	}
	return clientLine{ID: c.ID, Name: c.Name, CreatedAt: c.CreatedAt.UTC(), WebhookURL: c.WebhookURL, AllowedOrigins: origins, HasLogo: c.Logo != ""}
}

// keyLine is an API key in --json output; Secret only when it was just created.
type keyLine struct {
	ClientID   string     `json:"clientId"`
	KeyID      string     `json:"keyId"`
	Permission string     `json:"permission"`
	CreatedAt  time.Time  `json:"createdAt"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
	Secret     string     `json:"secret,omitempty"`
}

const keysUsage = `Usage:
  linkvault keys create --client ID --permission read|write [--json]   create an API key (the secret is printed once)
  linkvault keys list --client ID [--json]                             list a client's API keys
  linkvault keys revoke --client ID --key KEYID                        revoke an API key
  linkvault keys rotate                                                add a master key version and re-wrap the data keys
  linkvault keys reseal                                                re-seal credentials bound to their whole row
  linkvault keys upgrade-verifiers                                     re-derive unkeyed API key verifiers

Every subcommand takes --config FILE and reads the database of the configuration;
"linkvault keys SUBCOMMAND -h" describes one.
`

func runKeys(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) (retErr error) {
	sub, rest, err := subcommand("keys", keysUsage, args, stdout, "create", "list", "revoke", "rotate", "reseal", "upgrade-verifiers")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		fs := newFlags("keys create", "Usage: linkvault keys create --client ID --permission read|write [--json]\n\nCreates an API key of the client; its secret is printed once.", stdout)
		client := fs.String("client", "", "client id (required)")
		perm := fs.String("permission", "", "read or write (required)")
		asJSON := jsonFlag(fs)
		cfgPath := configFlag(fs.FlagSet)
		if err := fs.parse(rest); err != nil {
			return err
		}
		if err := fs.require("client", "permission"); err != nil {
			return err
		}
		p, err := linkvault.ParsePermission(*perm)
		if err != nil {
			return usageErrorf("keys create: --permission must be read or write, got %q", *perm)
		}
		// The verifier is keyed with a key derived from the master key.
		st, ring, err := openSealing(ctx, *cfgPath, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		k, err := clients.New(st, ring, time.Now, 0).CreateKey(ctx, *client, p)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, keyLine{ClientID: k.Key.ClientID, KeyID: k.Key.ID, Permission: string(k.Key.Permission),
				CreatedAt: k.Key.CreatedAt.UTC(), Secret: k.Secret.Reveal()})
		}
		fmt.Fprintf(stdout, "API key created (the secret is shown only now; store it safely)\n  client:     %s\n  key id:     %s\n  permission: %s\n  secret:     %s\n",
			k.Key.ClientID, k.Key.ID, k.Key.Permission, k.Secret.Reveal())
		return nil
	case "list":
		fs := newFlags("keys list", "Usage: linkvault keys list --client ID [--json]\n\nLists the client's API keys (never their secrets).", stdout)
		client := fs.String("client", "", "client id (required)")
		asJSON := jsonFlag(fs)
		st, _, err := adminStore(ctx, fs, rest, lookup, "client")
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		keys, err := st.ListAPIKeys(ctx, *client)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			// An unknown client is an error, as for every other command naming one.
			if _, err := st.GetClient(ctx, *client); err != nil {
				return err
			}
		}
		if *asJSON {
			out := make([]keyLine, 0, len(keys))
			for _, k := range keys {
				l := keyLine{ClientID: k.ClientID, KeyID: k.ID, Permission: string(k.Permission), CreatedAt: k.CreatedAt.UTC()}
				if !k.Active() {
					t := k.RevokedAt.UTC()
					l.RevokedAt = &t
				}
				out = append(out, l)
			}
			return writeJSON(stdout, out)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY ID\tPERMISSION\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if !k.Active() {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Permission, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		fs := newFlags("keys revoke", "Usage: linkvault keys revoke --client ID --key KEYID\n\nRevokes an API key; running servers stop accepting it within 5s.", stdout)
		client := fs.String("client", "", "client id (required)")
		key := fs.String("key", "", "key id (required)")
		st, _, err := adminStore(ctx, fs, rest, lookup, "client", "key")
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		if err := clients.New(st, nil, time.Now, 0).RevokeKey(ctx, *client, *key); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s revoked (running servers stop accepting it within 5s)\n", *key)
		return nil
	case "rotate":
		fs := newFlags("keys rotate", "Usage: linkvault keys rotate [--wait 2m] | --status\n\nRotates the master key online, failing no request: adds a version to the key file\n(wrapped by the KMS when one is configured) unless a rotation is unfinished, waits until\nevery live replica holds and wraps with it, then re-wraps every data key. Resumable;\n--status reports the state (docs/operations.md, key rotation runbook).", stdout)
		return rotateMasterKey(ctx, fs, rest, stdout, lookup)
	case "reseal":
		fs := newFlags("keys reseal", "Usage: linkvault keys reseal\n\nRe-seals every connection's credential bound to its whole row, online (a background pass\nof the servers does the same).", stdout)
		st, cfg, err := adminStore(ctx, fs, rest, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		ring, err := adminKeyring(cfg, st)
		if err != nil {
			return err
		}
		res, err := vault.New(vault.Config{Store: st, Sealer: ring}).Reseal(ctx, st, envelope.SealFormat, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d connections found sealed in the old format, %d re-sealed bound to their row, %d changed meanwhile (run again), %d failed to open (see the log)\n",
			res.Scanned, res.Resealed, res.Skipped, res.Failed)
		return nil
	default: // upgrade-verifiers
		fs := newFlags("keys upgrade-verifiers", "Usage: linkvault keys upgrade-verifiers\n\nRe-derives the API key verifiers still unkeyed (after an interrupted migration).", stdout)
		st, cfg, err := adminStore(ctx, fs, rest, lookup)
		if err != nil {
			return err
		}
		defer closeJoin(&retErr, st)
		n, err := upgradeVerifiers(ctx, cfg, st)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d API key verifiers upgraded to keyed verifiers\n", n)
		return nil
	}
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

// updateClient is `clients update`: the name and logo the client's Link pages show,
// and the web origins allowed to frame them (repeat --allowed-origin; "*" allows any
// site, only when given explicitly).
func updateClient(ctx context.Context, args []string, stdout io.Writer, lookup env) (retErr error) {
	fs := newFlags("clients update", "Usage: linkvault clients update --id ID [--name NAME] [--logo FILE | --no-logo] [--allowed-origin ORIGIN]... [--no-allowed-origins] [--json]\n\n"+
		"Sets the name and logo the client's Link pages show, and the web origins allowed to frame them\n(repeat --allowed-origin; * allows any site and is never the default).", stdout)
	id := fs.String("id", "", "client id (required)")
	name := fs.String("name", "", "display name shown on the Link page")
	logo := fs.String("logo", "", "image file (PNG, JPEG, WebP or SVG, at most 64 KiB) shown on the Link page")
	noLogo := fs.Bool("no-logo", false, "remove the logo")
	var origins repeated
	fs.Var(&origins, "allowed-origin", "web origin allowed to frame Link and receive its messages, e.g. https://app.example (repeatable; * = any site)")
	noOrigins := fs.Bool("no-allowed-origins", false, "allow no site to frame Link")
	asJSON := jsonFlag(fs)
	cfgPath := configFlag(fs.FlagSet)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := fs.require("id"); err != nil {
		return err
	}
	if *noOrigins && len(origins) > 0 {
		return usageErrorf("clients update: --no-allowed-origins and --allowed-origin exclude each other")
	}
	if *noLogo && *logo != "" {
		return usageErrorf("clients update: --no-logo and --logo exclude each other")
	}
	st, _, err := openConfigured(ctx, *cfgPath, lookup)
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, st)
	var u clients.LinkSettings
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "name" {
			u.Name = name
		}
	})
	switch {
	case *noLogo:
		empty := ""
		u.Logo = &empty
	case *logo != "":
		b, err := os.ReadFile(*logo)
		if err != nil {
			return fmt.Errorf("clients update: %w", err)
		}
		uri, err := clients.LogoDataURI(b)
		if err != nil {
			return err
		}
		u.Logo = &uri
	}
	if len(origins) > 0 || *noOrigins {
		u.AllowedOrigins, u.SetOrigins = origins, true
	}
	c, err := clients.New(st, nil, time.Now, 0).UpdateLinkSettings(ctx, *id, u)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, clientJSON(c))
	}
	logoText := "none"
	if c.Logo != "" {
		logoText = "set"
	}
	fmt.Fprintf(stdout, "client updated\n  id:              %s\n  name:            %s\n  logo:            %s\n  allowed origins: %s\n",
		c.ID, c.Name, logoText, originsText(c.AllowedOrigins))
	return nil
}

// originsText shows a client's allowed origins.
func originsText(o []string) string {
	if len(o) == 0 {
		return "none (Link cannot be framed)"
	}
	return strings.Join(o, " ")
}
