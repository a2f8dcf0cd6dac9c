package account_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
	"github.com/linkvault/linkvault/internal/audit"
	"github.com/linkvault/linkvault/internal/envelope"
	"github.com/linkvault/linkvault/internal/envelope/envelopetest"
	"github.com/linkvault/linkvault/internal/exchangesim"
	"github.com/linkvault/linkvault/internal/exchangesim/simprovider"
	"github.com/linkvault/linkvault/internal/provider"
	"github.com/linkvault/linkvault/internal/sqlite"
	"github.com/linkvault/linkvault/internal/testdb"
	"github.com/linkvault/linkvault/internal/vault"
)

// env is the account service on a real SQLite store, the real vault and the real
// adapters talking over HTTP to the simulated exchanges.
type env struct {
	svc   *account.Service
	vault *vault.Service
	db    *sqlite.DB
	sim   *exchangesim.Cluster
	audit *recorder
}

type recorder struct {
	mu sync.Mutex
	es []linkvault.AuditEntry
}

func (r *recorder) Record(_ context.Context, e linkvault.AuditEntry) {
	r.mu.Lock()
	r.es = append(r.es, e)
	r.mu.Unlock()
}

// take returns and forgets the entries recorded so far.
func (r *recorder) take() []linkvault.AuditEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	es := r.es
	r.es = nil
	return es
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := testdb.SQLite(t)
	master := envelopetest.MasterKeyring(t)
	sim, err := exchangesim.Start(t.Context(), exchangesim.ClusterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	reg, err := provider.NewRegistry(simprovider.Configs(sim), provider.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	v := vault.New(vault.Config{Store: db, Sealer: envelope.New(db, master, time.Now), Revoker: reg, CacheSize: 100, CacheTTL: time.Minute})
	rec := &recorder{}
	svc, err := account.New(account.Config{
		Vault: v, Providers: reg, Audit: rec, Transfers: db, Previews: db,
		Retry: account.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond},
		StatusCode: func(err error) int {
			if err == nil {
				return 200
			}
			return 999 // the HTTP layer's table is tested there
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, vault: v, db: db, sim: sim, audit: rec}
}

func (e *env) exchange(b linkvault.BrokerType) *exchangesim.Server {
	switch b {
	case linkvault.BrokerCoinbase:
		return e.sim.Coinbase
	case linkvault.BrokerUphold:
		return e.sim.Uphold
	case linkvault.BrokerBinance:
		return e.sim.Binance
	}
	return e.sim.Sandbox
}

// connect stores a connection of user at the exchange, as Link would after consent.
func (e *env) connect(t *testing.T, client, user string, b linkvault.BrokerType, scope linkvault.Permission) string {
	t.Helper()
	tr, err := e.exchange(b).MintGrant(user)
	if err != nil {
		t.Fatal(err)
	}
	cred := linkvault.Credential{AccessToken: linkvault.NewSecret(tr.AccessToken), RefreshToken: linkvault.NewSecret(tr.RefreshToken), TokenType: tr.TokenType}
	if tr.ExpiresIn != nil {
		cred.Expiry = time.Now().Add(time.Duration(*tr.ExpiresIn) * time.Second)
	}
	c, err := e.vault.Connect(t.Context(), vault.ConnectParams{
		ConnectionIdentity: linkvault.ConnectionIdentity{ClientID: client, UserID: user, BrokerType: b, Scope: scope},
		Credential:         cred,
		Accounts:           []linkvault.Account{{AccountID: "acct-" + user, AccountName: "Main"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c.TokenID
}

func apiCaller(client string, perm linkvault.Permission) account.Caller {
	return account.Caller{ClientID: client, KeyID: "key-" + string(perm), Permission: perm}
}

func linkCaller(client, user string, perm linkvault.Permission) account.Caller {
	return account.Caller{ClientID: client, KeyID: account.KeyLinkPage, Permission: perm, UserID: user}
}

func amount(v string) *linkvault.Decimal {
	d := linkvault.MustDecimal(v)
	return &d
}

const ethAddress = "0x1111111111111111111111111111111111111111"

func previewInput(tokenID string, b linkvault.BrokerType, txID string) account.PreviewInput {
	return account.PreviewInput{
		Target: account.Target{TokenID: tokenID, Broker: b}, NetworkID: account.NetworkID("ethereum"),
		ToAddress: ethAddress, Symbol: "ETH", Amount: amount("0.25"), TransactionID: txID,
	}
}

// previewAndExecute previews and executes a transfer for caller c.
func previewAndExecute(e *env, c account.Caller, in account.PreviewInput) (*account.Execution, error) {
	p, err := e.svc.Preview(context.Background(), c, in)
	if err != nil {
		return nil, err
	}
	return e.svc.Execute(context.Background(), c, account.ExecuteInput{Target: in.Target, PreviewID: p.ID})
}

// op is one use of a connection through the service, by kind.
type op func(e *env, c account.Caller, t account.Target) error

var (
	opHoldings op = func(e *env, c account.Caller, t account.Target) error {
		_, err := e.svc.Holdings(context.Background(), c, t)
		return err
	}
	opBalances op = func(e *env, c account.Caller, t account.Target) error {
		_, err := e.svc.Balances(context.Background(), c, t)
		return err
	}
	opPreview op = func(e *env, c account.Caller, t account.Target) error {
		_, err := e.svc.Preview(context.Background(), c, previewInput(t.TokenID, t.Broker, ""))
		return err
	}
	// opExecute executes a preview id never issued: every rule that refuses the use
	// answers before the preview is even looked up.
	opExecute op = func(e *env, c account.Caller, t account.Target) error {
		_, err := e.svc.Execute(context.Background(), c, account.ExecuteInput{Target: t, PreviewID: account.NewUUID()})
		return err
	}
)

// TestResolutionRules covers, once, the rules every use of a tokenId shares, for the
// REST caller (API key) and the Link caller (session user) alike: what is not found,
// what is refused before anything runs, and what reaches the exchange. Each use leaves
// exactly one audit entry, which names the tokenId only when it is the client's own.
func TestResolutionRules(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	cb := linkvault.BrokerCoinbase
	readTok := e.connect(t, "app1", "ann", cb, linkvault.PermissionRead)
	writeTok := e.connect(t, "app1", "ann", cb, linkvault.PermissionWrite)
	otherTok := e.connect(t, "app2", "ann", cb, linkvault.PermissionWrite)
	bobTok := e.connect(t, "app1", "bob", cb, linkvault.PermissionWrite)
	reauthTok := e.connect(t, "app1", "cid", cb, linkvault.PermissionWrite)
	removedTok := e.connect(t, "app1", "dan", cb, linkvault.PermissionWrite)
	if _, err := e.vault.Remove(ctx, "app1", removedTok, cb); err != nil {
		t.Fatal(err)
	}
	res, err := e.vault.Resolve(ctx, "app1", reauthTok)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.vault.MarkReauthRequired(ctx, res.Connection, linkvault.ErrTypeReauthRequired); err != nil {
		t.Fatal(err)
	}

	apiRead, apiWrite := apiCaller("app1", linkvault.PermissionRead), apiCaller("app1", linkvault.PermissionWrite)
	annWrite, annRead := linkCaller("app1", "ann", linkvault.PermissionWrite), linkCaller("app1", "ann", linkvault.PermissionRead)
	tests := []struct {
		name     string
		caller   account.Caller
		target   account.Target
		ops      []op
		wantType string // "" for success
		own      bool   // the audit entry names the tokenId
	}{
		{"own read connection, read ops", apiRead, account.Target{TokenID: readTok, Broker: cb}, []op{opHoldings, opBalances}, "", true},
		{"write key reads too", apiWrite, account.Target{TokenID: writeTok, Broker: cb}, []op{opHoldings, opBalances}, "", true},
		{"another client's tokenId", apiWrite, account.Target{TokenID: otherTok, Broker: cb}, []op{opHoldings, opPreview, opExecute}, linkvault.ErrTypeTokenNotFound, false},
		{"a removed tokenId", apiWrite, account.Target{TokenID: removedTok, Broker: cb}, []op{opHoldings, opExecute}, linkvault.ErrTypeTokenNotFound, false},
		{"a tokenId never issued", apiWrite, account.Target{TokenID: linkvault.NewTokenID(), Broker: cb}, []op{opHoldings, opExecute}, linkvault.ErrTypeTokenNotFound, false},
		{"a malformed tokenId", apiWrite, account.Target{TokenID: "../../etc", Broker: cb}, []op{opHoldings}, linkvault.ErrTypeTokenNotFound, false},
		{"type mismatch", apiWrite, account.Target{TokenID: writeTok, Broker: linkvault.BrokerUphold}, []op{opHoldings, opPreview}, linkvault.ErrTypeTokenNotFound, true},
		{"read-scoped tokenId, write ops", apiWrite, account.Target{TokenID: readTok, Broker: cb}, []op{opPreview, opExecute}, linkvault.ErrTypeScopeMismatch, true},
		{"read key, write ops", apiRead, account.Target{TokenID: writeTok, Broker: cb}, []op{opPreview, opExecute}, linkvault.ErrTypeReadOnlyKey, false},
		{"re-auth required", apiWrite, account.Target{TokenID: reauthTok, Broker: cb}, []op{opHoldings, opPreview, opExecute}, linkvault.ErrTypeReauthRequired, true},
		{"Link: own connection", annWrite, account.Target{TokenID: writeTok}, []op{opHoldings, opPreview}, "", true},
		{"Link: another user's connection", annWrite, account.Target{TokenID: bobTok}, []op{opHoldings, opPreview}, linkvault.ErrTypeTokenNotFound, true},
		{"Link: own connection of another scope", annWrite, account.Target{TokenID: readTok}, []op{opHoldings, opPreview}, linkvault.ErrTypeTokenNotFound, true},
		{"Link: read session, write ops", annRead, account.Target{TokenID: readTok}, []op{opPreview, opExecute}, linkvault.ErrTypeScopeMismatch, true},
		{"Link: another client's tokenId", annWrite, account.Target{TokenID: otherTok}, []op{opHoldings}, linkvault.ErrTypeTokenNotFound, false},
	}
	notFound := linkvault.ErrTokenNotFound()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, o := range tt.ops {
				e.audit.take()
				before := e.sim.Coinbase.Stats()
				err := o(e, tt.caller, tt.target)
				if got := linkvault.ErrorType(err); got != tt.wantType {
					t.Fatalf("op %d: error %v, want type %q", i, err, tt.wantType)
				}
				if tt.wantType == linkvault.ErrTypeTokenNotFound && (linkvault.ErrorMessage(err) != notFound.Message || linkvault.ErrorStatus(err) != notFound.Status) {
					t.Fatalf("op %d: not-found answer %v differs from the one for a tokenId never issued", i, err)
				}
				after := e.sim.Coinbase.Stats()
				if tt.wantType != "" && (after.APICalls != before.APICalls || after.Transfers != before.Transfers) {
					t.Fatalf("op %d: refused, yet the exchange was called (%d API calls)", i, after.APICalls-before.APICalls)
				}
				es := e.audit.take()
				if len(es) != 1 {
					t.Fatalf("op %d: %d audit entries, want 1", i, len(es))
				}
				a := es[0]
				wantOutcome := tt.wantType
				if wantOutcome == "" {
					wantOutcome = audit.OutcomeOK
				}
				if a.Outcome != wantOutcome || a.ClientID != tt.caller.ClientID || a.KeyID != tt.caller.KeyID || a.TokenRef != linkvault.TokenFingerprint(tt.target.TokenID) {
					t.Fatalf("op %d: audit entry %+v", i, a)
				}
				if (a.TokenID != "") != tt.own || (tt.own && a.TokenID != tt.target.TokenID) {
					t.Fatalf("op %d: audit entry names tokenId %q (own %v)", i, a.TokenID, tt.own)
				}
			}
		})
	}
}

// TestTransferInputRulesAreShared: the REST caller and the Link caller get the same
// answer for the same bad input, before any lookup, audit entry or exchange call.
func TestTransferInputRulesAreShared(t *testing.T) {
	e := newEnv(t)
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name string
		edit func(in *account.PreviewInput)
	}{
		{"no tokenId", func(in *account.PreviewInput) { in.TokenID = "" }},
		{"no address", func(in *account.PreviewInput) { in.ToAddress = "" }},
		{"short address", func(in *account.PreviewInput) { in.ToAddress = "0x1" }},
		{"address with spaces", func(in *account.PreviewInput) { in.ToAddress = "0x11 11111111" }},
		{"long address", func(in *account.PreviewInput) { in.ToAddress = long(account.MaxAddressLength + 1) }},
		{"not an Ethereum address", func(in *account.PreviewInput) { in.ToAddress = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" }},
		{"no symbol", func(in *account.PreviewInput) { in.Symbol = "" }},
		{"long symbol", func(in *account.PreviewInput) { in.Symbol = long(account.MaxSymbolLength + 1) }},
		{"symbol with punctuation", func(in *account.PreviewInput) { in.Symbol = "ET$" }},
		{"no network", func(in *account.PreviewInput) { in.NetworkID = "" }},
		{"unknown network id", func(in *account.PreviewInput) { in.NetworkID = "00000000-0000-4000-8000-000000000000" }},
		{"unknown network code", func(in *account.PreviewInput) { in.NetworkID = "dogechain" }},
		{"no amount", func(in *account.PreviewInput) { in.Amount = nil }},
		{"amount and amountInFiat", func(in *account.PreviewInput) { in.AmountInFiat = amount("10") }},
		{"zero amount", func(in *account.PreviewInput) { in.Amount = amount("0") }},
		{"negative amount", func(in *account.PreviewInput) { in.Amount = amount("-1") }},
		{"huge amount", func(in *account.PreviewInput) { in.Amount = amount("10000000000000000") }},
		{"long transaction id", func(in *account.PreviewInput) { in.TransactionID = long(account.MaxIDLength + 1) }},
		{"transaction id with a space", func(in *account.PreviewInput) { in.TransactionID = "a b" }},
	}
	callers := []account.Caller{apiCaller("app1", linkvault.PermissionWrite), linkCaller("app1", "ann", linkvault.PermissionWrite)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers []string
			for _, c := range callers {
				in := previewInput(tok, linkvault.BrokerCoinbase, "tx-1")
				if c.UserID != "" {
					in.Broker = "" // the Link page states no brokerType
				}
				tt.edit(&in)
				_, err := e.svc.Preview(t.Context(), c, in)
				if linkvault.ErrorStatus(err) != linkvault.StatusBadRequest {
					t.Fatalf("%s: %v, want a bad request", c.KeyID, err)
				}
				answers = append(answers, linkvault.ErrorType(err)+": "+linkvault.ErrorMessage(err))
			}
			if answers[0] != answers[1] {
				t.Fatalf("REST and Link answers differ:\n  %s\n  %s", answers[0], answers[1])
			}
			if es := e.audit.take(); len(es) != 0 {
				t.Fatalf("bad input was audited: %+v", es)
			}
		})
	}
	if st := e.sim.Coinbase.Stats(); st.Transfers != 0 || st.APICalls != 0 {
		t.Fatalf("bad input reached the exchange: %+v", st)
	}
}

// TestPreviewRefusesWhatTheExchangeWouldRefuse: an amount beyond the balance is refused
// with a clear error, and nothing is sent.
func TestPreviewRefusesWhatTheExchangeWouldRefuse(t *testing.T) {
	e := newEnv(t)
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	in := previewInput(tok, linkvault.BrokerCoinbase, "")
	in.Amount = amount("100000")
	if _, err := e.svc.Preview(t.Context(), apiCaller("app1", linkvault.PermissionWrite), in); linkvault.ErrorType(err) != linkvault.ErrTypeInsufficientFunds {
		t.Fatalf("beyond the balance: %v", err)
	}
	// Coinbase does not send BTC on Ethereum (another integration might, so this is
	// known only once the connection is).
	in = previewInput(tok, linkvault.BrokerCoinbase, "")
	in.Symbol = "BTC"
	if _, err := e.svc.Preview(t.Context(), apiCaller("app1", linkvault.PermissionWrite), in); linkvault.ErrorType(err) != account.ErrTypeUnknownNetwork {
		t.Fatalf("a symbol the integration does not send on the network: %v", err)
	}
	if n := e.sim.Coinbase.Stats().Transfers; n != 0 {
		t.Fatalf("the exchange executed %d transfers", n)
	}
}

// TestExecuteByPreview: a preview executes once whoever asks; a second execute of it
// answers the same transfer; another client's or another tokenId's preview is not found;
// an expired one is refused.
func TestExecuteByPreview(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	other := e.connect(t, "app1", "ann", linkvault.BrokerSandbox, linkvault.PermissionWrite)
	theirs := e.connect(t, "app2", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	link := linkCaller("app1", "ann", linkvault.PermissionWrite)
	api := apiCaller("app1", linkvault.PermissionWrite)

	p, err := e.svc.Preview(ctx, link, previewInput(tok, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !account.IsUUID(p.ID) || p.Network.ID != "e3c7fdd8-b1fc-4e51-85ae-bb276e075611" || p.ExpiresIn <= 0 {
		t.Fatalf("preview %+v", p)
	}
	for name, tt := range map[string]struct {
		c account.Caller
		t account.Target
	}{
		"another tokenId":        {api, account.Target{TokenID: other, Broker: linkvault.BrokerSandbox}},
		"another client's token": {apiCaller("app2", linkvault.PermissionWrite), account.Target{TokenID: theirs, Broker: linkvault.BrokerCoinbase}},
	} {
		if _, err := e.svc.Execute(ctx, tt.c, account.ExecuteInput{Target: tt.t, PreviewID: p.ID}); !linkvault.IsNotFound(err) {
			t.Fatalf("%s: %v, want not found", name, err)
		}
	}
	first, err := e.svc.Execute(ctx, link, account.ExecuteInput{Target: account.Target{TokenID: tok}, PreviewID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if first.Status != account.ExecuteSucceeded || first.Replayed || first.Transfer.ID != p.ID || first.Transfer.ExchangeTransferID == "" {
		t.Fatalf("first execute: %+v", first)
	}
	second, err := e.svc.Execute(ctx, api, account.ExecuteInput{Target: account.Target{TokenID: tok, Broker: linkvault.BrokerCoinbase}, PreviewID: p.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !second.Replayed || second.Transfer.ExchangeTransferID != first.Transfer.ExchangeTransferID {
		t.Fatalf("second execute: %+v, want the first's answer replayed", second)
	}
	if n := e.sim.Coinbase.Stats().Transfers; n != 1 {
		t.Fatalf("the exchange executed %d transfers, want 1", n)
	}
	st, err := e.svc.TransferStatus(ctx, api, account.TransferQuery{ID: p.ID})
	if err != nil || st.ExchangeTransferID != first.Transfer.ExchangeTransferID {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if _, err := e.svc.TransferStatus(ctx, apiCaller("app2", linkvault.PermissionRead), account.TransferQuery{ID: p.ID}); !linkvault.IsNotFound(err) {
		t.Fatalf("another client's transfer status: %v", err)
	}
	list, total, err := e.svc.ListTransfers(ctx, api, 0, 0)
	if err != nil || total != 1 || len(list) != 1 || list[0].ID != p.ID {
		t.Fatalf("list: %+v (total %d), %v", list, total, err)
	}
	if list, total, err := e.svc.ListTransfers(ctx, apiCaller("app2", linkvault.PermissionRead), 0, 0); err != nil || total != 0 || len(list) != 0 {
		t.Fatalf("another client's list: %+v (total %d), %v", list, total, err)
	}
}

// TestOneLedgerForEverySurface: a transfer previewed twice under one transaction id (once
// from the Link page, once through the REST API) executes once; another transfer under
// that id is refused.
func TestOneLedgerForEverySurface(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	first, err := previewAndExecute(e, linkCaller("app1", "ann", linkvault.PermissionWrite), previewInput(tok, "", "order-7"))
	if err != nil {
		t.Fatal(err)
	}
	api := apiCaller("app1", linkvault.PermissionWrite)
	second, err := previewAndExecute(e, api, previewInput(tok, linkvault.BrokerCoinbase, "order-7"))
	if err != nil {
		t.Fatal(err)
	}
	if !second.Replayed || second.Transfer.ExchangeTransferID != first.Transfer.ExchangeTransferID {
		t.Fatalf("second execute: %+v, want the first's answer replayed", second)
	}
	changed := previewInput(tok, linkvault.BrokerCoinbase, "order-7")
	changed.Amount = amount("0.3")
	if _, err := previewAndExecute(e, api, changed); !linkvault.IsConflict(err) {
		t.Fatalf("another transfer under a used id: %v, want a conflict", err)
	}
	other := e.connect(t, "app2", "ann", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	if _, err := previewAndExecute(e, apiCaller("app2", linkvault.PermissionWrite), previewInput(other, linkvault.BrokerCoinbase, "order-7")); err != nil {
		t.Fatal(err)
	}
	if n := e.sim.Coinbase.Stats().Transfers; n != 2 {
		t.Fatalf("the exchange executed %d transfers, want 2", n)
	}
	rec, err := e.db.GetTransfer(ctx, "app1", "order-7")
	if err != nil || rec.Status != linkvault.TransferCompleted || rec.ProviderTransferID != first.Transfer.ExchangeTransferID {
		t.Fatalf("ledger record %+v, %v", rec, err)
	}
}

// TestTransientFailuresAreRetriedAndKeepTheCredential: 5xx answers are retried within
// the call; when they outlast the retries the caller gets a retryable error and the
// connection stays usable (never marked for re-authentication).
func TestTransientFailuresAreRetriedAndKeepTheCredential(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	c := apiCaller("app1", linkvault.PermissionRead)
	target := account.Target{TokenID: tok, Broker: linkvault.BrokerCoinbase}

	e.sim.Coinbase.SetFaults(exchangesim.Faults{ErrorRate: 1})
	_, err := e.svc.Holdings(ctx, c, target)
	var le *linkvault.Error
	if !errors.As(err, &le) || le.Type != linkvault.ErrTypeProviderFailure || le.RetryAfter <= 0 {
		t.Fatalf("outlasting failure: %v", err)
	}
	if n := e.sim.Coinbase.Stats().Injected503; n != 3 {
		t.Fatalf("%d calls answered 503, want 3 (the retry policy's attempts)", n)
	}
	e.sim.Coinbase.SetFaults(exchangesim.Faults{})
	if _, err := e.svc.Holdings(ctx, c, target); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
	res, err := e.vault.ResolveFresh(ctx, "app1", tok)
	if err != nil || res.Connection.Status != linkvault.StatusActive {
		t.Fatalf("connection after transient failures: %+v, %v", res, err)
	}
}

// TestRefusedCredentialMarksReauth: a credential the exchange refuses (the user revoked
// the grant) marks the connection re-auth-required; the next use answers 423 without
// calling the exchange.
func TestRefusedCredentialMarksReauth(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tok := e.connect(t, "app1", "ann", linkvault.BrokerCoinbase, linkvault.PermissionRead)
	if _, err := e.sim.Coinbase.RevokeUserGrants("ann"); err != nil {
		t.Fatal(err)
	}
	c := apiCaller("app1", linkvault.PermissionRead)
	target := account.Target{TokenID: tok, Broker: linkvault.BrokerCoinbase}
	if _, err := e.svc.Holdings(ctx, c, target); linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
		t.Fatalf("refused credential: %v", err)
	}
	calls := e.sim.Coinbase.Stats().APICalls
	if _, err := e.svc.Balances(ctx, c, target); linkvault.ErrorType(err) != linkvault.ErrTypeReauthRequired {
		t.Fatalf("next use: %v", err)
	}
	if e.sim.Coinbase.Stats().APICalls != calls {
		t.Fatal("a connection marked re-auth-required still reached the exchange")
	}
}

// TestExecuteWithMFA: an exchange that wants a second factor on sends (Coinbase's
// two_factor_required, CB-2FA-TOKEN, simulated) answers mfaRequired with nothing
// executed; a wrong code answers mfaFailed; the same preview with the right code
// executes once, and a retry replays it.
func TestExecuteWithMFA(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.sim.Coinbase.CreateUser(exchangesim.User{Username: "otto", Password: "pw", TwoFactor: true}); err != nil {
		t.Fatal(err)
	}
	tok := e.connect(t, "app1", "otto", linkvault.BrokerCoinbase, linkvault.PermissionWrite)
	c := apiCaller("app1", linkvault.PermissionWrite)
	target := account.Target{TokenID: tok, Broker: linkvault.BrokerCoinbase}
	p, err := e.svc.Preview(ctx, c, previewInput(tok, linkvault.BrokerCoinbase, ""))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		code string
		want string
	}{
		{"", account.ExecuteMFARequired},
		{"000000", account.ExecuteMFAFailed},
		{exchangesim.DefaultMFACode, account.ExecuteSucceeded},
	}
	for _, s := range steps {
		ex, err := e.svc.Execute(ctx, c, account.ExecuteInput{Target: target, PreviewID: p.ID, MFACode: linkvault.NewSecret(s.code)})
		if err != nil || ex.Status != s.want {
			t.Fatalf("execute with code %q: %+v, %v; want %s", s.code, ex, err, s.want)
		}
		wantTransfers := int64(0)
		if s.want == account.ExecuteSucceeded {
			wantTransfers = 1
		}
		if n := e.sim.Coinbase.Stats().Transfers; n != wantTransfers {
			t.Fatalf("after code %q the exchange executed %d transfers", s.code, n)
		}
	}
	again, err := e.svc.Execute(ctx, c, account.ExecuteInput{Target: target, PreviewID: p.ID})
	if err != nil || !again.Replayed || again.Status != account.ExecuteSucceeded {
		t.Fatalf("retry after success: %+v, %v", again, err)
	}
}
