package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"

	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
)

// LoadMasterKeyring reads the master key from the configured file or value.
func LoadMasterKeyring(cfg *config.Config) (*envelope.MasterKeyring, error) {
	if path := cfg.MasterKeyPath(); path != "" {
		if err := CheckMasterKeyFile(cfg, path); err != nil {
			return nil, err
		}
		return envelope.ReadMasterKeyFile(path)
	}
	if !cfg.MasterKey.IsZero() {
		return envelope.LoadMasterKeyring([]byte(cfg.MasterKey.Reveal()))
	}
	return nil, errors.New("no master key: set LINKVAULT_MASTER_KEY_FILE or LINKVAULT_MASTER_KEY")
}

// CheckMasterKeyFile refuses a master key file that its group or other users may
// access, unless the operator allowed it (LINKVAULT_MASTER_KEY_FILE_ALLOW_READABLE).
// Every command that loads the key file calls it first. (Windows has no such mode bits.)
func CheckMasterKeyFile(cfg *config.Config, path string) error {
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
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Log.Level}
	if cfg.Log.Format == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
