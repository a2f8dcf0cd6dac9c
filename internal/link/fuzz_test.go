package link

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/provider"
)

// fuzzConnections is a fixed set of connections for FuzzKnown.
type fuzzConnections map[string]*linkvault.Connection

func (f fuzzConnections) GetConnection(_ context.Context, clientID, tokenID string) (*linkvault.Connection, error) {
	c, ok := f[tokenID]
	if !ok || c.ClientID != clientID {
		return nil, linkvault.ErrTokenNotFound()
	}
	cp := *c
	return &cp, nil
}

// FuzzKnown feeds arbitrary frontAccessTokens payloads (what a parent page or a native
// shell posts into Link, forwarded by the page to the server) to the return-user check:
// it must never panic, and it must only ever report connections of the session's own
// client, user and scope.
func FuzzKnown(f *testing.F) {
	conn := func(token, client, user string, scope linkvault.Permission, status linkvault.ConnectionStatus) *linkvault.Connection {
		return &linkvault.Connection{TokenID: token, Status: status,
			ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: client, UserID: user, BrokerType: linkvault.BrokerCoinbase, Scope: scope}}
	}
	conns := fuzzConnections{
		"own-active-000000000000": conn("own-active-000000000000", "app1", "alice", linkvault.PermissionRead, linkvault.StatusActive),
		"own-reauth-000000000000": conn("own-reauth-000000000000", "app1", "alice", linkvault.PermissionRead, linkvault.StatusReauthRequired),
		"other-user-000000000000": conn("other-user-000000000000", "app1", "bob", linkvault.PermissionRead, linkvault.StatusActive),
		"other-app-0000000000000": conn("other-app-0000000000000", "app2", "alice", linkvault.PermissionRead, linkvault.StatusActive),
		"write-scope-00000000000": conn("write-scope-00000000000", "app1", "alice", linkvault.PermissionWrite, linkvault.StatusActive),
	}
	reg, err := provider.NewRegistry(provider.Configs{
		Coinbase: provider.Config{ClientID: "x", AuthURL: "http://127.0.0.1:1/a", TokenURL: "http://127.0.0.1:1/t", APIBaseURL: "http://127.0.0.1:1"},
		Binance:  provider.Config{APIBaseURL: "http://127.0.0.1:1"},
	}, provider.Deps{})
	if err != nil {
		f.Fatal(err)
	}
	s := &Service{conns: conns, providers: reg, baseURL: "http://127.0.0.1:8080"}
	sess := &linkvault.LinkSession{ClientID: "app1", UserID: "alice", Permission: linkvault.PermissionRead}
	allowed := map[string]bool{"own-active-000000000000": true, "own-reauth-000000000000": true}

	for _, seed := range []string{
		`[{"accessToken":"own-active-000000000000","brokerType":"coinbase"}]`,
		`[{"accessToken":"other-user-000000000000","brokerType":"coinbase"},{"accessToken":"other-app-0000000000000","brokerType":""}]`,
		`[{"accessToken":"own-reauth-000000000000","brokerType":"uphold"},{"accessToken":"write-scope-00000000000"}]`,
		`[{"accessToken":""},{"accessToken":"own-active-000000000000"},{"accessToken":"own-active-000000000000"}]`,
		`[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		var refs []TokenRef
		if json.Unmarshal(payload, &refs) != nil {
			return
		}
		known, err := s.Known(context.Background(), sess, refs)
		if err != nil {
			t.Fatalf("Known: %v", err)
		}
		if len(known) > len(allowed) {
			t.Fatalf("%d connections reported, at most %d exist for this user", len(known), len(allowed))
		}
		for _, k := range known {
			if !allowed[k.TokenID] {
				t.Fatalf("reported a connection that is not this session's: %q", k.TokenID)
			}
			if (k.Status == KnownActive) != (k.Payload != nil) {
				t.Fatalf("status %s with payload %v", k.Status, k.Payload != nil)
			}
		}
	})
}

// FuzzPlausibleBearer checks the cheap pre-filter on session ids, page secrets and
// OAuth state: whatever it accepts is a short base64url string.
func FuzzPlausibleBearer(f *testing.F) {
	for _, seed := range []string{"abcdefghijklmnop", "short", "with space in it..", "../../../../etc/passwd", "ééééééééééééééééé"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !plausibleBearer(v) {
			return
		}
		if len(v) < 16 || len(v) > 128 {
			t.Fatalf("accepted length %d", len(v))
		}
		for _, r := range v {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				t.Fatalf("accepted %q", v)
			}
		}
	})
}
