package storetest

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func testTimeRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	utc := time.Date(2029, time.December, 31, 23, 59, 59, 999999999, time.UTC)
	west := time.Date(2030, time.January, 1, 0, 0, 0, 1000, time.FixedZone("UTC-08", -8*3600))
	tests := []struct {
		name                                string
		access, refresh, next, lease, start time.Time
	}{
		{"all zero optional times", time.Time{}, time.Time{}, time.Time{}, time.Time{}, t0},
		{"nanoseconds in UTC", utc, utc.Add(time.Nanosecond), utc.Add(-time.Nanosecond), utc.Add(time.Second), utc},
		{"fixed zone west", west, west.Add(time.Microsecond), west, west, west},
		{"unix epoch is not zero", time.Unix(0, 0), time.Unix(1, 0), time.Unix(0, 1000), time.Time{}, time.Unix(2, 0)},
	}
	for i, tt := range tests {
		c := newConnection("client-a", "user-"+string(rune('a'+i)), linkvault.BrokerSandbox, linkvault.PermissionRead)
		c.AccessExpiresAt, c.RefreshExpiresAt, c.NextCheckAt, c.CreatedAt = tt.access, tt.refresh, tt.next, tt.start
		c.LeaseOwner, c.LeaseExpiresAt = "", tt.lease
		if !tt.lease.IsZero() {
			c.LeaseOwner = "worker"
		}
		mustCreateConnection(t, s, c)
		got := mustGetConnection(t, s, "client-a", c.TokenID)
		t.Run(tt.name, func(t *testing.T) { checkConnection(t, c, got) })
	}

	// Setting times to zero through an update clears them.
	c := newConnection("client-a", "user-clear", linkvault.BrokerSandbox, linkvault.PermissionRead)
	c.LeaseOwner, c.LeaseExpiresAt = "worker", t0
	mustCreateConnection(t, s, c)
	c.AccessExpiresAt, c.RefreshExpiresAt, c.NextCheckAt = time.Time{}, time.Time{}, time.Time{}
	c.LeaseOwner, c.LeaseExpiresAt = "", time.Time{}
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	got := mustGetConnection(t, s, "client-a", c.TokenID)
	checkConnection(t, c, got)
	for name, v := range map[string]time.Time{"AccessExpiresAt": got.AccessExpiresAt, "RefreshExpiresAt": got.RefreshExpiresAt, "NextCheckAt": got.NextCheckAt, "LeaseExpiresAt": got.LeaseExpiresAt} {
		if !v.IsZero() {
			t.Errorf("%s = %v after clearing, want zero", name, v)
		}
	}

	// A required time left zero reads back as zero and compares as the earliest instant,
	// before the unix epoch (which SQLite's integer times would otherwise confuse with it).
	ls := &linkvault.LinkSession{Key: "k-zero-times", ClientID: "client-a", UserID: "u", Permission: linkvault.PermissionRead}
	if err := s.CreateLinkSession(ctx, ls); err != nil {
		t.Fatalf("CreateLinkSession with zero times: %v", err)
	}
	if got, err := s.GetLinkSession(ctx, ls.Key); err != nil || !got.CreatedAt.IsZero() || !got.ExpiresAt.IsZero() {
		t.Errorf("GetLinkSession = %+v, %v; want zero CreatedAt and ExpiresAt", got, err)
	}
	if n, err := s.DeleteExpiredLinkSessions(ctx, time.Unix(0, 0), 10); err != nil || n != 1 {
		t.Errorf("DeleteExpiredLinkSessions(before the epoch) = %d, %v; want the zero-time session", n, err)
	}

	// A revoked-at of zero stays zero.
	mustCreateClient(t, s, "client-a")
	k := newAPIKey("client-a", linkvault.PermissionRead, utc)
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	if got, err := s.GetAPIKey(ctx, k.ID); err != nil || !got.RevokedAt.IsZero() || !sameInstant(got.CreatedAt, utc) {
		t.Errorf("GetAPIKey = %+v, %v; want RevokedAt zero and CreatedAt %v", got, err, utc)
	}
}

func testAccountsRoundTrip(t *testing.T, s Store) {
	tests := []struct {
		name     string
		accounts []linkvault.Account
	}{
		{"none", nil},
		{"one", []linkvault.Account{{AccountID: "a1", AccountName: "Main", Fund: 100, Cash: 0}}},
		{"several with awkward text and numbers", []linkvault.Account{
			{AccountID: "a-1", AccountName: `Épargne "long" 💰 \ </script>`, Fund: 0.1, Cash: 1e-9},
			{AccountID: "a-2", AccountName: "", Fund: 12345678.875, Cash: -3.5},
			{AccountID: "a-3", AccountName: "日本語", Fund: 0, Cash: 42},
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConnection("client-a", "user-"+string(rune('a'+i)), linkvault.BrokerSandbox, linkvault.PermissionRead)
			c.Accounts = tt.accounts
			mustCreateConnection(t, s, c)
			got := mustGetConnection(t, s, "client-a", c.TokenID)
			if len(tt.accounts) == 0 {
				if len(got.Accounts) != 0 {
					t.Errorf("Accounts = %+v, want none", got.Accounts)
				}
				return
			}
			if !reflect.DeepEqual(got.Accounts, tt.accounts) {
				t.Errorf("Accounts = %+v, want %+v", got.Accounts, tt.accounts)
			}
		})
	}
}

func testLargeSealedCredential(t *testing.T, s Store) {
	ctx := t.Context()
	blob := randomBytes(t, 1<<20)
	blob[0], blob[len(blob)-1] = 0, 0 // embedded NULs must survive
	c := newConnection("client-a", "user-1", linkvault.BrokerSandbox, linkvault.PermissionRead)
	c.SealedCredential = blob
	mustCreateConnection(t, s, c)
	if got := mustGetConnection(t, s, "client-a", c.TokenID); !bytes.Equal(got.SealedCredential, blob) {
		t.Fatalf("1 MiB sealed credential did not round-trip (%d bytes back)", len(got.SealedCredential))
	}

	bigger := randomBytes(t, 2<<20)
	c.SealedCredential = bigger
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	if got := mustGetConnection(t, s, "client-a", c.TokenID); !bytes.Equal(got.SealedCredential, bigger) {
		t.Fatalf("2 MiB sealed credential did not round-trip (%d bytes back)", len(got.SealedCredential))
	}
}
