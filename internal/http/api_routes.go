package http

import (
	"net/http"

	"github.com/linkvault/linkvault"
	"github.com/linkvault/linkvault/internal/account"
)

// accountAPI serves the Mesh-compatible calls that use a tokenId, and the catalog.
// Every handler is decode → call the account service → encode. Read endpoints take
// read or write keys; the transfer endpoints need a write key (and the service a
// write-scoped tokenId).
type accountAPI struct {
	s *Server
}

// routeAccountAPI registers the managed-account API on mux: every operation of Mesh's
// OpenAPI document, implemented or answering a notImplemented envelope that names it
// (docs/api.md lists them with the reason).
func (s *Server) routeAccountAPI(mux *routeMux) {
	a := &accountAPI{s: s}
	read, write := linkvault.PermissionRead, linkvault.PermissionWrite
	handle := func(pattern string, need linkvault.Permission, h func(w http.ResponseWriter, r *http.Request) error) {
		mux.Handle(pattern, s.api(need, a.withAccount(h)))
	}
	handle("DELETE /api/v1/account", read, a.handleRemove)
	handle("POST /api/v1/holdings/get", read, a.handleHoldings)
	handle("POST /api/v1/holdings/value", read, a.handleHoldingsValue)
	handle("POST /api/v1/balance/get", read, a.handleBalance)
	mux.Handle("GET /api/v1/integrations", s.api(read, a.handleIntegrations))
	handle("GET /api/v1/status", read, a.handleStatus)
	handle("POST /api/v1/token/refresh", read, a.handleTokenRefresh)
	handle("POST /api/v1/exchange/verify", read, a.handleExchangeVerify)
	handle("POST /api/v1/transfers/list", read, a.handleTransferHistory)
	handle("GET /api/v1/transfers/managed/networks", read, a.handleNetworks)
	handle("GET /api/v1/transfers/managed/tokens", read, a.handleTokens)
	handle("GET /api/v1/transfers/managed/integrations", read, a.handleTransferIntegrations)
	handle("POST /api/v1/transfers/managed/configure", write, a.handleConfigure)
	handle("POST /api/v1/transfers/managed/preview", write, a.handlePreviewTransfer)
	handle("POST /api/v1/transfers/managed/execute", write, a.handleExecuteTransfer)
	handle("GET /api/v1/transfers/managed/mesh", read, a.handleTransferStatus)
	handle("POST /api/v1/transfers/managed/address/get", read, a.handleDepositAddress)
	// The same operation for self-managed tokens: a linkvault tokenId is the authToken.
	handle("POST /api/v1/transfers/address/get", read, a.handleDepositAddress)

	for _, op := range notImplementedOps {
		mux.Handle(op.pattern, s.api(read, notImplemented(op.pattern, op.why)))
	}
}

// notImplementedOps are the operations of Mesh's document linkvault does not offer, and
// why. Each answers 404 with errorType notImplemented and a message naming it.
var notImplementedOps = []struct{ pattern, why string }{
	{"POST /api/v1/account/verify", "brokerage account verification is not offered; for an exchange account use POST /api/v1/exchange/verify."},
	{"GET /api/v1/assets/{assetType}", "linkvault keeps no asset search catalog; GET /api/v1/transfers/managed/tokens lists what can be transferred."},
	{"GET /api/v1/balance/portfolio", "linkvault does not aggregate a user's connections; call POST /api/v1/balance/get per tokenId."},
	{"GET /api/v1/holdings/portfolio", "linkvault does not aggregate a user's connections; call POST /api/v1/holdings/get or /holdings/value per tokenId."},
	{"GET /api/v1/cataloglink", "there is no hosted catalog page; create a Link session with POST /api/v1/linktoken."},
	{"POST /api/v1/cataloglink", "there is no hosted catalog page; create a Link session with POST /api/v1/linktoken."},
	{"GET /api/v1/authenticationSchemes", "linkvault serves managed tokens only: users authenticate in Link, and apps never receive exchange credentials."},
	{"POST /api/v1/authenticate", "linkvault serves managed tokens only: users authenticate in Link, and apps never receive exchange credentials."},
	{"GET /api/v1/authenticate/{brokerType}", "linkvault serves managed tokens only: users authenticate in Link, and apps never receive exchange credentials."},
	{"GET /api/v1/transfers/managed/verify", "wallet-ownership verification of self-custody wallets is not offered (linkvault integrates exchanges)."},
	{"POST /api/v1/transfers/managed/quote", "fiat funding quotes are not offered; POST /api/v1/transfers/managed/preview quotes a transfer."},
	{"POST /api/v1/transfers/managed/update", "linkvault reads a transfer's state from its exchange; there is no status to set (GET /api/v1/transfers/managed/mesh)."},
	{"POST /api/v1/catalog/solana/getLatestBlockhash", "linkvault runs no blockchain node."},
	{"POST /api/v1/catalog/solana/getTokenProgram", "linkvault runs no blockchain node."},
	{"POST /api/v1/catalog/solana/isTokenAddressCreated", "linkvault runs no blockchain node."},
	{"POST /api/v1/transactions/list", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/details", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/featureList", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/preview/{side}", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/{side}", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/cancel", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transactions/symbolinfo", "linkvault never trades: it holds transfer and read permissions only."},
	{"POST /api/v1/transfers/details", "one transfer's details are read by its managed id: GET /api/v1/transfers/managed/mesh?Id=…; POST /api/v1/transfers/list lists the exchange history."},
	{"POST /api/v1/transfers", "transfers run through the managed flow with its safety checks: POST /api/v1/transfers/managed/preview, then /execute."},
	{"POST /api/v1/transfers/symbol/details", "per-symbol transfer details are given by POST /api/v1/transfers/managed/configure."},
	{"GET /api/v1/wallets/verify", "wallet-ownership verification of self-custody wallets is not offered (linkvault integrates exchanges)."},
}

// withAccount answers a clear error when the server has no account service.
func (a *accountAPI) withAccount(h func(w http.ResponseWriter, r *http.Request) error) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if a.s.account == nil {
			return errAccountUnavailable()
		}
		return h(w, r)
	}
}

// caller is the account-service caller of an authenticated API request.
func caller(r *http.Request) account.Caller {
	p := principal(r.Context())
	return account.Caller{ClientID: p.ClientID, KeyID: p.KeyID, Permission: p.Permission}
}
