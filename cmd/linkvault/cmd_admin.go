package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/clients"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/vault"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, lookup)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		return err
	}
	defer st.Close()
	before, err := st.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx); err != nil {
		return err
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

// adminStore opens the configured store for an administrative command.
func adminStore(ctx context.Context, fs *flag.FlagSet, args []string, lookup env) (app.Store, *config.Config, error) {
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	cfg, err := loadConfig(*cfgPath, lookup)
	if err != nil {
		return nil, nil, err
	}
	st, err := app.OpenStore(ctx, cfg, true)
	return st, cfg, err
}

func runClients(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	if len(args) == 0 {
		return errors.New("usage: linkvault clients create [--id ID] [--name NAME] | list")
	}
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "create":
		id := fs.String("id", "", "client id (default: generated)")
		name := fs.String("name", "", "display name")
		st, _, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		c, err := clients.New(st, nil, time.Now, 0).CreateClient(ctx, *id, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client created\n  id:   %s\n  name: %s\n", c.ID, c.Name)
		return nil
	case "list":
		st, _, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		cs, err := st.ListClients(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tWEBHOOK")
		for _, c := range cs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.ID, c.Name, c.CreatedAt.Format(time.RFC3339), c.WebhookURL)
		}
		return tw.Flush()
	}
	return fmt.Errorf("unknown clients subcommand %q", args[0])
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, lookup env) error {
	if len(args) == 0 {
		return errors.New("usage: linkvault keys create --client ID --permission read|write | list --client ID | revoke --client ID --key KEY | rotate | reseal | upgrade-verifiers")
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch args[0] {
	case "create":
		client := fs.String("client", "", "client id")
		perm := fs.String("permission", "", "read or write")
		st, cfg, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		p, err := linkvault.ParsePermission(*perm)
		if err != nil {
			return err
		}
		// The verifier is keyed with a key derived from the master key.
		ring, err := adminKeyring(cfg, st)
		if err != nil {
			return err
		}
		k, err := clients.New(st, ring, time.Now, 0).CreateKey(ctx, *client, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "API key created (the secret is shown only now; store it safely)\n  client:     %s\n  key id:     %s\n  permission: %s\n  secret:     %s\n",
			k.Key.ClientID, k.Key.ID, k.Key.Permission, k.Secret.Reveal())
		return nil
	case "list":
		client := fs.String("client", "", "client id")
		st, _, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		keys, err := st.ListAPIKeys(ctx, *client)
		if err != nil {
			return err
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
		client := fs.String("client", "", "client id")
		key := fs.String("key", "", "key id")
		st, _, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		if err := clients.New(st, nil, time.Now, 0).RevokeKey(ctx, *client, *key); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "key %s revoked (running servers stop accepting it within 5s)\n", *key)
		return nil
	case "rotate":
		return rotateMasterKey(ctx, fs, args[1:], stdout, lookup)
	case "reseal":
		st, cfg, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		ring, err := adminKeyring(cfg, st)
		if err != nil {
			return err
		}
		res, err := vault.New(vault.Config{Store: st, Sealer: ring}).Reseal(ctx, st, envelope.SealFormat, 0)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d connections scanned, %d re-sealed bound to their row, %d changed meanwhile (run again), %d failed to open (see the log)\n",
			res.Scanned, res.Resealed, res.Skipped, res.Failed)
		return nil
	case "upgrade-verifiers":
		st, cfg, err := adminStore(ctx, fs, args[1:], lookup)
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := upgradeVerifiers(ctx, cfg, st)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d API key verifiers upgraded to keyed verifiers\n", n)
		return nil
	}
	return fmt.Errorf("unknown keys subcommand %q", args[0])
}

// rotateMasterKey adds a master key version to the key file and re-wraps every data key
// with it, online: servers keep working (they still hold the old version, and re-read
// the key file on restart).
func rotateMasterKey(ctx context.Context, fs *flag.FlagSet, args []string, stdout io.Writer, lookup env) error {
	st, cfg, err := adminStore(ctx, fs, args, lookup)
	if err != nil {
		return err
	}
	defer st.Close()
	path := cfg.MasterKeyPath()
	if path == "" {
		return errors.New("keys rotate needs a master key file (LINKVAULT_MASTER_KEY_FILE); with LINKVAULT_MASTER_KEY, add a v<N+1> entry yourself and run keys rotate --config with it")
	}
	if err := app.CheckMasterKeyFile(cfg, path); err != nil {
		return err
	}
	// With a KMS configured, the new version is written wrapped by it (and a plain
	// keyring starts moving to the KMS: see docs/operations.md).
	w, err := app.KeyWrapper(ctx, cfg)
	if err != nil {
		return err
	}
	var v int
	if w != nil {
		v, err = envelope.AddMasterKeyVersionWrapped(ctx, path, w)
	} else {
		v, err = envelope.AddMasterKeyVersion(path)
	}
	if err != nil {
		return err
	}
	master, err := app.LoadMasterKeyring(cfg)
	if err != nil {
		return err
	}
	n, err := envelope.New(st, master, time.Now).RotateMaster(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "master key v%d added to %s; %d data keys re-wrapped\n", v, path, n)
	return nil
}
