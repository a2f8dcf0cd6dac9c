package storetest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

// t0 is the suite's reference instant: nanoseconds set (to prove stores keep at least
// microseconds) and a non-UTC zone (to prove stores compare instants, not wall clocks).
var t0 = time.Date(2031, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+05:30", 5*3600+1800))

// sameInstant compares two times at microsecond precision.
func sameInstant(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && b.IsZero()
	}
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func checkTime(t *testing.T, field string, want, got time.Time) {
	t.Helper()
	if !sameInstant(want, got) {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}

// checkEqual reports field when got differs from want.
func checkEqual[T comparable](t *testing.T, field string, want, got T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", field, got, want)
	}
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newConnection returns a fully populated connection not yet stored.
func newConnection(clientID, userID string, broker linkvault.BrokerType, scope linkvault.Permission) *linkvault.Connection {
	return &linkvault.Connection{
		TokenID: linkvault.NewTokenID(),
		ConnectionIdentity: linkvault.ConnectionIdentity{
			ClientID: clientID, UserID: userID, BrokerType: broker, Scope: scope,
		},
		UpstreamAccount:  "upstream-" + userID,
		Status:           linkvault.StatusActive,
		Accounts:         []linkvault.Account{{AccountID: "acc-1", AccountName: "Main", Fund: 12.5, Cash: 3.25}},
		SealedCredential: []byte("sealed-credential-" + linkvault.NewRandomID(8)),
		KeyVersion:       1,
		AccessExpiresAt:  t0.Add(time.Hour),
		RefreshExpiresAt: t0.Add(24 * time.Hour),
		NextCheckAt:      t0.Add(50 * time.Minute),
		CreatedAt:        t0,
	}
}

func mustCreateConnection(t *testing.T, s Store, c *linkvault.Connection, events ...linkvault.Event) *linkvault.Connection {
	t.Helper()
	if err := s.CreateConnection(t.Context(), c, events...); err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
	return c
}

func mustGetConnection(t *testing.T, s Store, clientID, tokenID string) *linkvault.Connection {
	t.Helper()
	c, err := s.GetConnection(t.Context(), clientID, tokenID)
	if err != nil {
		t.Fatalf("GetConnection(%q): %v", tokenID, err)
	}
	return c
}

func mustCreateClient(t *testing.T, s Store, id string) *linkvault.Client {
	t.Helper()
	c := &linkvault.Client{ID: id, Name: "Client " + id, CreatedAt: t0}
	if err := s.CreateClient(t.Context(), c); err != nil {
		t.Fatalf("CreateClient(%q): %v", id, err)
	}
	return c
}

func mustCreateLinkSession(t *testing.T, s Store, ls *linkvault.LinkSession) *linkvault.LinkSession {
	t.Helper()
	if err := s.CreateLinkSession(t.Context(), ls); err != nil {
		t.Fatalf("CreateLinkSession(%q): %v", ls.Key, err)
	}
	return ls
}

// checkConnection compares every field of got with want.
func checkConnection(t *testing.T, want, got *linkvault.Connection) {
	t.Helper()
	checkEqual(t, "TokenID", want.TokenID, got.TokenID)
	checkEqual(t, "identity", want.ConnectionIdentity, got.ConnectionIdentity)
	checkEqual(t, "Status", want.Status, got.Status)
	checkEqual(t, "UpstreamAccount", want.UpstreamAccount, got.UpstreamAccount)
	if !(len(got.Accounts) == 0 && len(want.Accounts) == 0) && !reflect.DeepEqual(got.Accounts, want.Accounts) {
		t.Errorf("Accounts = %+v, want %+v", got.Accounts, want.Accounts)
	}
	if !bytes.Equal(got.SealedCredential, want.SealedCredential) {
		t.Errorf("SealedCredential differs (%d bytes, want %d bytes)", len(got.SealedCredential), len(want.SealedCredential))
	}
	checkEqual(t, "KeyVersion", want.KeyVersion, got.KeyVersion)
	checkTime(t, "AccessExpiresAt", want.AccessExpiresAt, got.AccessExpiresAt)
	checkTime(t, "RefreshExpiresAt", want.RefreshExpiresAt, got.RefreshExpiresAt)
	checkTime(t, "NextCheckAt", want.NextCheckAt, got.NextCheckAt)
	checkEqual(t, "FailureCount", want.FailureCount, got.FailureCount)
	checkEqual(t, "LastError", want.LastError, got.LastError)
	checkEqual(t, "LeaseOwner", want.LeaseOwner, got.LeaseOwner)
	checkTime(t, "LeaseExpiresAt", want.LeaseExpiresAt, got.LeaseExpiresAt)
	checkEqual(t, "Version", want.Version, got.Version)
	checkTime(t, "CreatedAt", want.CreatedAt, got.CreatedAt)
	checkTime(t, "UpdatedAt", want.UpdatedAt, got.UpdatedAt)
}

// requireStatus fails unless err is a *linkvault.Error with the given envelope status.
func requireStatus(t *testing.T, op string, err error, status string) {
	t.Helper()
	var e *linkvault.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: err = %v, want a *linkvault.Error with status %s", op, err, status)
	}
	if e.Status != status {
		t.Fatalf("%s: status = %s (%v), want %s", op, e.Status, err, status)
	}
}

// requireTokenNotFound fails unless err is exactly linkvault.ErrTokenNotFound(), field
// for field and byte for byte.
func requireTokenNotFound(t *testing.T, op string, err error) {
	t.Helper()
	want := linkvault.ErrTokenNotFound()
	var e *linkvault.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: err = %v, want %v", op, err, want)
	}
	if *e != *want || err.Error() != want.Error() {
		t.Fatalf("%s: err = %#v, want exactly %#v", op, e, want)
	}
}

// drainConcurrently has claimers goroutines each call claim (with its number) until it
// returns nothing, and returns what each one claimed; a claim error fails the test.
func drainConcurrently[T any](t *testing.T, claimers int, claim func(w int) ([]T, error)) [][]T {
	t.Helper()
	claimed := make([][]T, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for w := range claimers {
		wg.Go(func() {
			for {
				got, err := claim(w)
				if err != nil {
					errs[w] = err
					return
				}
				if len(got) == 0 {
					return
				}
				claimed[w] = append(claimed[w], got...)
			}
		})
	}
	wg.Wait()
	for w, err := range errs {
		if err != nil {
			t.Fatalf("claimer %d: %v", w, err)
		}
	}
	return claimed
}
