package replicas_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/e2etest"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/postgres"
	"github.com/linkvault/linkvault/internal/vault"
)

// seedSpec says which connections seedGrants stores.
type seedSpec struct {
	sim    *exchangesim.Server // the exchange that mints the grants
	broker linkvault.BrokerType
	user   func(i int) string
	policy vault.Policy // the vault's scheduling policy (zero: vault.DefaultPolicy)
	// expiry, when given, sets the access expiry instead of the grant's own.
	expiry func() time.Time
	// subject stores the user as the credential's subject.
	subject bool
}

// seedGrants stores n connections of client A directly in the database, sealed with
// the servers' master key, each holding a grant minted on s.sim for user s.user(i).
// It returns their tokenIds, in order.
func seedGrants(t *testing.T, env *e2etest.Env, dsn string, n int, s seedSpec) []string {
	t.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{SkipMigrations: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	master, err := envelope.ReadMasterKeyFile(filepath.Join(env.Dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	v := vault.New(vault.Config{Store: db, Sealer: envelope.New(db, master, time.Now), Policy: s.policy})
	tokens := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				user := s.user(i)
				g, err := s.sim.MintGrant(user)
				if err != nil {
					errs <- err
					return
				}
				cred := linkvault.Credential{AccessToken: linkvault.NewSecret(g.AccessToken), RefreshToken: linkvault.NewSecret(g.RefreshToken),
					Expiry: time.Now().Add(time.Duration(*g.ExpiresIn) * time.Second)}
				if s.expiry != nil {
					cred.Expiry = s.expiry()
				}
				if s.subject {
					cred.Subject = user
				}
				c, err := v.Connect(ctx, vault.ConnectParams{
					ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: env.ClientA.ID, UserID: user, BrokerType: s.broker, Scope: linkvault.PermissionRead},
					Credential:         cred,
				})
				if err != nil {
					errs <- err
					return
				}
				tokens[i] = c.TokenID
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return tokens
}

// seedConnections creates n sandbox connections of users prefix-00000... (its access
// expiry set by expiry, when given), all due now. It returns their tokenIds.
func seedConnections(t *testing.T, env *e2etest.Env, dsn, prefix string, n int, expiry func() time.Time) []string {
	t.Helper()
	return seedGrants(t, env, dsn, n, seedSpec{
		sim: env.Sim.Sandbox, broker: linkvault.BrokerSandbox,
		user: func(i int) string { return fmt.Sprintf("%s-%05d", prefix, i) },
		// RefreshAhead longer than the tokens' 5-minute life: every seeded connection is due now.
		policy: vault.Policy{RefreshAhead: 10 * time.Minute, ValidateEvery: time.Hour, WarnAhead: time.Hour},
		expiry: expiry,
	})
}

// seedCoinbase stores n connections of users removed-0... on the simulated Coinbase.
// It returns their tokenIds.
func seedCoinbase(t *testing.T, env *e2etest.Env, dsn string, n int) []string {
	t.Helper()
	return seedGrants(t, env, dsn, n, seedSpec{
		sim: env.Sim.Coinbase, broker: linkvault.BrokerCoinbase,
		user:    func(i int) string { return fmt.Sprintf("removed-%d", i) },
		subject: true,
	})
}
