package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/testdb"
)

func TestRunAudit(t *testing.T) {
	db := testdb.SQLite(t)
	ctx := context.Background()
	tok, probe := linkvault.NewTokenID(), linkvault.NewTokenID()
	now := time.Now()
	// An entry keeps the tokenId only of a connection that exists.
	if err := db.CreateConnection(ctx, &linkvault.Connection{TokenID: tok, ConnectionIdentity: linkvault.ConnectionIdentity{
		ClientID: "app1", UserID: "u", BrokerType: linkvault.BrokerCoinbase, Scope: linkvault.PermissionRead}, Status: linkvault.StatusActive}); err != nil {
		t.Fatal(err)
	}
	err := db.AppendAudit(ctx, []linkvault.AuditEntry{
		{ClientID: "app1", KeyID: "key-r", TokenID: tok, TokenRef: linkvault.TokenFingerprint(tok), BrokerType: linkvault.BrokerCoinbase,
			Action: audit.ActionHoldings, Outcome: audit.OutcomeOK, HTTPStatus: 200, CreatedAt: now.Add(-48 * time.Hour), Duration: 3 * time.Millisecond},
		{ClientID: "app1", KeyID: "key-w", TokenID: tok, TokenRef: linkvault.TokenFingerprint(tok), BrokerType: linkvault.BrokerCoinbase,
			Action: audit.ActionTransferExecute, Outcome: linkvault.ErrTypeScopeMismatch, HTTPStatus: 403, CreatedAt: now.Add(-time.Hour)},
		{ClientID: "app1", KeyID: "key-r", TokenRef: linkvault.TokenFingerprint(probe), BrokerType: linkvault.BrokerCoinbase,
			Action: audit.ActionBalance, Outcome: linkvault.ErrTypeTokenNotFound, HTTPStatus: 404, CreatedAt: now.Add(-time.Minute)},
		{ClientID: "app2", KeyID: "key-x", TokenRef: linkvault.TokenFingerprint(tok), Action: audit.ActionHoldings,
			Outcome: linkvault.ErrTypeTokenNotFound, HTTPStatus: 404, CreatedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runAudit(ctx, args, &out, db, nil)
		return out.String(), err
	}
	lines := func(s string) []string { return strings.Split(strings.TrimSpace(s), "\n") }

	tests := []struct {
		name      string
		args      []string
		wantRows  int      // table rows after the header
		wantFirst []string // substrings of the first row
	}{
		{"all of a client, newest first", []string{"--client", "app1"}, 3, []string{"balance.get", "tokenNotFound", "404", "unresolved:" + linkvault.TokenFingerprint(probe)}},
		{"since", []string{"--client", "app1", "--since", "2h"}, 2, []string{"balance.get"}},
		{"limit", []string{"--client", "app1", "--limit", "1"}, 1, []string{"balance.get"}},
		{"by token", []string{"--client", "app1", "--token", tok}, 2, []string{"transfer.execute", "scopeMismatch", "403", tok, "key-w"}},
		{"a probed value is found too", []string{"--client", "app1", "--token", probe}, 1, []string{"balance.get"}},
		{"another client's trail", []string{"--client", "app2"}, 1, []string{"holdings.get", "unresolved:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			ls := lines(out)
			if !strings.HasPrefix(ls[0], "TIME") || len(ls)-1 != tt.wantRows {
				t.Fatalf("output:\n%s", out)
			}
			for _, s := range tt.wantFirst {
				if !strings.Contains(ls[1], s) {
					t.Errorf("first row %q lacks %q", ls[1], s)
				}
			}
			if strings.Contains(out, tok) && tt.args[1] == "app2" {
				t.Error("another client's tokenId shown in app2's trail")
			}
		})
	}

	out, err := run("--client", "app1", "--json", "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines(out)[0]), &first); err != nil || len(lines(out)) != 2 {
		t.Fatalf("json output %q: %v", out, err)
	}
	if first["action"] != "balance.get" || first["outcome"] != "tokenNotFound" || first["httpStatus"] != 404.0 || first["tokenId"] != nil {
		t.Fatalf("json line %v", first)
	}

	if err := db.CreateClient(ctx, &linkvault.Client{ID: "quiet", Name: "Quiet"}); err != nil {
		t.Fatal(err)
	}
	if out, err := run("--client", "quiet"); err != nil || !strings.Contains(out, "(no entries)") {
		t.Fatalf("empty trail: %q, %v", out, err)
	}
	if out, err := run("--client", "nobody"); err == nil || !strings.Contains(err.Error(), `no client "nobody"`) || out != "" {
		t.Fatalf("a client that does not exist: %q, %v; want an error naming it", out, err)
	}
	out, err = run("--prune-older-than", "24h")
	if err != nil || !strings.Contains(out, "deleted 1 audit entries") {
		t.Fatalf("prune: %q, %v", out, err)
	}
	if out, _ := run("--client", "app1"); len(lines(out)) != 3 {
		t.Fatalf("after pruning:\n%s", out)
	}
	for _, args := range [][]string{
		{"--prune-older-than", "-1h"}, {"--prune-older-than", "1h", "--client", "app1"},
		{}, {"--client", ""}, {"--client", "app1", "--since", "-1h"}, {"--client", "app1", "--limit", "0"},
		{"--client", "app1", "--limit", "100000"}, {"--client", "bad id!"}, {"--client", "app1", "extra"}, {"--nope"},
	} {
		if _, err := run(args...); err == nil {
			t.Errorf("runAudit(%q) succeeded", args)
		}
	}
}
