package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/config"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/link/linktest"
	"github.com/linkvault/linkvault/internal/proctest"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
	"github.com/linkvault/linkvault/internal/webhook"
)

// TestRemovalLeavesNothingIdentifying (issue 15, failure 5): a connection made through
// Link, used (holdings, a transfer preview and an executed transfer, so the audit trail,
// the previews and the ledger name it), announced by webhooks, then removed. Once the
// events are delivered, no row of any table of the database, read raw as a database
// reader would, holds its tokenId, its userId or its exchange account id; the audit
// trail and the ledger hold the keyed fingerprint instead. On SQLite the database files
// themselves are searched too (after a WAL checkpoint). On main before the fix the
// tokenId, userId, account id and balances stayed in link_sessions, webhook_events and
// audit_log.
func TestRemovalLeavesNothingIdentifying(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "linkvault.db")
		db := testdb.SQLiteAt(t, path, sqlite.Options{})
		raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = raw.Close() })
		needles := removeAndDeliver(t, db, raw, `SELECT name FROM sqlite_master WHERE type = 'table'`)
		if err := db.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		for what, v := range needles {
			for _, f := range testdb.SQLiteFilesHolding(t, path, []byte(v)) {
				t.Errorf("%s still holds the removed connection's %s", f, what)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db, intruder := testdb.PostgresWithIntruder(t)
		removeAndDeliver(t, db, intruder.DB(), `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`)
	})
}

// removeAndDeliver runs the scenario on store and checks every table listed by
// tablesQuery through raw. It returns what identifies the removed connection.
func removeAndDeliver(t *testing.T, store app.Store, raw *sql.DB, tablesQuery string) map[string]string {
	t.Helper()
	ctx := context.Background()
	st := linktest.NewStack(t, linktest.StackOptions{Store: store, Config: func(c *config.Config) {
		c.Refresh.Enabled = false
	}})
	rcv := newEventReceiver(t)
	if _, err := webhook.NewAdmin(st.DB, st.App.Keyring, st.Clock.Now, time.Hour).SetURL(ctx, "app1", rcv.srv.URL+"/hooks"); err != nil {
		t.Fatal(err)
	}
	const user = "nothing-left-user-7f3a"
	payload, err := linktest.Connect(ctx, nil, st.LinkToken(t, "app1", linkvault.PermissionWrite, user), "coinbase", "nothing-left-login", "pw")
	if err != nil {
		t.Fatal(err)
	}
	tok, account := payload.AccountTokens[0].AccessToken, payload.AccountTokens[0].Account.AccountID
	needles := map[string]string{"tokenId": tok, "userId": user, "exchange account id": account}
	// A connection of another user of the same app stays whole.
	kept, err := linktest.Connect(ctx, nil, st.LinkToken(t, "app1", linkvault.PermissionWrite, "kept-user"), "coinbase", "kept-login", "pw")
	if err != nil {
		t.Fatal(err)
	}
	keptTok := kept.AccountTokens[0].AccessToken

	e := &apiEnv{stack: st, url: st.URL, keys: map[string]map[linkvault.Permission]string{
		"app1": {linkvault.PermissionWrite: st.Secret("app1", linkvault.PermissionWrite).Reveal()}}}
	if r := e.post(t, "/api/v1/holdings/get", "app1", linkvault.PermissionWrite, map[string]any{"authToken": tok, "type": "coinbase"}); r.code != 200 {
		t.Fatalf("holdings: %d %s", r.code, r.body)
	}
	exec := executeBody(tok, linkvault.BrokerCoinbase, e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "order-nothing-left")))
	if r := e.post(t, "/api/v1/transfers/managed/execute", "app1", linkvault.PermissionWrite, exec); r.code != 200 {
		t.Fatalf("execute: %d %s", r.code, r.body)
	}
	e.previewID(t, "app1", previewBody(tok, linkvault.BrokerCoinbase, "order-never-executed"))
	if err := st.App.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !tablesContain(t, raw, tablesQuery, tok) {
		t.Fatal("the tokenId is nowhere in the database before removal: the test would prove nothing")
	}

	r := e.do(t, "DELETE", "/api/v1/account", "app1", linkvault.PermissionWrite, `{"authToken":"`+tok+`","type":"coinbase"}`)
	if r.code != 200 || r.env.Message != string(linkvault.RevocationRevoked) {
		t.Fatalf("remove: %d %s", r.code, r.body)
	}
	if err := st.App.Audit.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Deliver every event (connection.removed and connection.revoked name the tokenId
	// until the app has them).
	if err := st.App.Webhooks.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.App.Webhooks.Stop(ctx) }()
	rcv.wait(t, "connection.revoked", tok)
	proctest.WaitFor(t, "every webhook event delivered", time.Minute, 20*time.Millisecond, func() bool {
		var pending int
		if err := raw.QueryRow(`SELECT count(*) FROM webhook_events WHERE outcome = ''`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		return pending == 0
	})

	for what, v := range needles {
		if tables := tablesHolding(t, raw, tablesQuery, v); len(tables) > 0 {
			t.Errorf("after removal, the %s is still in %v", what, tables)
		}
	}
	if !tablesContain(t, raw, tablesQuery, keptTok) {
		t.Error("the other user's connection was removed too")
	}
	// The audit trail and the ledger keep the keyed fingerprint.
	var audited, ledger int
	if err := raw.QueryRow(`SELECT count(*) FROM audit_log WHERE token_ref LIKE 'fp1:%'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`SELECT count(*) FROM transfers WHERE token_id LIKE 'fp1:%'`).Scan(&ledger); err != nil {
		t.Fatal(err)
	}
	if audited < 4 || ledger != 1 {
		t.Errorf("%d audit entries and %d ledger rows keep the fingerprint; want the connection's 4+ uses and its transfer", audited, ledger)
	}
	// An operator given the tokenId still finds the connection's trail (the CLI's
	// audit --token computes the fingerprint with the master key).
	key, err := st.App.Keyring.DeriveKey(ctx, envelope.PurposeFingerprint)
	if err != nil {
		t.Fatal(err)
	}
	trail, err := st.DB.ListAudit(ctx, linkvault.AuditQuery{ClientID: "app1", TokenID: tok, Fingerprint: vault.Fingerprint(key, "app1", tok)})
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != audited || len(trail) == 0 || trail[0].Action != "account.remove" && trail[0].TokenRef == "" {
		t.Errorf("audit by tokenId and fingerprint found %d entries, want the %d fingerprinted ones", len(trail), audited)
	}
	return needles
}

// tablesHolding lists the tables with a row whose text contains v in any column.
func tablesHolding(t *testing.T, db *sql.DB, tablesQuery, v string) []string {
	t.Helper()
	tables := testdb.Strings(t, db, tablesQuery)
	if len(tables) < 10 {
		t.Fatalf("only %d tables listed: %v", len(tables), tables)
	}
	var found []string
	for _, table := range tables {
		rs, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
	scan:
		for rs.Next() {
			if err := rs.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			for _, v2 := range vals {
				if bytes.Contains(*v2.(*sql.RawBytes), []byte(v)) {
					found = append(found, table)
					break scan
				}
			}
		}
		if err := rs.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return found
}

func tablesContain(t *testing.T, db *sql.DB, tablesQuery, v string) bool {
	return len(tablesHolding(t, db, tablesQuery, v)) > 0
}

// eventReceiver is an app's webhook endpoint that records the events it receives.
type eventReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newEventReceiver(t *testing.T) *eventReceiver {
	r := &eventReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ev map[string]any
		if json.Unmarshal(b, &ev) == nil {
			r.mu.Lock()
			r.events = append(r.events, ev)
			r.mu.Unlock()
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// wait blocks until an event of type typ about tokenID arrived (bounded, not timed).
func (r *eventReceiver) wait(t *testing.T, typ, tokenID string) {
	t.Helper()
	proctest.WaitFor(t, "a "+typ+" event for the removed connection", time.Minute, 20*time.Millisecond, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, ev := range r.events {
			data, _ := ev["data"].(map[string]any)
			if ev["type"] == typ && data["tokenId"] == tokenID {
				return true
			}
		}
		return false
	})
}
