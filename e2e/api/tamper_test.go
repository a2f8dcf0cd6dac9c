package api_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	lvclient "github.com/linkvault/linkvault/sdk/go"
)

// TestTamperedRowRefusesToOpen is issue 15, failure 1, through the real binary on both
// stores: an intruder with write access to the database (no master key) edits one field
// of a connection row. On main, a read-scoped row edited to write turned a transfer
// preview from 403 into 200, because the sealed credential bound only client, tokenId
// and key version. Now every field that grants power is bound: each edit makes the
// row refuse to open, answered as a clean envelope (500 credentialIntegrityFailure, no
// stack), recorded in the audit trail; restoring the field restores the connection.
func TestTamperedRowRefusesToOpen(t *testing.T) {
	// No resolve cache: each request reads the row as the intruder left it.
	forEachStoreEnv(t, map[string]string{"LINKVAULT_RESOLVE_CACHE_SIZE": "0"}, func(t *testing.T, run *storeRun) {
		db := run.db
		if run.store == "sqlite" {
			rw, err := sql.Open("sqlite", "file:"+filepath.Join(run.env.Dir, "linkvault.db")+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rw.Close() })
			db = rw
		}
		exec := func(q string, args ...any) {
			t.Helper()
			res, err := db.Exec(q, args...)
			if err != nil {
				t.Fatalf("intruder: %s: %v", q, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				t.Fatalf("intruder: %s changed %d rows", q, n)
			}
		}
		aRead, aWrite := run.clientA(t, run.env.ClientA.ReadSecret), run.clientA(t, run.env.ClientA.WriteSecret)
		bRead, err := lvclient.New(run.env.URL(), run.env.ClientB.ID, run.env.ClientB.ReadSecret)
		if err != nil {
			t.Fatal(err)
		}
		tok := connect(t, aRead, "mallory", lvclient.Coinbase)
		if _, err := aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
			t.Fatalf("untampered row: %v", err)
		}
		_, err = aWrite.PreviewTransfer(ctx, send(tok, lvclient.Coinbase, ""))
		wantErr(t, err, 403, lvclient.ErrScopeMismatch)

		otherTok := linkvault.NewTokenID()
		tampers := []struct {
			field, set, restore string
			call                func() error
		}{
			{"scope (read to write)", `UPDATE connections SET scope = 'write' WHERE token_id = $1`, `UPDATE connections SET scope = 'read' WHERE token_id = $1`,
				func() error { _, err := aWrite.PreviewTransfer(ctx, send(tok, lvclient.Coinbase, "")); return err }},
			{"userId", `UPDATE connections SET user_id = 'eve' WHERE token_id = $1`, `UPDATE connections SET user_id = 'mallory' WHERE token_id = $1`,
				func() error { _, err := aRead.Holdings(ctx, tok, lvclient.Coinbase); return err }},
			{"brokerType", `UPDATE connections SET broker_type = 'uphold' WHERE token_id = $1`, `UPDATE connections SET broker_type = 'coinbase' WHERE token_id = $1`,
				func() error { _, err := aRead.Holdings(ctx, tok, lvclient.Uphold); return err }},
			{"upstream account", `UPDATE connections SET upstream_account = upstream_account || '-other' WHERE token_id = $1`,
				`UPDATE connections SET upstream_account = substr(upstream_account, 1, length(upstream_account) - 6) WHERE token_id = $1`,
				func() error { _, err := aRead.Holdings(ctx, tok, lvclient.Coinbase); return err }},
			{"key version", `UPDATE connections SET key_version = key_version + 1 WHERE token_id = $1`, `UPDATE connections SET key_version = key_version - 1 WHERE token_id = $1`,
				func() error { _, err := aRead.Holdings(ctx, tok, lvclient.Coinbase); return err }},
			{"client", `UPDATE connections SET client_id = '` + run.env.ClientB.ID + `' WHERE token_id = $1`,
				`UPDATE connections SET client_id = '` + run.env.ClientA.ID + `' WHERE token_id = $1`,
				func() error { _, err := bRead.Holdings(ctx, tok, lvclient.Coinbase); return err }},
			{"tokenId", `UPDATE connections SET token_id = '` + otherTok + `' WHERE token_id = $1`,
				`UPDATE connections SET token_id = '` + tok + `' WHERE token_id = '` + otherTok + `' AND $1 <> ''`,
				func() error { _, err := aRead.Holdings(ctx, otherTok, lvclient.Coinbase); return err }},
		}
		for _, tt := range tampers {
			exec(tt.set, tok)
			e := matchErr(t, tt.call(), 500, linkvault.ErrTypeCredentialIntegrity)
			if e.Status != "serverFailure" || !strings.Contains(e.Message, "integrity check") {
				t.Errorf("%s tampered: envelope %q %q", tt.field, e.Status, e.Message)
			}
			exec(tt.restore, tok)
			if _, err := aRead.Holdings(ctx, tok, lvclient.Coinbase); err != nil {
				t.Fatalf("after restoring %s: %v", tt.field, err)
			}
		}

		// Each refusal is in the audit trail, under the client whose key made the call.
		for client, want := range map[string]int{run.env.ClientA.ID: len(tampers) - 1, run.env.ClientB.ID: 1} {
			deadline := time.Now().Add(10 * time.Second)
			for {
				out := run.env.CLI("audit", "--client", client)
				n := strings.Count(out, linkvault.ErrTypeCredentialIntegrity)
				if n == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("audit of %s lists %d integrity failures, want %d:\n%s", client, n, want, out)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		for _, s := range run.env.Servers {
			if log := string(s.Log()); strings.Contains(log, "goroutine ") || strings.Contains(log, "panic") {
				t.Fatalf("server log holds a stack:\n%s", log)
			}
		}
	})
}
