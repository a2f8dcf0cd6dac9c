package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
)

func pendingEvents(t *testing.T, s Store, clientID string) []linkvault.Event {
	t.Helper()
	events, err := s.PendingEvents(t.Context(), clientID)
	if err != nil {
		t.Fatalf("PendingEvents(%s): %v", clientID, err)
	}
	return events
}

func eventIDs(events []linkvault.Event) []string {
	ids := make([]string, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	return ids
}

func checkEventIDs(t *testing.T, step string, events []linkvault.Event, want ...string) {
	t.Helper()
	got := eventIDs(events)
	if len(got) != len(want) {
		t.Fatalf("%s: pending events %v, want %v", step, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: pending events %v, want %v", step, got, want)
		}
	}
}

// testEventsAtomic checks that mutations write their events in the same transaction:
// a successful change writes them, a failed one writes none.
func testEventsAtomic(t *testing.T, s Store) {
	ctx := t.Context()
	ev := func(id, typ string, at time.Time, tokenID string) linkvault.Event {
		return linkvault.Event{
			ID: id, ClientID: "client-a", Type: typ, TokenID: tokenID, CreatedAt: at,
			Data: json.RawMessage(`{"tokenId":"` + tokenID + `","brokerType":"coinbase","n":[1,2.5]}`),
		}
	}

	c := newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	created := ev("evt-1", linkvault.EventConnectionCreated, t0, c.TokenID)
	mustCreateConnection(t, s, c, created)
	got := pendingEvents(t, s, "client-a")
	checkEventIDs(t, "after create", got, "evt-1")
	e := got[0]
	if e.ClientID != created.ClientID || e.Type != created.Type || e.TokenID != created.TokenID ||
		string(e.Data) != string(created.Data) || !sameInstant(e.CreatedAt, created.CreatedAt) {
		t.Errorf("stored event = %+v (data %s), want %+v (data %s)", e, e.Data, created, created.Data)
	}

	// A create that conflicts writes nothing.
	dup := newConnection("client-a", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	requireStatus(t, "CreateConnection duplicate", s.CreateConnection(ctx, dup, ev("evt-dup", linkvault.EventConnectionCreated, t0, dup.TokenID)), linkvault.StatusConflict)
	checkEventIDs(t, "after conflicting create", pendingEvents(t, s, "client-a"), "evt-1")

	// A failed compare-and-swap writes nothing.
	stale := *c
	stale.Version = 99
	stale.Status = linkvault.StatusReauthRequired
	requireStatus(t, "UpdateConnection stale", s.UpdateConnection(ctx, &stale, ev("evt-stale", linkvault.EventReauthRequired, t0.Add(time.Second), c.TokenID)), linkvault.StatusConflict)
	checkEventIDs(t, "after failed update", pendingEvents(t, s, "client-a"), "evt-1")

	// A successful update writes all its events.
	c.Status = linkvault.StatusReauthRequired
	if err := s.UpdateConnection(ctx, c,
		ev("evt-2", linkvault.EventReauthRequired, t0.Add(2*time.Second), c.TokenID),
		ev("evt-3", linkvault.EventExpiryWarning, t0.Add(3*time.Second), c.TokenID)); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	checkEventIDs(t, "after update", pendingEvents(t, s, "client-a"), "evt-1", "evt-2", "evt-3")

	// A delete of a token that is not the caller's writes nothing, for either client.
	other := mustCreateConnection(t, s, newConnection("client-b", "user-1", linkvault.BrokerCoinbase, linkvault.PermissionRead))
	requireTokenNotFound(t, "DeleteConnection of another client's token",
		s.DeleteConnection(ctx, "client-a", other.TokenID, ev("evt-steal", linkvault.EventConnectionRemoved, t0.Add(4*time.Second), other.TokenID)))
	checkEventIDs(t, "after refused delete", pendingEvents(t, s, "client-a"), "evt-1", "evt-2", "evt-3")
	checkEventIDs(t, "other client after refused delete", pendingEvents(t, s, "client-b"))

	if err := s.DeleteConnection(ctx, "client-a", c.TokenID, ev("evt-4", linkvault.EventConnectionRemoved, t0.Add(5*time.Second), c.TokenID)); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	checkEventIDs(t, "after delete", pendingEvents(t, s, "client-a"), "evt-1", "evt-2", "evt-3", "evt-4")

	// Empty fields are filled from the mutation: ID, client, tokenId, time, data.
	d := newConnection("client-b", "user-2", linkvault.BrokerUphold, linkvault.PermissionRead)
	mustCreateConnection(t, s, d, linkvault.Event{Type: linkvault.EventConnectionCreated})
	got = pendingEvents(t, s, "client-b")
	if len(got) != 1 {
		t.Fatalf("client-b pending events = %v, want 1", eventIDs(got))
	}
	if e := got[0]; e.ID == "" || e.ClientID != "client-b" || e.TokenID != d.TokenID || e.CreatedAt.IsZero() || !json.Valid(e.Data) {
		t.Errorf("defaulted event = %+v (data %s)", e, e.Data)
	}
}
