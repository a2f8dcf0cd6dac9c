package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/app"
	"github.com/linkvault/linkvault/internal/audit"
)

// TestBadFlagValuesAreUsageErrors: a required flag left out, a flag value out of its
// documented range and flags that exclude each other are usage errors (exit 2, the
// documented status for "a missing or malformed argument"), reported before any
// database is opened: with no database at all, the command names the flag, not
// `linkvault migrate`. Several of these once exited 1 after opening the database, and
// keys create's message carried the API's "badRequest/invalidRequest:" prefix.
func TestBadFlagValuesAreUsageErrors(t *testing.T) {
	e := newCLIEnv(t) // a master key file, no database
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"clients", "update", "--name", "Shop"}, "--id is required"},
		{[]string{"clients", "update", "--id", "shop", "--no-logo", "--logo", "logo.png"}, "exclude each other"},
		{[]string{"clients", "update", "--id", "shop", "--no-allowed-origins", "--allowed-origin", "https://app.example"}, "exclude each other"},
		{[]string{"keys", "create", "--client", "shop", "--permission", "admin"}, `--permission must be read or write, got "admin"`},
		{[]string{"keys", "rotate", "--wait", "-1s"}, "--wait must not be negative"},
		{[]string{"keys", "rotate", "--json"}, "--json goes with --status"},
		{[]string{"audit", "--client", "shop", "--limit", "0"}, "--limit must be between 1 and 10000"},
		{[]string{"audit", "--client", "shop", "--limit", "10001"}, "--limit must be between 1 and 10000"},
		{[]string{"audit", "--client", "shop", "--since", "-1h"}, "--since must be a positive duration"},
		{[]string{"audit", "--prune-older-than", "-1h"}, "--prune-older-than must be at least 1h"},
		{[]string{"audit", "--prune-older-than", "720h", "--client", "shop"}, "takes no other flag"},
		{[]string{"audit", "--prune-older-than", "720h", "--limit", "5"}, "takes no other flag"},
		{[]string{"webhooks", "rotate-secret", "--client", "shop", "--overlap", "-5h"}, "--overlap must be a positive duration"},
		{[]string{"webhooks", "rotate-secret", "--client", "shop", "--overlap", "0s"}, "--overlap must be a positive duration"},
		{[]string{"webhooks", "deliveries", "--client", "shop", "--limit", "0"}, "--limit must be between 1 and 1000"},
		{[]string{"webhooks", "deliveries", "--client", "shop", "--limit", "1001"}, "--limit must be between 1 and 1000"},
		{[]string{"webhooks", "prune"}, "--older-than is required"},
	} {
		code, out, errOut := runCLI(t, e.vars, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("linkvault %s: exit %d, stdout %q, stderr %q; want exit %d mentioning %q",
				strings.Join(tc.args, " "), code, out, errOut, exitUsage, tc.want)
		}
		if strings.Contains(errOut, "badRequest") || strings.Contains(errOut, "invalidRequest") {
			t.Errorf("linkvault %s: %q carries the API's status/errorType prefix", strings.Join(tc.args, " "), errOut)
		}
	}
	if _, err := os.Stat(e.vars["LINKVAULT_SQLITE_PATH"]); !os.IsNotExist(err) {
		t.Fatalf("a usage error created the database (stat: %v)", err)
	}
}

// TestAuditPruneRefusesLessThanAnHour: `audit --prune-older-than` has the floor
// LINKVAULT_RETENTION_AUDIT has (1h) and `webhooks prune --older-than` has, so a unit
// slip (24s for 24h) cannot empty the audit trail; it once deleted every entry older
// than the given seconds.
func TestAuditPruneRefusesLessThanAnHour(t *testing.T) {
	e, cfg := newShopEnv(t)
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	err = st.AppendAudit(ctx, []linkvault.AuditEntry{{ClientID: "shop", KeyID: "k", TokenRef: linkvault.TokenFingerprint(linkvault.NewTokenID()),
		Action: audit.ActionHoldings, Outcome: audit.OutcomeOK, HTTPStatus: 200, CreatedAt: time.Now().Add(-10 * time.Minute)}})
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"24s", "59m"} {
		code, out, errOut := runCLI(t, e.vars, "audit", "--prune-older-than", d)
		if code != exitUsage || !strings.Contains(errOut, "at least 1h") {
			t.Errorf("audit --prune-older-than %s: exit %d, %q %q; want exit %d refusing it", d, code, out, errOut, exitUsage)
		}
	}
	if out := e.mustRun("audit", "--client", "shop"); !strings.Contains(out, "holdings.get") {
		t.Fatalf("the entry is gone after refused prunes:\n%s", out)
	}
	if out := e.mustRun("audit", "--prune-older-than", "1h"); !strings.Contains(out, "deleted 0 audit entries") {
		t.Fatalf("audit --prune-older-than 1h: %q", out)
	}
}
