package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/vault"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// These tests run the vault as `linkvault serve` assembles it (linktest.Stack: the real
// Coinbase adapter, the revocation queue, SQLite) against the simulated Coinbase over
// HTTP, and read the simulator's exact counters: a grant is live until the exchange
// revoked it (RFC 7009 POST /oauth2/revoke, which the adapter calls for the access and
// the refresh token, as Coinbase documents: cbDocsOAuth in internal/provider).

// reconnect mints a fresh grant for login at the simulated exchange (as a user's
// consent would) and connects it as (app1, user, coinbase, read), as Link does after
// every successful login.
func reconnect(t *testing.T, st *linktest.Stack, user, login string, tokenID string) *linkvault.Connection {
	t.Helper()
	tr, err := st.Sim.Coinbase.MintGrant(login)
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "app1", UserID: user, BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
		Credential:         linktest.Credential(tr, login, st.Clock.Now()),
		Accounts:           []linkvault.Account{{AccountID: "acct-" + login, AccountName: "Main"}},
		TokenID:            tokenID,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// runQueue runs the app's revocation queue workers until the test ends (the stack
// leaves background services off).
func runQueue(t *testing.T, st *linktest.Stack) {
	t.Helper()
	if err := st.App.Revocations.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.App.Revocations.Stop(context.Background()) })
}

// waitFor polls cond for up to a minute (a bound against hanging, not a timing
// assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	proctest.WaitFor(t, what, time.Minute, 20*time.Millisecond, cond)
}

func queueDepth(t *testing.T, st *linktest.Stack) int64 {
	t.Helper()
	total, _, err := st.DB.CountRevocations(context.Background(), st.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestReconnectsRevokeSupersededGrants (issue 13, defect 1): a first connect and four
// reconnects of the same identity keep one tokenId, and the simulated Coinbase ends
// with exactly one live grant, the current one: each superseded grant was revoked
// after the new credential committed. On main before the fix the simulator held five
// live grants and had received no revocation.
func TestReconnectsRevokeSupersededGrants(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	sim := st.Sim.Coinbase
	first := reconnect(t, st, "ann", "ann", "")
	for range 4 {
		if c := reconnect(t, st, "ann", "ann", ""); c.TokenID != first.TokenID {
			t.Fatalf("reconnect changed the tokenId: %s, want %s", c.TokenID, first.TokenID)
		}
	}
	s := sim.Stats()
	if s.LiveGrants != 1 || s.GrantsRevoked != 4 {
		t.Fatalf("simulator: %d live grants, %d revoked; want 1 live (the current one) and 4 revoked", s.LiveGrants, s.GrantsRevoked)
	}
	// The adapter revokes the access and the refresh token of each grant.
	if s.RevocationsReceived != 8 {
		t.Fatalf("simulator received %d revocation calls, want 8 (access and refresh token of 4 grants)", s.RevocationsReceived)
	}
	if n := queueDepth(t, st); n != 0 {
		t.Fatalf("revocation queue holds %d entries after the exchange confirmed every revocation", n)
	}
	// The current credential still works.
	r, err := st.Vault.Resolve(context.Background(), "app1", first.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := st.Providers.Provider(linkvault.BrokerCoinbase)
	if err := p.Validate(context.Background(), r.Credential); err != nil {
		t.Fatalf("the current credential was revoked: %v", err)
	}
}

// TestReauthRevokesTheReplacedGrant: re-authentication of a connection flagged
// re-auth-required (Link with the tokenId) replaces the credential; the old grant, if
// the exchange still holds it, is revoked too.
func TestReauthRevokesTheReplacedGrant(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	c := reconnect(t, st, "bo", "bo", "")
	r, err := st.Vault.Resolve(context.Background(), "app1", c.TokenID)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Vault.MarkReauthRequired(context.Background(), r.Connection, linkvault.ErrTypeReauthRequired); err != nil {
		t.Fatal(err)
	}
	again := reconnect(t, st, "bo", "bo", c.TokenID)
	if again.TokenID != c.TokenID || again.Status != linkvault.StatusActive {
		t.Fatalf("re-auth: %s %s", again.TokenID, again.Status)
	}
	if s := st.Sim.Coinbase.Stats(); s.LiveGrants != 1 || s.GrantsRevoked != 1 {
		t.Fatalf("simulator: %d live grants, %d revoked; want 1 and 1", s.LiveGrants, s.GrantsRevoked)
	}
}

// TestReconnectWhileExchangeDownQueuesTheRevocation: when the exchange does not answer
// the revocation right after a reconnect, the superseded grant waits in the durable
// queue, and a queue worker revokes it once the exchange is back.
func TestReconnectWhileExchangeDownQueuesTheRevocation(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	sim := st.Sim.Coinbase
	c := reconnect(t, st, "cy", "cy", "")
	tr, err := sim.MintGrant("cy")
	if err != nil {
		t.Fatal(err)
	}
	sim.SetFaults(exchangesim.Faults{ErrorRate: 1})
	if _, err := st.Vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: c.ConnectionIdentity, Credential: linktest.Credential(tr, "cy", st.Clock.Now()),
	}); err != nil {
		t.Fatalf("reconnect must not fail because the old grant's revocation did: %v", err)
	}
	if n := queueDepth(t, st); n != 1 {
		t.Fatalf("queue holds %d entries, want the superseded credential", n)
	}
	if s := sim.Stats(); s.LiveGrants != 2 {
		t.Fatalf("%d live grants while the exchange is down, want 2", s.LiveGrants)
	}
	sim.SetFaults(exchangesim.Faults{})
	runQueue(t, st)
	waitFor(t, "the queued revocation", func() bool { return queueDepth(t, st) == 0 })
	if s := sim.Stats(); s.LiveGrants != 1 || s.GrantsRevoked != 1 {
		t.Fatalf("after the outage: %d live grants, %d revoked; want 1 and 1", s.LiveGrants, s.GrantsRevoked)
	}
}

// TestReconnectToAnotherExchangeAccount (issue 13, defect 2): the same app user logs in
// to Coinbase as another exchange account. The rule (docs/lifecycle.md): same user and
// integration keep the same tokenId; the switch is announced with a
// connection.account_changed event naming the previous and the new account ids, and
// the previous account's grant is revoked. A reconnect to the same account sends no
// such event.
func TestReconnectToAnotherExchangeAccount(t *testing.T) {
	st := linktest.NewStack(t, linktest.StackOptions{})
	c := reconnect(t, st, "dee", "dee-personal", "")
	same := reconnect(t, st, "dee", "dee-personal", "")
	other := reconnect(t, st, "dee", "dee-business", "")
	if same.TokenID != c.TokenID || other.TokenID != c.TokenID {
		t.Fatalf("tokenIds %s %s %s: the rule keeps one tokenId per user and integration", c.TokenID, same.TokenID, other.TokenID)
	}
	evs, err := st.DB.(interface {
		PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
	}).PendingEvents(context.Background(), "app1")
	if err != nil {
		t.Fatal(err)
	}
	var changed []linkvault.Event
	for _, e := range evs {
		if e.Type == linkvault.EventAccountChanged {
			changed = append(changed, e)
		}
	}
	if len(changed) != 1 {
		t.Fatalf("%d connection.account_changed events, want 1 (only the switch to another account)", len(changed))
	}
	var data struct {
		TokenID string `json:"tokenId"`
		Details struct {
			Previous string `json:"previousAccountIds"`
			Current  string `json:"accountIds"`
		} `json:"details"`
	}
	if err := json.Unmarshal(changed[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	// The Go SDK's receivers decode it (details are strings in every event).
	var sdk lvclient.ConnectionEvent
	if err := json.Unmarshal(changed[0].Data, &sdk); err != nil || sdk.Details["accountIds"] != "acct-dee-business" {
		t.Fatalf("sdk/go cannot decode connection.account_changed: %v %+v", err, sdk)
	}
	if data.TokenID != c.TokenID || data.Details.Previous != "acct-dee-personal" || data.Details.Current != "acct-dee-business" {
		t.Fatalf("account_changed data = %s", changed[0].Data)
	}
	if s := st.Sim.Coinbase.Stats(); s.LiveGrants != 1 || s.GrantsRevoked != 2 {
		t.Fatalf("simulator: %d live grants, %d revoked; want 1 and 2", s.LiveGrants, s.GrantsRevoked)
	}
}

// TestRemovalOfAnUndecryptableCredentialIsLoggedAndRecorded (issue 13, defect 3): a
// credential that no longer opens (here its ciphertext was damaged in the database)
// cannot be revoked; the removal still deletes the connection, says
// revocationUnreadable, logs it without secrets and tells the app with
// connection.revoked. On main before the fix the revocation was skipped without a
// word.
func TestRemovalOfAnUndecryptableCredentialIsLoggedAndRecorded(t *testing.T) {
	var logs bytes.Buffer
	st := linktest.NewStack(t, linktest.StackOptions{})
	tr, err := st.Sim.Coinbase.MintGrant("eve")
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Vault.Connect(context.Background(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: "app1", UserID: "eve", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead},
		Credential:         linktest.Credential(tr, "eve", st.Clock.Now()),
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SealedCredential = bytes.Repeat([]byte{0x5a}, len(c.SealedCredential))
	if err := st.DB.UpdateConnection(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	v := vault.New(vault.Config{Store: st.DB, Sealer: st.App.Keyring, Revoker: st.Providers, Revocations: st.App.Revocations,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	removed, err := v.Remove(context.Background(), "app1", c.TokenID, linkvault.BrokerCoinbase)
	if err != nil {
		t.Fatal(err)
	}
	if removed.Revocation != linkvault.RevocationUnreadable {
		t.Fatalf("state %q, want revocationUnreadable", removed.Revocation)
	}
	if _, err := st.DB.GetConnection(context.Background(), "app1", c.TokenID); !linkvault.IsNotFound(err) {
		t.Fatalf("connection still stored: %v", err)
	}
	if !strings.Contains(logs.String(), "cannot be decrypted") {
		t.Fatalf("nothing logged: %s", logs.String())
	}
	for _, secret := range []string{tr.AccessToken, tr.RefreshToken} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("the log holds a secret")
		}
	}
	evs, err := st.DB.(interface {
		PendingEvents(ctx context.Context, clientID string) ([]linkvault.Event, error)
	}).PendingEvents(context.Background(), "app1")
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, e := range evs {
		if e.Type == linkvault.EventConnectionRevoked {
			states = append(states, string(e.Data))
		}
	}
	if len(states) != 1 || !strings.Contains(states[0], `"revocation":"revocationUnreadable"`) {
		t.Fatalf("connection.revoked events: %v", states)
	}
	if n := queueDepth(t, st); n != 0 {
		t.Fatalf("queue holds %d entries; nothing can be revoked", n)
	}
}
