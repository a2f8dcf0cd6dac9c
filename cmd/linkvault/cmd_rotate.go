package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
)

// rotateMasterKey is `linkvault keys rotate [--status] [--wait D]`: a two-phase,
// online master key rotation that fails no request.
//
//  1. If no rotation is unfinished, a new version is appended to the key file (with a
//     KMS configured, wrapped by it). Running servers re-read the file within their
//     check interval (LINKVAULT_MASTER_KEY_CHECK_INTERVAL) or at once on SIGHUP.
//  2. It waits until every live replica advertises holding the new version, then until
//     each wraps new data keys with it (they switch only when all hold it).
//  3. Only then it re-wraps every data key still under an older version.
//
// Every step can be interrupted and resumed: while some data key is under an older
// version or some live replica lacks the newest one, running it again finishes that
// rotation and never adds a version. --status reports where a rotation stands.
func rotateMasterKey(ctx context.Context, fs *flags, args []string, stdout io.Writer, lookup env) (retErr error) {
	status := fs.Bool("status", false, "report the rotation state and change nothing")
	asJSON := jsonFlag(fs)
	wait := fs.Duration("wait", 2*time.Minute, "how long to wait for running replicas to load the new version before giving up (resumable)")
	cfgPath := configFlag(fs.FlagSet)
	if err := fs.parse(args); err != nil {
		return err
	}
	if *wait < 0 {
		return usageErrorf("keys rotate: --wait must not be negative, got %v", *wait)
	}
	if *asJSON && !*status {
		return usageErrorf("keys rotate: --json goes with --status")
	}
	st, cfg, err := openConfigured(ctx, *cfgPath, lookup)
	if err != nil {
		return err
	}
	defer closeJoin(&retErr, st)
	r := &rotation{cfg: cfg, st: st, out: stdout, now: time.Now}
	if *status {
		s, err := r.state(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(stdout, s.report())
		}
		s.print(stdout)
		return nil
	}
	return r.run(ctx, *wait)
}

type rotation struct {
	cfg *config.Config
	st  app.Store
	out io.Writer
	now func() time.Time
}

// rotationState is where a rotation stands.
type rotationState struct {
	path     string
	master   *envelope.MasterKeyring
	byMaster map[int]int
	replicas []linkvault.KeyringReplica
	// foreign: the key file holds every version in use, but one of them is another key
	// than the one that wrapped the data keys (envelope.Keyring.CheckMaster).
	foreign error
}

func (s *rotationState) target() int { return s.master.Current() }

// behind counts data keys under an older version than the target.
func (s *rotationState) behind() int {
	n := 0
	for v, c := range s.byMaster {
		if v < s.target() {
			n += c
		}
	}
	return n
}

// lacking lists live replicas that do not hold, or do not yet wrap with, the target.
func (s *rotationState) lacking() (notHolding, notWrapping []string) {
	for _, r := range s.replicas {
		switch {
		case !r.Holds(s.target()):
			notHolding = append(notHolding, r.ID)
		case r.WrapVersion < s.target():
			notWrapping = append(notWrapping, r.ID)
		}
	}
	return notHolding, notWrapping
}

// missing lists the master versions that wrap data keys but are not in the key file
// (a line removed too early, or an older copy of the file restored), with their counts.
func (s *rotationState) missing() []string {
	var out []string
	for _, v := range slices.Sorted(maps.Keys(s.byMaster)) {
		if n := s.byMaster[v]; n > 0 && !s.master.Has(v) {
			out = append(out, fmt.Sprintf("v%d (it wraps %d data keys)", v, n))
		}
	}
	return out
}

// missingError is why nothing can be rotated while versions are missing: a new version
// would take the number of a missing one, and the data keys under it would never open.
func (s *rotationState) missingError() error {
	return fmt.Errorf("the key file %s lacks master key %s: restore the line(s) from the key file's backup or escrow "+
		"(running servers keep them loaded and refuse the file until then); nothing was changed", s.path, strings.Join(s.missing(), ", "))
}

// blocked is why nothing can be rotated, or nil.
func (s *rotationState) blocked() error {
	if len(s.missing()) > 0 {
		return s.missingError()
	}
	if s.foreign != nil {
		return fmt.Errorf("the key file %s does not open the stored data keys: %w; restore its previous content from its backup or escrow "+
			"(running servers keep their keys loaded and refuse the file until then); nothing was changed", s.path, s.foreign)
	}
	return nil
}

func (s *rotationState) complete() bool {
	h, w := s.lacking()
	return s.blocked() == nil && s.behind() == 0 && len(h) == 0 && len(w) == 0
}

func (s *rotationState) print(w io.Writer) {
	fmt.Fprintf(w, "key file %s: versions %v, current v%d\n", s.path, s.master.Versions(), s.target())
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(s.byMaster)) {
		parts = append(parts, fmt.Sprintf("v%d: %d", v, s.byMaster[v]))
	}
	fmt.Fprintf(w, "data keys by master version: %s\n", strings.Join(parts, ", "))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LIVE REPLICA\tHOLDS\tWRAPS WITH\tSEEN")
	for _, r := range s.replicas {
		fmt.Fprintf(tw, "%s\t%v\tv%d\t%s\n", r.ID, r.Held, r.WrapVersion, r.SeenAt.UTC().Format(time.RFC3339))
	}
	_ = tw.Flush()
	if len(s.replicas) == 0 {
		fmt.Fprintln(w, "(no live replica)")
	}
	_, verdict := s.verdict()
	fmt.Fprintln(w, verdict)
}

// Rotation states, as `keys rotate --status --json` names them.
const (
	rotationBlocked    = "blocked"
	rotationComplete   = "complete"
	rotationInProgress = "inProgress"
)

// verdict is where the rotation stands, as a state and the sentence --status prints.
func (s *rotationState) verdict() (state, sentence string) {
	notHolding, notWrapping := s.lacking()
	switch {
	case s.blocked() != nil:
		return rotationBlocked, fmt.Sprintf("rotation cannot proceed: %v", s.blocked())
	case s.complete():
		sentence = fmt.Sprintf("rotation complete: every data key is wrapped by v%d", s.target())
		if old := s.removable(); len(old) > 0 {
			sentence += fmt.Sprintf("; %s may be removed from the key file (keep them in escrow while backups wrapped under them are kept)", strings.Join(old, ", "))
		}
		return rotationComplete, sentence
	case len(notHolding) > 0:
		return rotationInProgress, fmt.Sprintf("rotation to v%d in progress: waiting for %s to load it (SIGHUP or their next check); %d data keys to re-wrap",
			s.target(), strings.Join(notHolding, ", "), s.behind())
	case len(notWrapping) > 0:
		return rotationInProgress, fmt.Sprintf("rotation to v%d in progress: waiting for %s to wrap with it; %d data keys to re-wrap",
			s.target(), strings.Join(notWrapping, ", "), s.behind())
	default:
		return rotationInProgress, fmt.Sprintf("rotation to v%d in progress: %d data keys to re-wrap (run `linkvault keys rotate` to finish)", s.target(), s.behind())
	}
}

// removable lists the key file's versions older than the target ("v1", ...).
func (s *rotationState) removable() []string {
	var old []string
	for _, v := range s.master.Versions() {
		if v < s.target() {
			old = append(old, fmt.Sprintf("v%d", v))
		}
	}
	return old
}

// rotationReport is `keys rotate --status --json`: the facts --status prints, for scripts.
type rotationReport struct {
	KeyFile          string                `json:"keyFile"`
	Versions         []int                 `json:"versions"`
	Current          int                   `json:"current"`
	DataKeysByMaster map[string]int        `json:"dataKeysByMasterVersion"`
	Replicas         []rotationReplicaJSON `json:"liveReplicas"`
	State            string                `json:"state"` // blocked, complete or inProgress
	WaitingToLoad    []string              `json:"waitingToLoad"`
	WaitingToWrap    []string              `json:"waitingToWrap"`
	DataKeysBehind   int                   `json:"dataKeysToRewrap"`
	Removable        []string              `json:"removableVersions"` // only when complete
	Message          string                `json:"message"`
}

type rotationReplicaJSON struct {
	ID        string    `json:"id"`
	Holds     []int     `json:"holds"`
	WrapsWith int       `json:"wrapsWith"`
	SeenAt    time.Time `json:"seenAt"`
}

func (s *rotationState) report() rotationReport {
	state, sentence := s.verdict()
	notHolding, notWrapping := s.lacking()
	r := rotationReport{
		KeyFile: s.path, Versions: s.master.Versions(), Current: s.target(),
		DataKeysByMaster: map[string]int{}, Replicas: []rotationReplicaJSON{},
		State: state, WaitingToLoad: nonNil(notHolding), WaitingToWrap: nonNil(notWrapping),
		DataKeysBehind: s.behind(), Removable: []string{}, Message: sentence,
	}
	for v, n := range s.byMaster {
		r.DataKeysByMaster[fmt.Sprintf("v%d", v)] = n
	}
	for _, rep := range s.replicas {
		r.Replicas = append(r.Replicas, rotationReplicaJSON{ID: rep.ID, Holds: nonNil(rep.Held), WrapsWith: rep.WrapVersion, SeenAt: rep.SeenAt.UTC()})
	}
	if state == rotationComplete {
		r.Removable = nonNil(s.removable())
	}
	return r
}

// nonNil makes an empty list print as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (r *rotation) state(ctx context.Context) (*rotationState, error) {
	path := r.cfg.MasterKeyPath()
	if path == "" {
		return nil, errors.New("keys rotate needs a master key file (LINKVAULT_MASTER_KEY_FILE); with LINKVAULT_MASTER_KEY, write the keyring to a 0600 file and run keys rotate with LINKVAULT_MASTER_KEY_FILE pointing at it")
	}
	master, err := app.LoadMasterKeyring(r.cfg)
	if err != nil {
		return nil, err
	}
	ring := envelope.New(r.st, master, r.now)
	byMaster, err := ring.DataKeysByMaster(ctx)
	if err != nil {
		return nil, err
	}
	s := &rotationState{path: path, master: master, byMaster: byMaster}
	if len(s.missing()) == 0 {
		s.foreign = ring.CheckMaster(ctx, master)
	}
	replicas, err := r.st.ListKeyringReplicas(ctx, r.now().Add(-app.LiveReplicaWindow*r.cfg.MasterKeyCheckInterval))
	if err != nil {
		return nil, err
	}
	s.replicas = replicas
	return s, nil
}

func (r *rotation) run(ctx context.Context, wait time.Duration) error {
	path := r.cfg.MasterKeyPath()
	if path != "" {
		if err := app.CheckMasterKeyFile(r.cfg, path); err != nil {
			return err
		}
	}
	unlock, err := lockRotation(path)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := r.state(ctx)
	if err != nil {
		return err
	}
	if err := s.blocked(); err != nil {
		return err
	}
	if s.complete() {
		// With a KMS configured, the new version is written wrapped by it (and a plain
		// keyring starts moving to the KMS: see docs/operations.md).
		v, err := writeMasterKeyFile(ctx, r.cfg, path, envelope.AddMasterKeyVersion, envelope.AddMasterKeyVersionWrapped)
		if err != nil {
			return err
		}
		fmt.Fprintf(r.out, "master key v%d added to %s\n", v, path)
		if s, err = r.state(ctx); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(r.out, "resuming the unfinished rotation to v%d (no version added)\n", s.target())
	}

	// Phase 2: every live replica holds the new version and wraps with it.
	deadline := r.now().Add(wait)
	for {
		notHolding, notWrapping := s.lacking()
		if len(notHolding) == 0 && len(notWrapping) == 0 {
			break
		}
		if r.now().After(deadline) {
			s.print(r.out)
			return fmt.Errorf("rotation to v%d not finished: live replicas have not loaded it within %s; nothing was re-wrapped, so no request failed. "+
				"Give every replica the new key file (they re-read it every %s, or at once on SIGHUP), then run `linkvault keys rotate` again to resume",
				s.target(), wait, r.cfg.MasterKeyCheckInterval)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if s, err = r.state(ctx); err != nil {
			return err
		}
	}

	// Phase 3: re-wrap. No replica wraps with an older version any more, so one pass
	// leaves none behind; a second one covers a key created in between.
	ring := envelope.New(r.st, s.master, r.now)
	total := 0
	for range 2 {
		n, err := ring.RotateMaster(ctx)
		total += n
		if err != nil {
			return fmt.Errorf("re-wrapped %d data keys, then: %w (run `linkvault keys rotate` again to resume)", total, err)
		}
		if s, err = r.state(ctx); err != nil {
			return err
		}
		if s.behind() == 0 {
			break
		}
	}
	fmt.Fprintf(r.out, "%d data keys re-wrapped\n", total)
	s.print(r.out)
	if !s.complete() {
		return fmt.Errorf("rotation to v%d not finished; run `linkvault keys rotate` again", s.target())
	}
	return nil
}

// lockRotation makes concurrent `keys rotate` runs on one key file refuse rather than
// race (each would append its own version): a lock file beside the key file, created
// exclusively and removed when done.
func lockRotation(keyFile string) (unlock func(), err error) {
	if keyFile == "" {
		return func() {}, nil
	}
	lock := keyFile + ".rotate-lock"
	f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("another `linkvault keys rotate` is running on %s (if none is, it was interrupted: remove %s and run it again)", keyFile, lock)
		}
		return nil, err
	}
	_, _ = fmt.Fprintf(f, "pid %d since %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	_ = f.Close()
	return func() { _ = os.Remove(lock) }, nil
}
