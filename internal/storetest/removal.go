package storetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

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
		ls := &linkvault.LinkSession{Key: key, ClientID: "client-a", UserID: userID, Permission: linkvault.PermissionRead,
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if err := s.CreateLinkSession(ctx, ls); err != nil {
			t.Fatal(err)
		}
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
