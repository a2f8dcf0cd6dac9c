package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/linkvault/linkvault"
)

// KeyringStore is where replicas advertise their master keyrings.
type KeyringStore interface {
	AdvertiseKeyring(ctx context.Context, r linkvault.KeyringReplica) error
	ListKeyringReplicas(ctx context.Context, since time.Time) ([]linkvault.KeyringReplica, error)
	WithdrawKeyring(ctx context.Context, id string) error
}

// LiveReplicaWindow is how long after its last advertisement a replica counts as live,
// in check intervals.
const LiveReplicaWindow = 3

// CommonWrapVersion is the newest master version every live replica holds, among the
// versions self holds: the version data keys may be wrapped with without failing any
// replica. 0 if there is none.
func CommonWrapVersion(self []int, live []linkvault.KeyringReplica) int {
	for i := len(self) - 1; i >= 0; i-- {
		v := self[i]
		if !slices.ContainsFunc(live, func(r linkvault.KeyringReplica) bool { return !r.Holds(v) }) {
			return v
		}
	}
	return 0
}

// keyringWatch keeps a server's master keyring current and advertised: every check
// interval (and at once on SIGHUP) it re-reads the key file when it changed, then
// advertises the versions held and wraps new data keys with the newest version every
// live replica holds. This is what makes `keys rotate` safe for running replicas: it
// re-wraps only once every live replica advertises the new version.
type keyringWatch struct {
	a        *App
	id       string
	interval time.Duration
	fileSum  [sha256.Size]byte // of the key file content last loaded (or refused)
	canLoad  bool              // the keyring comes from a file this process may re-read
}

func newKeyringWatch(a *App) *keyringWatch {
	host, _ := os.Hostname()
	w := &keyringWatch{
		a:        a,
		id:       fmt.Sprintf("%s/%d/%s", host, os.Getpid(), linkvault.NewRandomID(4)),
		interval: a.Config.MasterKeyCheckInterval,
		canLoad:  a.opts.MasterKeyring == nil && a.Config.MasterKeyPath() != "",
	}
	if w.interval <= 0 {
		w.interval = 5 * time.Second
	}
	if w.canLoad {
		if b, err := os.ReadFile(a.Config.MasterKeyPath()); err == nil {
			w.fileSum = sha256.Sum256(b)
		}
	}
	return w
}

// run checks once, then every interval and on SIGHUP, until ctx ends; then it
// withdraws the advertisement.
func (w *keyringWatch) run(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := w.a.Store.WithdrawKeyring(wctx, w.id); err != nil {
				w.a.Logger.Warn("withdraw keyring advertisement", "error", err)
			}
			return
		case <-hup:
			w.a.Logger.Info("SIGHUP: re-reading the master key file")
		case <-t.C:
		}
		w.check(ctx)
	}
}

// check reloads the key file if it changed and advertises the keyring.
func (w *keyringWatch) check(ctx context.Context) {
	if w.canLoad {
		w.reload(ctx)
	}
	if err := w.advertise(ctx); err != nil && ctx.Err() == nil {
		w.a.Logger.Warn("advertise master keyring", "error", err)
	}
}

func (w *keyringWatch) reload(ctx context.Context) {
	path := w.a.Config.MasterKeyPath()
	b, err := os.ReadFile(path)
	if err != nil {
		w.a.Logger.Warn("re-read master key file; keeping the keyring loaded", "path", path, "error", err)
		return
	}
	sum := sha256.Sum256(b)
	clear(b)
	if bytes.Equal(sum[:], w.fileSum[:]) {
		return
	}
	w.fileSum = sum // a bad file is reported once, not every interval
	m, err := LoadMasterKeyring(w.a.Config)
	if err != nil {
		w.a.Logger.Error("master key file changed but cannot be loaded; keeping the keyring loaded", "error", err)
		return
	}
	byMaster, err := w.a.Keyring.DataKeysByMaster(ctx)
	if err != nil {
		w.fileSum = [sha256.Size]byte{} // retry next interval
		w.a.Logger.Warn("master key file changed; cannot check it against the data keys yet", "error", err)
		return
	}
	for v, n := range byMaster {
		if n > 0 && !m.Has(v) {
			w.a.Logger.Error("master key file changed but lacks a version that still wraps data keys; keeping the keyring loaded (finish `linkvault keys rotate` before removing a version)",
				"missing_version", v, "data_keys", n)
			return
		}
	}
	if err := w.a.Keyring.CheckMaster(ctx, m); err != nil {
		w.a.Logger.Error("master key file changed but its keys do not open the stored data keys; keeping the keyring loaded (restore the file's previous content)",
			"error", err)
		return
	}
	w.a.Keyring.SetMaster(m)
	w.a.Logger.Info("master keyring reloaded", "current", m.Current(), "versions", m.Versions())
}

// advertise records this replica's keyring and adopts the newest version every live
// replica holds for wrapping new data keys.
func (w *keyringWatch) advertise(ctx context.Context) error {
	st, ring := w.a.Store, w.a.Keyring
	held := ring.Master().Versions()
	now := w.a.opts.Now()
	self := linkvault.KeyringReplica{ID: w.id, Held: held, WrapVersion: ring.WrapVersion(), SeenAt: now}
	if err := st.AdvertiseKeyring(ctx, self); err != nil {
		return err
	}
	live, err := st.ListKeyringReplicas(ctx, now.Add(-LiveReplicaWindow*w.interval))
	if err != nil {
		return err
	}
	wrap := CommonWrapVersion(held, live)
	if wrap == 0 {
		// Some live replica shares no version with us: one of the two has the wrong
		// key file. Keep wrapping with our own current version.
		wrap = ring.Master().Current()
		w.a.Logger.Error("a live replica holds none of this replica's master key versions; check every replica's key file", "held", held)
	}
	if wrap == self.WrapVersion {
		return nil
	}
	ring.SetWrapVersion(wrap)
	w.a.Logger.Info("wrapping new data keys with master key version", "version", wrap)
	self.WrapVersion = ring.WrapVersion()
	return st.AdvertiseKeyring(ctx, self)
}
