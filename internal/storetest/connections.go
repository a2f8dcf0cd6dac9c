package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func testConnectionRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	c := newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	c.FailureCount = 2
	c.LastError = linkvault.ErrTypeProviderFailure
	mustCreateConnection(t, s, c)
	if c.Version != 1 {
		t.Errorf("Version after create = %d, want 1", c.Version)
	}
	if !sameInstant(c.UpdatedAt, c.CreatedAt) {
		t.Errorf("UpdatedAt after create = %v, want CreatedAt %v", c.UpdatedAt, c.CreatedAt)
	}
	checkConnection(t, c, mustGetConnection(t, s, "client-a", c.TokenID))

	// A zero CreatedAt is filled in by the store.
	d := newConnection("client-a", "user-2", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	d.CreatedAt = time.Time{}
	mustCreateConnection(t, s, d)
	if d.CreatedAt.IsZero() || d.UpdatedAt.IsZero() {
		t.Errorf("CreatedAt/UpdatedAt not set by create: %v / %v", d.CreatedAt, d.UpdatedAt)
	}
	checkConnection(t, d, mustGetConnection(t, s, "client-a", d.TokenID))

	if n, err := s.CountConnections(ctx); err != nil || n != 2 {
		t.Errorf("CountConnections = %d, %v; want 2", n, err)
	}
}

func testConnectionIdentityUnique(t *testing.T, s Store) {
	ctx := t.Context()
	first := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))

	tests := []struct {
		name     string
		conn     *linkvault.Connection
		conflict bool
	}{
		{"same identity, new tokenId", newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead), true},
		{"different scope", newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionWrite), false},
		{"different user", newConnection("client-a", "user-2", linkvault.BrokerCoinbase, linkvault.PermissionRead), false},
		{"different broker", newConnection("client-a", "user-1", linkvault.BrokerUphold, linkvault.PermissionRead), false},
		{"different client, same user id", newConnection("client-b", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead), false},
		{"same tokenId, other identity", func() *linkvault.Connection {
			c := newConnection("client-a", "user-9", linkvault.BrokerSandbox, linkvault.PermissionRead)
			c.TokenID = first.TokenID
			return c
		}(), true},
	}
	created := 1
	for _, tt := range tests {
		err := s.CreateConnection(ctx, tt.conn)
		if tt.conflict {
			requireStatus(t, tt.name, err, linkvault.StatusConflict)
			continue
		}
		if err != nil {
			t.Errorf("%s: CreateConnection: %v", tt.name, err)
			continue
		}
		created++
		if tt.conn.TokenID == first.TokenID {
			t.Errorf("%s: reused the first tokenId", tt.name)
		}
	}
	if n, err := s.CountConnections(ctx); err != nil || n != int64(created) {
		t.Errorf("CountConnections = %d, %v; want %d", n, err, created)
	}
	// The conflicting creates left the original untouched.
	checkConnection(t, first, mustGetConnection(t, s, "client-a", first.TokenID))
}

// testTokenNotFoundHasNoOracle checks that a never-issued tokenId, another client's
// tokenId and a deleted tokenId all get byte-identical errors, on every operation.
func testTokenNotFoundHasNoOracle(t *testing.T, s Store) {
	ctx := t.Context()
	mine := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	theirs := mustCreateConnection(t, s, newConnection("client-b", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	gone := mustCreateConnection(t, s, newConnection("client-a", "user-2", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	if err := s.DeleteConnection(ctx, "client-a", gone.TokenID); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}

	for _, tc := range []struct{ name, tokenID string }{
		{"never issued", linkvault.NewTokenID()},
		{"another client's", theirs.TokenID},
		{"deleted", gone.TokenID},
	} {
		_, err := s.GetConnection(ctx, "client-a", tc.tokenID)
		requireTokenNotFound(t, "GetConnection "+tc.name, err)
		requireTokenNotFound(t, "DeleteConnection "+tc.name, s.DeleteConnection(ctx, "client-a", tc.tokenID))
		probe := *mine
		probe.TokenID = tc.tokenID
		requireTokenNotFound(t, "UpdateConnection "+tc.name, s.UpdateConnection(ctx, &probe))
	}
	// The probes changed nothing.
	checkConnection(t, theirs, mustGetConnection(t, s, "client-b", theirs.TokenID))
	checkConnection(t, mine, mustGetConnection(t, s, "client-a", mine.TokenID))
}

func testFindAndListConnections(t *testing.T, s Store) {
	ctx := t.Context()
	var user1 []string
	for _, c := range []*linkvault.Connection{
		newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead),
		newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionWrite),
		newConnection("client-a", "user-1", linkvault.BrokerUphold, linkvault.PermissionRead),
	} {
		user1 = append(user1, mustCreateConnection(t, s, c).TokenID)
	}
	mustCreateConnection(t, s, newConnection("client-a", "user-2", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	mustCreateConnection(t, s, newConnection("client-b", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))

	id := linkvault.ConnectionIdentity{ClientID: "client-a", UserID: "user-1", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionWrite}
	found, err := s.FindConnection(ctx, id)
	if err != nil {
		t.Fatalf("FindConnection: %v", err)
	}
	if found.TokenID != user1[1] || found.ConnectionIdentity != id {
		t.Errorf("FindConnection = %s %+v, want %s", found.TokenID, found.ConnectionIdentity, user1[1])
	}
	for _, missing := range []linkvault.ConnectionIdentity{
		{ClientID: "client-a", UserID: "user-1", BrokerType: linkvault.BrokerBinance, Scope: linkvault.PermissionRead},
		{ClientID: "client-a", UserID: "user-2", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionWrite},
		{ClientID: "client-c", UserID: "user-1", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
	} {
		_, err := s.FindConnection(ctx, missing)
		requireStatus(t, "FindConnection missing", err, linkvault.StatusNotFound)
	}

	list, err := s.ListUserConnections(ctx, "client-a", "user-1")
	if err != nil {
		t.Fatalf("ListUserConnections: %v", err)
	}
	var got []string
	for _, c := range list {
		if c.ClientID != "client-a" || c.UserID != "user-1" {
			t.Errorf("ListUserConnections returned %+v", c.ConnectionIdentity)
		}
		got = append(got, c.TokenID)
	}
	slices.Sort(got)
	slices.Sort(user1)
	if !slices.Equal(got, user1) {
		t.Errorf("ListUserConnections = %v, want %v", got, user1)
	}
	if list, err := s.ListUserConnections(ctx, "client-a", "user-404"); err != nil || len(list) != 0 {
		t.Errorf("ListUserConnections(unknown user) = %d, %v; want none, nil", len(list), err)
	}
}

func testUpdateConnection(t *testing.T, s Store) {
	ctx := t.Context()
	c := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	stale := *c

	c.Status = linkvault.StatusReauthRequired
	c.UpstreamAccount = "upstream-after-reconnect"
	c.Accounts = []linkvault.Account{{AccountID: "acc-2", AccountName: "Savings", Fund: 1, Cash: 0.5}}
	c.SealedCredential = []byte("resealed")
	c.KeyVersion = 2
	c.AccessExpiresAt = t0.Add(2 * time.Hour)
	c.RefreshExpiresAt = t0.Add(48 * time.Hour)
	c.NextCheckAt = t0.Add(90 * time.Minute)
	c.FailureCount = 3
	c.LastError = linkvault.ErrTypeReauthRequired
	c.LeaseOwner = "worker-1"
	c.LeaseExpiresAt = t0.Add(time.Minute)
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	if c.Version != 2 {
		t.Errorf("Version after update = %d, want 2", c.Version)
	}
	if c.UpdatedAt.IsZero() {
		t.Errorf("UpdatedAt not set by update")
	}
	checkConnection(t, c, mustGetConnection(t, s, "client-a", c.TokenID))

	// A writer holding the old version loses, and changes nothing.
	stale.Status = linkvault.StatusActive
	stale.SealedCredential = []byte("lost update")
	requireStatus(t, "UpdateConnection with stale version", s.UpdateConnection(ctx, &stale), linkvault.StatusConflict)
	if stale.Version != 1 {
		t.Errorf("failed update changed the caller's Version to %d", stale.Version)
	}
	checkConnection(t, c, mustGetConnection(t, s, "client-a", c.TokenID))

	// Identity and CreatedAt are not mutable through UpdateConnection.
	moved := *c
	moved.UserID = "user-2"
	moved.CreatedAt = t0.Add(-time.Hour)
	if err := s.UpdateConnection(ctx, &moved); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	got := mustGetConnection(t, s, "client-a", c.TokenID)
	if got.UserID != "user-1" || !sameInstant(got.CreatedAt, c.CreatedAt) || got.Version != 3 {
		t.Errorf("after update: user %q created %v version %d; want user-1, %v, 3", got.UserID, got.CreatedAt, got.Version, c.CreatedAt)
	}
}

func testDeleteConnection(t *testing.T, s Store) {
	ctx := t.Context()
	c := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	keep := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionWrite))

	requireTokenNotFound(t, "DeleteConnection by another client", s.DeleteConnection(ctx, "client-b", c.TokenID))
	mustGetConnection(t, s, "client-a", c.TokenID)

	if err := s.DeleteConnection(ctx, "client-a", c.TokenID); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	_, err := s.GetConnection(ctx, "client-a", c.TokenID)
	requireTokenNotFound(t, "GetConnection after delete", err)
	requireTokenNotFound(t, "DeleteConnection twice", s.DeleteConnection(ctx, "client-a", c.TokenID))
	_, err = s.FindConnection(ctx, c.ConnectionIdentity)
	requireStatus(t, "FindConnection after delete", err, linkvault.StatusNotFound)
	if n, err := s.CountConnections(ctx); err != nil || n != 1 {
		t.Errorf("CountConnections after delete = %d, %v; want 1", n, err)
	}
	checkConnection(t, keep, mustGetConnection(t, s, "client-a", keep.TokenID))

	// The identity is free again: a new connection gets a new tokenId, never the old one back.
	again := newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	mustCreateConnection(t, s, again)
	_, err = s.GetConnection(ctx, "client-a", c.TokenID)
	requireTokenNotFound(t, "old tokenId after reconnect", err)
}

// testRemovalForgetsTheConnection (issue 15, failure 5): RemoveConnection deletes, in
// its transaction, the Link sessions whose outcome names the tokenId and its transfer
// previews; it replaces the tokenId by the fingerprint in the client's audit trail and
// ledger, dropping the ledger answer's identifying fields; it minimises the finished
// events still naming it. Other connections', users' and clients' records stay.
// Delivered events are minimised at delivery.
func testRemovalForgetsTheConnection(t *testing.T, s Store) {
	ctx := t.Context()
	c := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	sibling := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerUphold, linkvault.PermissionRead))
	const fp = "fp1:0123456789abcdef0123456789abcdef"

	session := func(key, userID string, outcome []byte) {
		t.Helper()
		ls := mustCreateLinkSession(t, s, &linkvault.LinkSession{Key: key, ClientID: "client-a", UserID: userID, Permission: linkvault.PermissionRead,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)})
		if outcome != nil {
			ls.Outcome = outcome
			if err := s.UpdateLinkSession(ctx, ls); err != nil {
				t.Fatal(err)
			}
		}
	}
	session("s-of-c", "user-1", []byte(`{"status":"connected","payload":{"accountTokens":[{"accessToken":"`+c.TokenID+`"}]}}`))
	session("s-of-sibling", "user-1", []byte(`{"status":"connected","payload":{"accountTokens":[{"accessToken":"`+sibling.TokenID+`"}]}}`))
	session("s-pending", "user-1", nil)
	// A tokenId's characters as LIKE wildcards must not match another session.
	session("s-like", "user-1", []byte(`{"x":"`+strings.Repeat("x", len(c.TokenID))+`"}`))

	for _, p := range []*linkvault.TransferPreviewRecord{
		{ID: "p-of-c", ClientID: "client-a", TokenID: c.TokenID, ClientTransactionID: "tx-p1", Request: json.RawMessage(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{ID: "p-of-sibling", ClientID: "client-a", TokenID: sibling.TokenID, ClientTransactionID: "tx-p2", Request: json.RawMessage(`{}`), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := s.CreateTransferPreview(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	audit := []linkvault.AuditEntry{
		{ClientID: "client-a", KeyID: "k", TokenID: c.TokenID, TokenRef: linkvault.TokenFingerprint(c.TokenID), Action: "holdings.get", Outcome: "ok", CreatedAt: t0},
		{ClientID: "client-a", KeyID: "k", TokenRef: linkvault.TokenFingerprint(c.TokenID), Action: "holdings.get", Outcome: "notFound", CreatedAt: t0},
		{ClientID: "client-a", KeyID: "k", TokenID: sibling.TokenID, TokenRef: linkvault.TokenFingerprint(sibling.TokenID), Action: "holdings.get", Outcome: "ok", CreatedAt: t0},
		{ClientID: "client-b", KeyID: "k2", TokenRef: linkvault.TokenFingerprint(c.TokenID), Action: "holdings.get", Outcome: "notFound", CreatedAt: t0},
	}
	if err := s.AppendAudit(ctx, audit); err != nil {
		t.Fatal(err)
	}
	for _, tr := range []struct{ id, tok string }{{"tx-c", c.TokenID}, {"tx-sibling", sibling.TokenID}} {
		rec := &linkvault.TransferRecord{ClientID: "client-a", ClientTransactionID: tr.id, TokenID: tr.tok, RequestHash: []byte("h"), CreatedAt: t0}
		got, _, err := s.ClaimTransfer(ctx, rec, t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		got.Status = linkvault.TransferCompleted
		got.Result = json.RawMessage(`{"status":"succeeded","amount":"0.5","userId":"user-1","accountId":"acc-9","nested":[{"tokenId":"` + tr.tok + `","fee":"0.1"}]}`)
		if err := s.FinishTransfer(ctx, got); err != nil {
			t.Fatal(err)
		}
	}
	// One event delivered (minimised at delivery; TestRemovalLeavesNothingIdentifying
	// reads the rows raw), one still pending.
	delivered := linkvault.Event{ID: "evt-delivered", Type: linkvault.EventConnectionCreated, Data: json.RawMessage(`{"tokenId":"` + c.TokenID + `","userId":"user-1"}`), CreatedAt: t0}
	pending := linkvault.Event{ID: "evt-pending", Type: linkvault.EventReauthRequired, Data: json.RawMessage(`{"tokenId":"` + c.TokenID + `","userId":"user-1"}`), CreatedAt: t0.Add(time.Hour)}
	if err := s.UpdateConnection(ctx, c, delivered, pending); err != nil {
		t.Fatal(err)
	}
	claims, err := s.ClaimWebhookEvents(ctx, t0, "w", t0.Add(time.Minute), 10)
	if err != nil || len(claims) != 1 || claims[0].Event.ID != "evt-delivered" {
		t.Fatalf("claim: %v %v", claims, err)
	}
	if err := s.RecordWebhookAttempt(ctx, linkvault.WebhookAttempt{EventID: "evt-delivered", ClientID: "client-a", Lease: claims[0].Lease,
		Attempt: 1, Outcome: linkvault.WebhookDelivered, StatusCode: 204, AttemptedAt: t0}); err != nil {
		t.Fatal(err)
	}
	evs := pendingEvents(t, s, "client-a")
	if len(evs) != 1 || evs[0].ID != "evt-pending" {
		t.Fatalf("pending events %v", evs)
	}

	if err := s.RemoveConnection(ctx, linkvault.Removal{ClientID: "client-a", TokenID: c.TokenID, Fingerprint: fp}); err != nil {
		t.Fatal(err)
	}

	for key, want := range map[string]bool{"s-of-c": false, "s-of-sibling": true, "s-pending": true, "s-like": true} {
		_, err := s.GetLinkSession(ctx, key)
		if got := err == nil; got != want {
			t.Errorf("link session %s kept = %v, want %v (%v)", key, got, want, err)
		}
	}
	if _, err := s.GetTransferPreview(ctx, "client-a", "p-of-c"); !linkvault.IsNotFound(err) {
		t.Errorf("preview of the removed connection: %v, want not found", err)
	}
	if _, err := s.GetTransferPreview(ctx, "client-a", "p-of-sibling"); err != nil {
		t.Errorf("preview of another connection: %v", err)
	}

	trail, err := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "client-a", TokenID: c.TokenID, Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 {
		t.Fatalf("%d audit entries under the fingerprint, want the connection's 2", len(trail))
	}
	for _, e := range trail {
		if e.TokenID != "" || e.TokenRef != fp {
			t.Errorf("audit entry kept tokenId %q / ref %q", e.TokenID, e.TokenRef)
		}
	}
	if others, _ := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "client-a", TokenID: sibling.TokenID}); len(others) != 1 || others[0].TokenID != sibling.TokenID {
		t.Errorf("the sibling's audit entries changed: %+v", others)
	}
	if b, _ := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: "client-b", TokenID: c.TokenID}); len(b) != 1 {
		t.Errorf("another client's records changed: %+v", b)
	}

	rec, err := s.GetTransfer(ctx, "client-a", "tx-c")
	if err != nil {
		t.Fatal(err)
	}
	if rec.TokenID != fp || strings.Contains(string(rec.Result), "user-1") || strings.Contains(string(rec.Result), "acc-9") ||
		strings.Contains(string(rec.Result), c.TokenID) || !strings.Contains(string(rec.Result), `"amount":"0.5"`) || !strings.Contains(string(rec.Result), `"fee":"0.1"`) {
		t.Errorf("ledger record after removal: token %q, result %s", rec.TokenID, rec.Result)
	}
	if rec, err := s.GetTransfer(ctx, "client-a", "tx-sibling"); err != nil || rec.TokenID != sibling.TokenID || !strings.Contains(string(rec.Result), "user-1") {
		t.Errorf("another connection's ledger record changed: %+v %v", rec, err)
	}
	// The pending event keeps its payload until it is delivered.
	evs = pendingEvents(t, s, "client-a")
	if len(evs) != 1 || !strings.Contains(string(evs[0].Data), c.TokenID) {
		t.Fatalf("pending events after removal: %+v", evs)
	}
}

// testAuditAfterRemovalKeepsNoTokenID: an audit entry that reaches the store after its
// connection was removed (recorded by a call in flight during the removal) is stored
// without the tokenId.
func testAuditAfterRemovalKeepsNoTokenID(t *testing.T, s Store) {
	ctx := t.Context()
	c := mustCreateConnection(t, s, newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	if err := s.RemoveConnection(ctx, linkvault.Removal{ClientID: "client-a", TokenID: c.TokenID, Fingerprint: "fp1:x"}); err != nil {
		t.Fatal(err)
	}
	live := mustCreateConnection(t, s, newConnection("client-a", "user-2", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	if err := s.AppendAudit(ctx, []linkvault.AuditEntry{
		{ClientID: "client-a", TokenID: c.TokenID, TokenRef: linkvault.TokenFingerprint(c.TokenID), Action: "holdings.get", Outcome: "ok", CreatedAt: t0},
		{ClientID: "client-a", TokenID: live.TokenID, TokenRef: linkvault.TokenFingerprint(live.TokenID), Action: "holdings.get", Outcome: "ok", CreatedAt: t0},
		{ClientID: "client-b", TokenID: live.TokenID, TokenRef: linkvault.TokenFingerprint(live.TokenID), Action: "holdings.get", Outcome: "ok", CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		client, tok, want string
	}{{"client-a", c.TokenID, ""}, {"client-a", live.TokenID, live.TokenID}, {"client-b", live.TokenID, ""}} {
		got, err := s.ListAudit(ctx, linkvault.AuditQuery{ClientID: tt.client, TokenID: tt.tok})
		if err != nil || len(got) != 1 || got[0].TokenID != tt.want {
			t.Errorf("%s's entry of %s: %+v %v, want tokenId %q", tt.client, tt.tok, got, err, tt.want)
		}
	}
}

// testListConnectionsSealedIn: the re-seal pass's walk visits every row of every
// client sealed in the asked format once, in tokenId order, page by page, and no other.
func testListConnectionsSealedIn(t *testing.T, s Store) {
	ctx := t.Context()
	want := map[string]bool{}
	for i, client := range []string{"client-a", "client-b"} {
		for u := range 4 {
			c := newConnection(client, fmt.Sprintf("user-%d-%d", i, u), linkvault.BrokerCoinbase, linkvault.PermissionRead)
			if u%2 == 0 {
				c.SealedCredential = append([]byte{1}, c.SealedCredential...)
				want[c.TokenID] = true
			} else {
				c.SealedCredential = append([]byte{2}, c.SealedCredential...)
			}
			mustCreateConnection(t, s, c)
		}
	}
	seen := map[string]bool{}
	after := ""
	for {
		page, err := s.ListConnectionsSealedIn(ctx, 1, after, 3)
		if err != nil {
			t.Fatalf("ListConnectionsSealedIn(%q): %v", after, err)
		}
		for _, c := range page {
			if c.TokenID <= after || seen[c.TokenID] || !want[c.TokenID] {
				t.Fatalf("tokenId %q out of order after %q, repeated, or not in format 1", c.TokenID, after)
			}
			seen[c.TokenID] = true
			after = c.TokenID
		}
		if len(page) < 3 {
			break
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("walk saw %d format 1 connections, want %d", len(seen), len(want))
	}
}

// testUpdateConnectionConcurrent: updates made at once (which a store may group into
// shared transactions) each get their own answer: every up-to-date update commits
// with its events, a stale one is a conflict and a vanished row is tokenNotFound,
// both writing nothing, and an update whose event cannot be written (a duplicate event
// id) fails alone: the updates made with it still commit.
func testUpdateConnectionConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const rows = 24
	conns := make([]*linkvault.Connection, rows+2)
	for i := range conns {
		conns[i] = mustCreateConnection(t, s, newConnection("client-a", fmt.Sprintf("user-cu-%02d", i), linkvault.BrokerCoinbase, linkvault.PermissionRead))
	}
	event := func(id, tokenID string) linkvault.Event {
		return linkvault.Event{ID: id, ClientID: "client-a", Type: linkvault.EventExpiryWarning, TokenID: tokenID, CreatedAt: t0, Data: []byte(`{}`)}
	}
	type update struct {
		name  string
		c     *linkvault.Connection
		event linkvault.Event
		err   error
	}
	var updates []*update
	for i, c := range conns {
		next := *c
		next.SealedCredential = []byte(fmt.Sprintf("sealed-v2-%02d", i))
		id := fmt.Sprintf("evt-cu-%02d", i)
		if i >= rows {
			id = "evt-cu-dup" // the last two rows' events share an id: one of them must fail
		}
		updates = append(updates, &update{name: "fresh " + id, c: &next, event: event(id, c.TokenID)})
		if i%2 == 0 && i < rows {
			stale := *c
			stale.Version = 99
			stale.SealedCredential = []byte("lost update")
			updates = append(updates, &update{name: fmt.Sprintf("stale %02d", i), c: &stale, event: event(fmt.Sprintf("evt-stale-%02d", i), c.TokenID)})
		}
	}
	for i := range 4 {
		gone := *newConnection("client-a", "user-gone", linkvault.BrokerCoinbase, linkvault.PermissionRead)
		gone.Version = 1
		updates = append(updates, &update{name: fmt.Sprintf("gone %d", i), c: &gone, event: event(fmt.Sprintf("evt-gone-%d", i), gone.TokenID)})
	}
	var wg sync.WaitGroup
	for _, u := range updates {
		wg.Go(func() { u.err = s.UpdateConnection(ctx, u.c, u.event) })
	}
	wg.Wait()

	dupOK := 0
	for _, u := range updates {
		switch {
		case strings.HasPrefix(u.name, "stale"):
			requireStatus(t, u.name, u.err, linkvault.StatusConflict)
		case strings.HasPrefix(u.name, "gone"):
			requireTokenNotFound(t, u.name, u.err)
		case u.event.ID == "evt-cu-dup" && u.err == nil:
			dupOK++
		case u.event.ID == "evt-cu-dup":
			// Failed: the row keeps its first version.
			if got := mustGetConnection(t, s, "client-a", u.c.TokenID); got.Version != 1 {
				t.Errorf("%s failed (%v) but the row moved to version %d", u.name, u.err, got.Version)
			}
		case u.err != nil:
			t.Errorf("%s: %v", u.name, u.err)
		case u.c.Version != 2:
			t.Errorf("%s: Version %d after the update, want 2", u.name, u.c.Version)
		}
	}
	if dupOK != 1 {
		t.Errorf("%d of the 2 updates with one event id succeeded, want 1", dupOK)
	}
	want := []string{"evt-cu-dup"}
	for i := range rows {
		want = append(want, fmt.Sprintf("evt-cu-%02d", i))
		got := mustGetConnection(t, s, "client-a", conns[i].TokenID)
		if got.Version != 2 || string(got.SealedCredential) != fmt.Sprintf("sealed-v2-%02d", i) {
			t.Errorf("row %02d: version %d sealed %q; want 2 and its own update", i, got.Version, got.SealedCredential)
		}
	}
	got := eventIDs(pendingEvents(t, s, "client-a"))
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("pending events %v, want %v (no event of a failed update)", got, want)
	}

	// Updates without events (a store may send such a batch as single statements at
	// once): each row moves on once, stale and vanished ones are told apart.
	var fresh, stale, gone []*linkvault.Connection
	var errs []error
	var mu sync.Mutex
	var wg2 sync.WaitGroup
	for i := range rows {
		c := mustGetConnection(t, s, "client-a", conns[i].TokenID)
		c.SealedCredential = []byte(fmt.Sprintf("sealed-v3-%02d", i))
		fresh = append(fresh, c)
		old := *c
		old.Version = 1
		stale = append(stale, &old)
		g := *newConnection("client-a", "user-gone", linkvault.BrokerCoinbase, linkvault.PermissionRead)
		g.Version = 2
		gone = append(gone, &g)
	}
	run := func(c *linkvault.Connection, check func(error) error) {
		wg2.Go(func() {
			if err := check(s.UpdateConnection(ctx, c)); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	for i := range rows {
		run(fresh[i], func(err error) error { return err })
		run(stale[i], func(err error) error {
			if linkvault.ErrorStatus(err) != linkvault.StatusConflict {
				return fmt.Errorf("stale update %02d: %v, want a conflict", i, err)
			}
			return nil
		})
		run(gone[i], func(err error) error {
			want := linkvault.ErrTokenNotFound()
			if e := (*linkvault.Error)(nil); !errors.As(err, &e) || *e != *want || err.Error() != want.Error() {
				return fmt.Errorf("update of a missing row %02d: %v, want tokenNotFound", i, err)
			}
			return nil
		})
	}
	wg2.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	for i := range rows {
		got := mustGetConnection(t, s, "client-a", conns[i].TokenID)
		if got.Version != 3 || fresh[i].Version != 3 || string(got.SealedCredential) != fmt.Sprintf("sealed-v3-%02d", i) {
			t.Errorf("row %02d after the second round: version %d (caller's %d) sealed %q; want 3 and its update", i, got.Version, fresh[i].Version, got.SealedCredential)
		}
	}
}

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
	mustCreateLinkSession(t, s, ls)
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
