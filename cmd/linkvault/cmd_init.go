package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
)

const initUsage = `Usage: linkvault init [--config FILE]

Creates the master key file (mode 0600) where the configuration says the key lives:
LINKVAULT_MASTER_KEY_FILE, or with SQLite and no setting, linkvault.key beside the
database file. It refuses to overwrite an existing file. With LINKVAULT_KMS_KIND set, the
key is written wrapped by that KMS. Nothing else is created (run "linkvault migrate" next).
`

// runInit creates the master key file of the configuration, never overwriting one, and
// tells the operator what to keep safe.
func runInit(ctx context.Context, args []string, stdout, _ io.Writer, lookup env) error {
	fs := newFlags("init", initUsage, stdout)
	cfg, err := parseConfig(fs, args, lookup)
	if err != nil {
		return err
	}
	if !cfg.MasterKey.IsZero() {
		return errors.New("init: LINKVAULT_MASTER_KEY is set, so the key is already given as a value; init writes a key file: unset it and set LINKVAULT_MASTER_KEY_FILE to where the file should go")
	}
	path := cfg.MasterKeyPath()
	if path == "" {
		return fmt.Errorf("init: with the %s driver, set %sMASTER_KEY_FILE to where the master key file should go (for example /etc/linkvault/master.key), then run linkvault init again", cfg.Database.Driver, config.EnvPrefix)
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("init: %s already exists; it is left untouched (to add a key version, run linkvault keys rotate)", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return fmt.Errorf("init: the directory of %s: %w", path, err)
		}
	}
	kctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	created, err := writeMasterKeyFile(kctx, cfg, path, envelope.GenerateMasterKeyFile, envelope.GenerateMasterKeyFileWrapped)
	if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if !created {
		return fmt.Errorf("init: %s already exists; it is left untouched", path)
	}
	abs, _ := filepath.Abs(path)
	protection := "It holds the key itself: treat it like a password."
	if cfg.KMS.Kind != "" {
		protection = fmt.Sprintf("It holds the key wrapped by %s: the file alone reveals nothing, but the KMS key must stay usable.", cfg.KMS.Kind)
	}
	fmt.Fprintf(stdout, `master key v1 written to %s (mode 0600)
%s
Keep it safe:
  - back it up now, apart from database backups (another system, another access policy):
    without it no stored credential can ever be decrypted, and with it a database copy can;
  - every linkvault command and server needs it (same configuration: %sMASTER_KEY_FILE or
    the default path), owned by the user linkvault runs as, mode 0600;
  - never commit it or bake it into an image; rotate it with "linkvault keys rotate".
Next: linkvault migrate
`, abs, protection, config.EnvPrefix)
	return nil
}

// writeMasterKeyFile changes the master key file at path with plain, or with wrapped
// when the configuration names a KMS (the file then holds keys wrapped by it, never a
// key itself).
func writeMasterKeyFile[T any](ctx context.Context, cfg *config.Config, path string,
	plain func(path string) (T, error), wrapped func(ctx context.Context, path string, w envelope.KeyWrapper) (T, error)) (T, error) {
	w, err := app.KeyWrapper(ctx, cfg)
	if err != nil {
		var zero T
		return zero, err
	}
	if w == nil {
		return plain(path)
	}
	return wrapped(ctx, path, w)
}
