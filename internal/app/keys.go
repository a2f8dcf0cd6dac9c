package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"time"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/telemetry"
)

// kmsTimeout bounds the KMS calls of loading a keyring (one per wrapped version).
const kmsTimeout = 30 * time.Second

// LoadMasterKeyring reads the master key from the configured file or value. With a KMS
// configured (LINKVAULT_KMS_KIND), wrapped entries are unwrapped by it, one call per
// version.
func LoadMasterKeyring(cfg *config.Config) (*envelope.MasterKeyring, error) {
	ctx, cancel := context.WithTimeout(context.Background(), kmsTimeout)
	defer cancel()
	w, err := KeyWrapper(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if path := cfg.MasterKeyPath(); path != "" {
		if err := CheckMasterKeyFile(cfg, path); err != nil {
			return nil, err
		}
		if w != nil {
			return envelope.ReadMasterKeyFileWrapped(ctx, path, w)
		}
		return envelope.ReadMasterKeyFile(path)
	}
	if !cfg.MasterKey.IsZero() {
		if w != nil {
			return envelope.LoadMasterKeyringWrapped(ctx, []byte(cfg.MasterKey.Reveal()), w)
		}
		return envelope.LoadMasterKeyring([]byte(cfg.MasterKey.Reveal()))
	}
	return nil, fmt.Errorf("no master key is configured: with the %s driver, set %sMASTER_KEY_FILE=/path/to/master.key "+
		"and run `linkvault init` once to create it (or give the key itself in %sMASTER_KEY)", cfg.Database.Driver, config.EnvPrefix, config.EnvPrefix)
}

// CheckMasterKeyFile refuses a master key file that its group or other users may
// access, unless the operator allowed it (LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE).
// Every command that loads the key file calls it first. (Windows has no such mode bits.)
func CheckMasterKeyFile(cfg *config.Config, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		how := "`linkvault init`"
		if cfg.MasterKeyFile != "" {
			how = fmt.Sprintf("`%sMASTER_KEY_FILE=%s linkvault init`", config.EnvPrefix, path)
		}
		return fmt.Errorf("no master key file at %s: create one with %s (with the same configuration as this command), "+
			"or point %sMASTER_KEY_FILE at the existing one", path, how, config.EnvPrefix)
	}
	if cfg.MasterKeyFileAllowReadable || runtime.GOOS == "windows" {
		return nil
	}
	if err := envelope.CheckMasterKeyFileMode(path); err != nil {
		return fmt.Errorf("refusing to use the master key: %w, owned by the user linkvault runs as. "+
			"Only where the platform cannot give a file owner-only permissions, set %sMASTER_KEY_FILE_ALLOW_READABLE=true", err, config.EnvPrefix)
	}
	return nil
}

// NewLogger is the process log the configuration asks for, written to w.
// Every duration is written in milliseconds (key suffix _ms), and every line logged
// with a request's context carries its request_id (and trace_id, span_id when traced).
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level, ReplaceAttr: telemetry.DurationsInMS}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Log.Format == config.LogFormatJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(telemetry.LogHandler(h))
}
