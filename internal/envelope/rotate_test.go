package envelope_test

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
)

type sealedRow struct {
	client, token string
	version       int
	ct            []byte
	plaintext     string
}

// sealRows seals one credential per client, and a second data key version for the
// first client, all under master v1.
func sealRows(t *testing.T, store *memStore, clients ...string) []sealedRow {
	t.Helper()
	k := newTestKeyring(t, store, 1)
	var rows []sealedRow
	for i, c := range clients {
		pt := fmt.Sprintf("credential of %s", c)
		ct, v := mustSeal(t, k, c, "tok-"+c, []byte(pt))
		rows = append(rows, sealedRow{c, "tok-" + c, v, ct, pt})
		if i == 0 {
			if _, err := k.NewDataKeyVersion(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			ct, v := mustSeal(t, k, c, "tok2-"+c, []byte(pt+" v2"))
			rows = append(rows, sealedRow{c, "tok2-" + c, v, ct, pt + " v2"})
		}
	}
	return rows
}

func openAll(t *testing.T, k *envelope.Keyring, rows []sealedRow) {
	t.Helper()
	for _, r := range rows {
		if got := mustOpen(t, k, r.client, r.token, r.version, r.ct); string(got) != r.plaintext {
			t.Fatalf("Open(%s/%s) = %q, want %q", r.client, r.token, got, r.plaintext)
		}
	}
}

func TestRotateMaster(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	rows := sealRows(t, store, "a", "b", "c")
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{1: 4}) {
		t.Fatalf("before rotation: keys per master version = %v", got)
	}

	// A reader that keeps running through the rotation with the old keyring.
	reader := newTestKeyring(t, store, 1)
	openAll(t, reader, rows)

	rotator := newTestKeyring(t, store, 1, 2)
	n, err := rotator.RotateMaster(ctx)
	if err != nil || n != 4 {
		t.Fatalf("RotateMaster = %d, %v; want 4, nil", n, err)
	}
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{2: 4}) {
		t.Fatalf("after rotation: keys per master version = %v", got)
	}
	if counts, err := rotator.DataKeysByMaster(ctx); err != nil || !maps.Equal(counts, map[int]int{2: 4}) {
		t.Fatalf("DataKeysByMaster = %v, %v", counts, err)
	}
	openAll(t, reader, rows) // cached keys keep working
	openAll(t, rotator, rows)

	// After rotation, a process holding only master v2 reads everything.
	openAll(t, newTestKeyring(t, store, 2), rows)

	// Rotating again is a no-op.
	if n, err := rotator.RotateMaster(ctx); err != nil || n != 0 {
		t.Fatalf("second RotateMaster = %d, %v; want 0, nil", n, err)
	}
	// A keyring whose current version is older than the stored wrapping leaves it alone.
	if n, err := newTestKeyring(t, store, 1).RotateMaster(ctx); err != nil || n != 0 {
		t.Fatalf("RotateMaster with older keyring = %d, %v; want 0, nil", n, err)
	}
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{2: 4}) {
		t.Fatalf("older keyring downgraded keys: %v", got)
	}
}

func TestOpenFailsCleanlyWithoutTheWrappingMasterKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name       string
		rotate     bool
		readerKeys []int
	}{
		{"old master missing before rotation", false, []int{2}},
		{"new master missing after rotation", true, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := newMemStore()
			rows := sealRows(t, store, "a")
			if tt.rotate {
				if _, err := newTestKeyring(t, store, 1, 2).RotateMaster(ctx); err != nil {
					t.Fatal(err)
				}
			}
			reader := newTestKeyring(t, store, tt.readerKeys...)
			for _, r := range rows {
				_, err := reader.Open(ctx, r.client, r.token, r.version, r.ct)
				assertGenericOpenError(t, err, []byte(r.plaintext))
				if !strings.Contains(err.Error(), "not in the keyring") {
					t.Errorf("log cause %q does not say the master key is missing", err)
				}
			}
		})
	}
}

func TestRotateMasterReportsKeysItCannotUnwrap(t *testing.T) {
	store := newMemStore()
	sealRows(t, store, "a", "b")
	// This keyring lacks v1, which wraps every key.
	n, err := newTestKeyring(t, store, 2).RotateMaster(context.Background())
	if err == nil || n != 0 {
		t.Fatalf("RotateMaster = %d, %v; want an error", n, err)
	}
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{1: 3}) {
		t.Fatalf("keys were changed: %v", got)
	}
}

func TestConcurrentRotationsDoNotClobber(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	rows := sealRows(t, store, "a", "b", "c", "d")
	rotators := []*envelope.Keyring{newTestKeyring(t, store, 1, 2), newTestKeyring(t, store, 1, 2)}
	counts := make([]int, len(rotators))
	errs := make([]error, len(rotators))
	var wg sync.WaitGroup
	for i, r := range rotators {
		wg.Go(func() { counts[i], errs[i] = r.RotateMaster(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("RotateMaster: %v", err)
		}
	}
	if total := counts[0] + counts[1]; total != len(rows) {
		t.Fatalf("re-wrapped %d keys in total, want %d (each exactly once)", total, len(rows))
	}
	openAll(t, newTestKeyring(t, store, 2), rows)
}

func TestRotateMasterRetriesAfterConflict(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	rows := sealRows(t, store, "a", "b")
	other := newTestKeyring(t, store, 1, 2)
	// Before the first rewrap lands, another rotator re-wraps everything.
	var started atomic.Bool
	store.beforeRewrap = func(string, int) {
		if started.CompareAndSwap(false, true) {
			if _, err := other.RotateMaster(ctx); err != nil {
				t.Errorf("other RotateMaster: %v", err)
			}
		}
	}
	rotator := envelope.New(store, testMaster(t, 1, 2), time.Now)
	n, err := rotator.RotateMaster(ctx)
	if err != nil || n != 0 {
		t.Fatalf("RotateMaster = %d, %v; want 0 (the other rotator did all), nil", n, err)
	}
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{2: 3}) {
		t.Fatalf("keys per master version = %v", got)
	}
	openAll(t, newTestKeyring(t, store, 2), rows)
}

func TestNewKeysUseCurrentMasterAfterSetMaster(t *testing.T) {
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	mustSeal(t, k, "a", "t", []byte("x"))
	k.SetMaster(testMaster(t, 1, 2))
	ct, v := mustSeal(t, k, "b", "t", []byte("y"))
	if got := store.masterVersions(); !maps.Equal(got, map[int]int{1: 1, 2: 1}) {
		t.Fatalf("keys per master version = %v, want the new client's key under v2", got)
	}
	mustOpen(t, newTestKeyring(t, store, 2), "b", "t", v, ct)
}

// TestCheckMaster: a keyring opens the stored data keys only when it holds every master
// version that wraps one, each being the very key that wrapped them; a key file whose v1
// is another key (same number) is caught before any request needs it.
func TestCheckMaster(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	k := newTestKeyring(t, store, 1)
	if err := k.CheckMaster(ctx, testMaster(t, 1)); err != nil {
		t.Fatalf("no data key yet: %v", err)
	}
	sealRows(t, store, "a", "b")
	for _, tc := range []struct {
		name   string
		master *envelope.MasterKeyring
		want   string
	}{
		{"the same keyring", testMaster(t, 1), ""},
		{"with a newer version added", testMaster(t, 1, 2), ""},
		{"lacking v1", testMaster(t, 2), "v1, which wraps data keys, is not in the keyring"},
		{"another key under v1", envelopetest.MasterKeyring(t), "not the key that wrapped"},
	} {
		err := k.CheckMaster(ctx, tc.master)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: CheckMaster = %v, want %q", tc.name, err, tc.want)
		}
	}
}
