package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// testLinkSessions covers link.Store: round trip, single-use consumption (also under
// concurrency), lookups by page and state key, compare-and-swap updates and the sweep.
func testLinkSessions(t *testing.T, s Store) {
	ctx := t.Context()
	newSession := func(key string, expires time.Time) *linkvault.LinkSession {
		return &linkvault.LinkSession{
			Key: key, ClientID: "app", UserID: "user-é-1", Permission: linkvault.PermissionWrite,
			Options:   linkvault.LinkOptions{RestrictMultipleAccounts: true, IntegrationID: "int-1", BrokerType: linkvault.BrokerCoinbase},
			CreatedAt: t0, ExpiresAt: expires,
		}
	}

	t.Run("RoundTrip", func(t *testing.T) {
		in := mustCreateLinkSession(t, s, newSession("k-roundtrip", t0.Add(10*time.Minute)))
		if in.Version != 1 {
			t.Fatalf("Version = %d after create, want 1", in.Version)
		}
		got, err := s.GetLinkSession(ctx, "k-roundtrip")
		if err != nil {
			t.Fatal(err)
		}
		if got.ClientID != in.ClientID || got.UserID != in.UserID || got.Permission != in.Permission || got.Options != in.Options {
			t.Fatalf("got %+v, want %+v", got, in)
		}
		checkTime(t, "CreatedAt", in.CreatedAt, got.CreatedAt)
		checkTime(t, "ExpiresAt", in.ExpiresAt, got.ExpiresAt)
		checkTime(t, "ConsumedAt", time.Time{}, got.ConsumedAt)
		if got.PageKey != "" || got.StateKey != "" || got.Pending != nil || got.Outcome != nil || got.Version != 1 {
			t.Fatalf("fresh session has step fields: %+v", got)
		}
		requireStatus(t, "duplicate create", s.CreateLinkSession(ctx, newSession("k-roundtrip", t0)), linkvault.StatusConflict)
		_, err = s.GetLinkSession(ctx, "k-missing")
		requireStatus(t, "get missing", err, linkvault.StatusNotFound)
	})

	// Concurrent creations are group-committed by the stores: every session is written
	// and answered, and a duplicate key fails only its own caller.
	t.Run("ConcurrentCreate", func(t *testing.T) {
		const distinct, dups = 40, 8
		errs := make([]error, distinct+dups)
		var wg sync.WaitGroup
		for i := range distinct + dups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("k-cc-%02d", i)
				if i >= distinct {
					key = "k-cc-dup"
				}
				in := newSession(key, t0.Add(10*time.Minute))
				errs[i] = s.CreateLinkSession(ctx, in)
				if errs[i] == nil && in.Version != 1 {
					errs[i] = fmt.Errorf("version %d after create", in.Version)
				}
			}()
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case i < distinct && err != nil:
				t.Errorf("create k-cc-%02d: %v", i, err)
			case i >= distinct && err == nil:
				won++
			case i >= distinct:
				requireStatus(t, "duplicate create", err, linkvault.StatusConflict)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d creations of one key succeeded, want 1", won, dups)
		}
		for i := range distinct {
			if got, err := s.GetLinkSession(ctx, fmt.Sprintf("k-cc-%02d", i)); err != nil || got.Version != 1 {
				t.Errorf("k-cc-%02d: %+v, %v", i, got, err)
			}
		}
	})

	t.Run("ConsumeOnce", func(t *testing.T) {
		mustCreateLinkSession(t, s, newSession("k-consume", t0.Add(10*time.Minute)))
		mustCreateLinkSession(t, s, newSession("k-expired", t0.Add(-time.Second)))
		at := t0.Add(time.Minute)
		got, err := s.ConsumeLinkSession(ctx, "k-consume", "page-1", at, at.Add(30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		checkTime(t, "ConsumedAt", at, got.ConsumedAt)
		checkTime(t, "ExpiresAt", at.Add(30*time.Minute), got.ExpiresAt)
		if got.PageKey != "page-1" || got.Version != 2 {
			t.Fatalf("consumed session = %+v", got)
		}
		for name, key := range map[string]string{"second use": "k-consume", "expired": "k-expired", "unknown": "k-nope"} {
			_, err := s.ConsumeLinkSession(ctx, key, "page-2", at, at.Add(time.Hour))
			requireStatus(t, "consume "+name, err, linkvault.StatusNotFound)
		}
		byPage, err := s.GetLinkSessionByPage(ctx, "page-1")
		if err != nil || byPage.Key != "k-consume" {
			t.Fatalf("GetLinkSessionByPage = %+v, %v", byPage, err)
		}
		_, err = s.GetLinkSessionByPage(ctx, "page-2")
		requireStatus(t, "page key of a refused consume", err, linkvault.StatusNotFound)
		_, err = s.GetLinkSessionByPage(ctx, "")
		requireStatus(t, "empty page key", err, linkvault.StatusNotFound)
	})

	t.Run("ConcurrentConsumeHasOneWinner", func(t *testing.T) {
		mustCreateLinkSession(t, s, newSession("k-race", t0.Add(10*time.Minute)))
		const n = 8
		var wg sync.WaitGroup
		wins := make(chan string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				page := "race-page-" + string(rune('a'+i))
				if _, err := s.ConsumeLinkSession(ctx, "k-race", page, t0, t0.Add(time.Hour)); err == nil {
					wins <- page
				} else if !linkvault.IsNotFound(err) {
					t.Errorf("consume: %v", err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var won []string
		for p := range wins {
			won = append(won, p)
		}
		if len(won) != 1 {
			t.Fatalf("%d consumers won, want exactly 1", len(won))
		}
		got, err := s.GetLinkSession(ctx, "k-race")
		if err != nil || got.PageKey != won[0] {
			t.Fatalf("stored page key %q, winner %q (%v)", got.PageKey, won[0], err)
		}
	})

	t.Run("UpdateCompareAndSwap", func(t *testing.T) {
		sess := mustCreateLinkSession(t, s, newSession("k-update", t0.Add(10*time.Minute)))
		stale := *sess
		sess.PageKey, sess.StateKey = "page-u", "state-u"
		sess.Pending, sess.PendingKeyVersion = []byte{0, 1, 2, 0xff}, 3
		sess.Outcome = []byte(`{"status":"connected"}`)
		if err := s.UpdateLinkSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		if sess.Version != 2 {
			t.Fatalf("Version = %d after update, want 2", sess.Version)
		}
		got, err := s.GetLinkSessionByState(ctx, "state-u")
		if err != nil {
			t.Fatal(err)
		}
		if got.PageKey != "page-u" || !bytes.Equal(got.Pending, sess.Pending) || got.PendingKeyVersion != 3 || got.Version != 2 {
			t.Fatalf("updated session = %+v", got)
		}
		if string(got.Outcome) != `{"status":"connected"}` {
			t.Fatalf("Outcome = %s", got.Outcome)
		}
		stale.StateKey = "state-stale"
		requireStatus(t, "stale update", s.UpdateLinkSession(ctx, &stale), linkvault.StatusConflict)
		if _, err := s.GetLinkSessionByState(ctx, "state-stale"); !linkvault.IsNotFound(err) {
			t.Fatalf("a refused update was written: %v", err)
		}

		// Clearing the step fields stores NULLs again.
		sess.StateKey, sess.Pending, sess.PendingKeyVersion, sess.Outcome = "", nil, 0, nil
		if err := s.UpdateLinkSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetLinkSession(ctx, "k-update")
		if err != nil {
			t.Fatal(err)
		}
		if got.StateKey != "" || len(got.Pending) != 0 || got.Outcome != nil || got.PageKey != "page-u" {
			t.Fatalf("cleared session = %+v", got)
		}
		_, err = s.GetLinkSessionByState(ctx, "state-u")
		requireStatus(t, "cleared state key", err, linkvault.StatusNotFound)

		missing := newSession("k-never", t0)
		missing.Version = 1
		requireStatus(t, "update missing", s.UpdateLinkSession(ctx, missing), linkvault.StatusNotFound)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		for i, exp := range []time.Duration{-3 * time.Hour, -2 * time.Hour, -time.Hour, time.Hour} {
			mustCreateLinkSession(t, s, newSession("k-sweep-"+string(rune('a'+i)), t0.Add(exp)))
		}
		// Sessions of the other sub-tests expire at t0+10min or later, or before t0.
		n, err := s.DeleteExpiredLinkSessions(ctx, t0.Add(-90*time.Minute), 1)
		if err != nil || n != 1 {
			t.Fatalf("first sweep deleted %d (%v), want 1 (the limit)", n, err)
		}
		n, err = s.DeleteExpiredLinkSessions(ctx, t0.Add(-90*time.Minute), 10)
		if err != nil || n != 1 {
			t.Fatalf("second sweep deleted %d (%v), want 1", n, err)
		}
		for key, want := range map[string]bool{"k-sweep-a": false, "k-sweep-b": false, "k-sweep-c": true, "k-sweep-d": true} {
			_, err := s.GetLinkSession(ctx, key)
			if exists := err == nil; exists != want {
				t.Errorf("%s exists = %v, want %v (%v)", key, exists, want, err)
			}
		}
	})
}
