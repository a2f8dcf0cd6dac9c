package linkvault

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// AuthKind is how a user authenticates to an integration in the Link UI.
type AuthKind string

const (
	AuthOAuth AuthKind = "oauth" // authorization-code redirect (+PKCE where the exchange supports it)
	// AuthAPIKey: the user creates an API key at the exchange (with the permissions the
	// scope needs) and pastes the key and its secret into Link (Binance).
	AuthAPIKey AuthKind = "apiKey"
)

// Integration is a catalog entry (GET /api/v1/integrations) and what the Link UI shows.
type Integration struct {
	Type               BrokerType `json:"type"`
	Name               string     `json:"name"`
	AuthKind           AuthKind   `json:"authKind"`
	LogoURL            string     `json:"logoUrl,omitempty"`
	BrandColor         string     `json:"brandColor,omitempty"`
	SupportsRefresh    bool       `json:"supportsRefresh"`
	SupportsRevocation bool       `json:"supportsRevocation"`
	SupportsTransfers  bool       `json:"supportsTransfers"`
	// Networks are the canonical codes (see Networks) of the networks the adapter can
	// send on; TransferOptions tells which ones a given account can use for an asset.
	Networks []string `json:"networks,omitempty"`
	// APIKey tells the user what key to create, for AuthAPIKey integrations.
	APIKey *APIKeyInstructions `json:"apiKey,omitempty"`
}

// APIKeyInstructions are the facts the Link page shows on an API-key entry screen.
// Permission names are the exchange's own labels, so the user finds them on its page.
type APIKeyInstructions struct {
	ManageURL        string   `json:"manageUrl"`         // where the user creates and deletes keys
	DocsURL          string   `json:"docsUrl,omitempty"` // the exchange's help on API keys
	ReadPermissions  []string `json:"readPermissions"`   // enable exactly these for a read connection
	WritePermissions []string `json:"writePermissions"`  // and these for a write (transfer) connection
	// Forbidden are permissions linkvault refuses a key to have (it never trades).
	Forbidden []string `json:"forbiddenPermissions,omitempty"`
	// TrustedIPs are this deployment's egress addresses, which the user enters in the
	// key's IP restriction; WriteNeedsTrustedIPs when the exchange demands it for writes.
	TrustedIPs           []string `json:"trustedIps,omitempty"`
	WriteNeedsTrustedIPs bool     `json:"writeNeedsTrustedIps"`
}

// Position is one holding, in the field names of Mesh's holdings response.
type Position struct {
	Symbol      string  `json:"symbol"`
	Name        string  `json:"name,omitempty"`
	Amount      Decimal `json:"amount"`
	CostBasis   Decimal `json:"costBasis,omitzero"`
	LastPrice   Decimal `json:"lastPrice,omitzero"`
	MarketValue Decimal `json:"marketValue,omitzero"` // in USD
}

// Holdings of one connection.
type Holdings struct {
	AccountID               string     `json:"accountId"`
	InstitutionName         string     `json:"institutionName"`
	CryptocurrencyPositions []Position `json:"cryptocurrencyPositions"`
	EquityPositions         []Position `json:"equityPositions"`
}

// Balance is one currency balance, in Mesh's field names.
type Balance struct {
	CurrencyCode              string  `json:"currencyCode"`
	Cash                      Decimal `json:"cash"`
	BuyingPower               Decimal `json:"buyingPower"`
	CryptocurrencyBuyingPower Decimal `json:"cryptocurrencyBuyingPower"`
}

// TransferAsset is one asset the connected account holds and may send, with the
// networks it can leave on (the raw material of Mesh's managed-transfer configure).
type TransferAsset struct {
	Symbol    string         `json:"symbol"`
	Name      string         `json:"name,omitempty"`
	AccountID string         `json:"accountId,omitempty"` // the exchange's wallet/card id holding it
	Available Decimal        `json:"available"`           // what can be sent now, in Symbol
	Networks  []AssetNetwork `json:"networks"`
}

// AssetNetwork is one network an asset can be sent on, with what the exchange
// publishes about it. Zero Minimum/Maximum/Increment mean "not published".
type AssetNetwork struct {
	Network      string `json:"network"`      // canonical code ("ethereum"); see Networks
	ExchangeCode string `json:"exchangeCode"` // the exchange's own name ("ETH", "ethereum")
	Name         string `json:"name,omitempty"`
	Default      bool   `json:"default,omitempty"`
	// Enabled is false while the exchange has withdrawals on this network suspended.
	Enabled bool `json:"enabled"`
	// Fee is the flat withdrawal fee in the asset when FeeKnown; exchanges that only
	// quote the fee per transfer (Coinbase, Uphold) leave FeeKnown false.
	Fee       Decimal `json:"fee"`
	FeeKnown  bool    `json:"feeKnown"`
	Minimum   Decimal `json:"minimum,omitzero"`
	Maximum   Decimal `json:"maximum,omitzero"`
	Increment Decimal `json:"increment,omitzero"` // amounts must be a multiple of it
	// AddressPattern and TagPattern are the exchange's regular expressions for a valid
	// destination (Binance publishes them); TagRequired when a memo/tag is mandatory.
	AddressPattern string `json:"addressPattern,omitempty"`
	TagPattern     string `json:"tagPattern,omitempty"`
	TagRequired    bool   `json:"tagRequired,omitempty"`
}

// TransferRequest moves crypto from the connected account to an address.
type TransferRequest struct {
	// ClientTransactionID is the idempotency key: adapters pass it to the exchange where
	// the exchange dedupes on it, and look a transfer up by it before re-sending where
	// it does not. One key, one transfer.
	ClientTransactionID string
	FromAccountID       string // optional: the exchange wallet/card to send from
	ToAddress           string
	AddressTag          string // memo / destination tag, for networks that use one
	Symbol              string
	Network             string // canonical network code
	Amount              Decimal
	// PreviewID is the exchange's quote id from PreviewTransfer (Uphold), if any.
	PreviewID string
	// MFACode is the user's second-factor code, sent when a previous attempt answered
	// a ProviderMFARequired error.
	MFACode Secret
}

// TransferPreview is the exchange's quote for a transfer before it executes.
type TransferPreview struct {
	// PreviewID is the exchange's own quote id where it issues one (Uphold); empty
	// where the exchange has no quote step.
	PreviewID  string  `json:"previewId"`
	AccountID  string  `json:"accountId,omitempty"` // wallet/card the transfer will leave from
	Symbol     string  `json:"symbol"`
	Network    string  `json:"networkName"` // canonical network code
	ToAddress  string  `json:"toAddress"`
	AddressTag string  `json:"addressTag,omitempty"`
	Amount     Decimal `json:"amount"`
	// Fee is the network/withdrawal fee in FeeCurrency when FeeKnown; Total is Amount
	// plus Fee when both are in the asset.
	Fee              Decimal   `json:"estimatedNetworkGasFee"`
	FeeCurrency      string    `json:"feeCurrency,omitempty"`
	FeeKnown         bool      `json:"feeKnown"`
	Total            Decimal   `json:"totalAmount"`
	Minimum          Decimal   `json:"minimumAmount,omitzero"`
	ExpiresAt        time.Time `json:"expiresAt,omitzero"`
	InsufficientFund bool      `json:"insufficientFunds,omitempty"`
}

// TransferState is a transfer's state at its exchange, in the values of Mesh's
// TransferStatus (not to be confused with TransferStatus, linkvault's idempotency
// record of an execute).
type TransferState string

const (
	TransferPending   TransferState = "pending"
	TransferSucceeded TransferState = "succeeded"
	TransferFailed    TransferState = "failed"
)

// TransferDirection says whether a transfer left or entered the account.
type TransferDirection string

const (
	TransferWithdrawal TransferDirection = "withdrawal"
	TransferDeposit    TransferDirection = "deposit"
)

// TransferResult is a transfer as the exchange reports it: the answer of
// ExecuteTransfer and GetTransfer, and one item of Transfers.
type TransferResult struct {
	TransferID string `json:"transferId"`          // the exchange's id
	AccountID  string `json:"accountId,omitempty"` // the exchange wallet/card (needed to look it up again)
	// ClientTransactionID is the idempotency key it was sent with, where the exchange
	// keeps it.
	ClientTransactionID string        `json:"clientTransactionId,omitempty"`
	Status              TransferState `json:"status"`
	// StatusDetail is the exchange's own state as a short code from a fixed set
	// ("processing", "awaiting_approval", "cancelled", ...), never free text.
	StatusDetail string            `json:"statusDetail,omitempty"`
	Direction    TransferDirection `json:"direction,omitempty"`
	Symbol       string            `json:"symbol"`
	Network      string            `json:"networkName"` // canonical code
	Amount       Decimal           `json:"amount"`      // what the destination receives, positive
	Fee          Decimal           `json:"fee"`
	FeeCurrency  string            `json:"feeCurrency,omitempty"`
	ToAddress    string            `json:"toAddress"`
	AddressTag   string            `json:"addressTag,omitempty"`
	Hash         string            `json:"hash,omitempty"`
	CreatedAt    time.Time         `json:"createdAt,omitzero"`
	UpdatedAt    time.Time         `json:"updatedAt,omitzero"`
}

// TransferRef names one transfer at its exchange (some exchanges need the wallet too).
type TransferRef struct {
	TransferID string
	AccountID  string
	Symbol     string
}

// TransferQuery selects a page of transfer history. Zero values mean "any".
type TransferQuery struct {
	Symbol string
	Since  time.Time
	Limit  int    // items per page; adapters cap it at what the exchange allows
	Cursor string // opaque: the Cursor of the previous page
}

// TransferPage is one page of transfer history, newest first where the exchange says.
type TransferPage struct {
	Transfers []TransferResult `json:"transfers"`
	Cursor    string           `json:"cursor,omitempty"` // empty on the last page
}

// DepositAddressRequest asks for the address that credits the account with Symbol on Network.
type DepositAddressRequest struct {
	Symbol  string
	Network string // canonical code; empty: the exchange's default network for Symbol
}

// DepositAddress is where to send Symbol on Network to credit the account.
type DepositAddress struct {
	Symbol  string  `json:"symbol"`
	Network string  `json:"network"` // canonical code
	Address string  `json:"address"`
	Tag     string  `json:"tag,omitempty"` // memo / destination tag, when the network needs one
	Minimum Decimal `json:"minimumDepositAmount,omitzero"`
}

// AccountHolder is what the exchange tells about the account's owner, for Mesh's
// exchange/verify. Empty fields are ones the exchange does not expose. It is personal
// data: never log it.
type AccountHolder struct {
	AccountNumber string `json:"accountNumber,omitempty"` // the exchange's user id
	FullName      string `json:"fullName,omitempty"`
	FirstName     string `json:"firstName,omitempty"`
	LastName      string `json:"lastName,omitempty"`
	Email         string `json:"email,omitempty"`
	CountryCode   string `json:"countryCode,omitempty"` // ISO 3166-1 alpha-2
	State         string `json:"state,omitempty"`
	City          string `json:"city,omitempty"`
	PostalCode    string `json:"postalCode,omitempty"`
	Address       string `json:"address,omitempty"`
	DateOfBirth   string `json:"dateOfBirth,omitempty"` // YYYY-MM-DD
}

// Rates are exchange rates published by an exchange: one unit of Base buys Rates[X]
// units of X. AsOf is when the exchange served them (its Date header), so a display
// can say how old a conversion is.
type Rates struct {
	Source BrokerType         `json:"source"`
	Base   string             `json:"base"`
	Rates  map[string]Decimal `json:"rates"`
	AsOf   time.Time          `json:"asOf"`
}

// Convert converts amount from currency `from` to currency `to` through Base. It
// reports false when either rate is missing.
func (r Rates) Convert(amount Decimal, from, to string, places int) (Decimal, bool) {
	rate := func(c string) (Decimal, bool) {
		if c == r.Base {
			return DecimalFromInt(1), true
		}
		v, ok := r.Rates[c]
		return v, ok && v.Sign() > 0
	}
	rf, ok1 := rate(from)
	rt, ok2 := rate(to)
	if !ok1 || !ok2 {
		return Decimal{}, false
	}
	return amount.Mul(rt).Quo(rf, places)
}

// Provider is an adapter to one exchange, reached over HTTP at configurable endpoints,
// speaking what the exchange publicly documents. Every method classifies its failures
// as a *ProviderError; an operation the exchange does not offer answers a
// ProviderUnsupported error, never a guess.
type Provider interface {
	Integration() Integration

	// Refresh renews the credential without the user. Providers without refresh
	// validate it and return it unchanged, or a re-authentication error once the
	// exchange refuses it.
	Refresh(ctx context.Context, c Credential) (Credential, error)
	// Validate makes a cheap call proving the credential still works.
	Validate(ctx context.Context, c Credential) error
	// Revoke invalidates the credential at the provider (RFC 7009 where supported);
	// providers without revocation return nil.
	Revoke(ctx context.Context, c Credential) error

	Accounts(ctx context.Context, c Credential) ([]Account, error)
	Holdings(ctx context.Context, c Credential) (Holdings, error)
	Balances(ctx context.Context, c Credential) ([]Balance, error)

	// TransferOptions lists the assets the account holds with the networks each can
	// be sent on, and the fees and limits the exchange publishes for them.
	TransferOptions(ctx context.Context, c Credential) ([]TransferAsset, error)
	// PreviewTransfer checks a transfer with the exchange and quotes it, moving nothing.
	PreviewTransfer(ctx context.Context, c Credential, r TransferRequest) (TransferPreview, error)
	// ExecuteTransfer sends it, at most once per r.ClientTransactionID. When the
	// exchange wants a second factor it answers a ProviderMFARequired error; the
	// caller repeats the same request with r.MFACode set.
	ExecuteTransfer(ctx context.Context, c Credential, r TransferRequest) (TransferResult, error)
	// GetTransfer reads one transfer's current state.
	GetTransfer(ctx context.Context, c Credential, ref TransferRef) (TransferResult, error)
	// Transfers lists the account's crypto withdrawals and deposits.
	Transfers(ctx context.Context, c Credential, q TransferQuery) (TransferPage, error)
	// DepositAddress returns (creating at the exchange if needed) a deposit address.
	DepositAddress(ctx context.Context, c Credential, r DepositAddressRequest) (DepositAddress, error)
	// AccountHolder returns what the exchange tells about the account's owner.
	AccountHolder(ctx context.Context, c Credential) (AccountHolder, error)
	// Rates returns the exchange's public exchange rates for one unit of base (no
	// credential needed).
	Rates(ctx context.Context, base string) (Rates, error)
}

// OAuthProvider is a provider whose users authenticate with an authorization-code redirect.
type OAuthProvider interface {
	Provider
	// AuthCodeURL is where to send the user.
	AuthCodeURL(r AuthCodeRequest) string
	// Exchange trades the authorization code for a credential.
	Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (Credential, error)
}

// AuthCodeRequest is one authorization request of an OAuth integration.
type AuthCodeRequest struct {
	State        string
	CodeVerifier string // PKCE verifier (S256), used where the exchange supports PKCE
	RedirectURL  string
	// Scope is the permission of the connection being made: the adapter asks the
	// exchange for the matching scopes only (a read connection gets no send scope).
	Scope Permission
}

// APIKeyProvider is a provider whose users create an API key at the exchange and paste
// the key and its secret into Link (AuthAPIKey).
type APIKeyProvider interface {
	Provider
	// ConnectAPIKey checks the key with the exchange (it works, and carries the
	// permissions the connection's scope needs and no others linkvault refuses) and
	// returns the credential to store. A key the exchange refuses is a ProviderReauth
	// error; a key with the wrong permissions is ProviderRejected with a Code naming
	// the problem (key_cannot_read, key_cannot_withdraw, key_can_withdraw,
	// key_too_powerful, invalid_api_key_format).
	ConnectAPIKey(ctx context.Context, r APIKeyRequest) (Credential, error)
}

// APIKeyRequest is a key the user pasted into Link for a connection of Scope.
type APIKeyRequest struct {
	Key    string
	Secret Secret
	Scope  Permission
}

// ProviderErrorKind classifies a provider failure by what the caller should do.
type ProviderErrorKind int

const (
	// ProviderTransient: 5xx, 429, timeouts, connection errors. Retry with backoff; keep the credential.
	ProviderTransient ProviderErrorKind = iota + 1
	// ProviderReauth: invalid_grant, revoked, expired or deleted credential. The user
	// must authenticate again; the tokenId stays.
	ProviderReauth
	// ProviderRejected: the provider refused this request (bad address, insufficient
	// funds, invalid MFA code); the credential is fine.
	ProviderRejected
	// ProviderMFARequired: the exchange asks the user for a second-factor code for
	// this operation (Code "mfa_required"), or refused the code given ("mfa_invalid").
	// Repeat the same request with the code; nothing was executed.
	ProviderMFARequired
	// ProviderUnsupported: the exchange offers no documented way to do this (Code
	// "not_supported"). Retrying changes nothing.
	ProviderUnsupported
)

func (k ProviderErrorKind) String() string {
	switch k {
	case ProviderTransient:
		return "transient"
	case ProviderReauth:
		return "reauth"
	case ProviderRejected:
		return "rejected"
	case ProviderMFARequired:
		return "mfa_required"
	case ProviderUnsupported:
		return "unsupported"
	}
	return "unknown"
}

// ProviderError is a classified failure of a provider call. It never carries the
// upstream response body: Code is a short token such as "invalid_grant" or "http_503".
type ProviderError struct {
	Broker     BrokerType
	Op         string // "refresh", "holdings", ...
	Kind       ProviderErrorKind
	StatusCode int           // upstream HTTP status, 0 for network errors
	Code       string        // short machine code (OAuth error code, "timeout", "http_503")
	RetryAfter time.Duration // from a 429's Retry-After
	Err        error         // underlying transport error, for logs
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("provider %s %s: %s (%s, http %d)", e.Broker, e.Op, e.Kind, e.Code, e.StatusCode)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// CommonError is the answer to the kinds every layer words the same way: the exchange
// asks for a second-factor code (or refused the one given: Code "mfa_invalid"), or
// offers no way to do the operation. cause is kept for logs. ok is false for the other
// kinds, which each layer words for its own context.
func (e *ProviderError) CommonError(cause error) (_ *Error, ok bool) {
	var out *Error
	switch e.Kind {
	case ProviderMFARequired:
		out = ErrMFARequired(e.Code == "mfa_invalid")
	case ProviderUnsupported:
		out = ErrNotSupported("This operation")
	default:
		return nil, false
	}
	out.Err = cause
	return out, true
}

// ProviderErrorKindOf returns the kind of a *ProviderError in err's chain, or 0.
func ProviderErrorKindOf(err error) ProviderErrorKind {
	var pe *ProviderError
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return 0
}

// IsReauthRequired reports whether err means the user must authenticate again.
func IsReauthRequired(err error) bool { return ProviderErrorKindOf(err) == ProviderReauth }

// IsTransient reports whether err is worth retrying later with the same credential.
func IsTransient(err error) bool { return ProviderErrorKindOf(err) == ProviderTransient }

// IsMFARequired reports whether the exchange asks for (or refused) a second-factor code.
func IsMFARequired(err error) bool { return ProviderErrorKindOf(err) == ProviderMFARequired }

// IsUnsupported reports whether the exchange offers no way to do the operation.
func IsUnsupported(err error) bool { return ProviderErrorKindOf(err) == ProviderUnsupported }

// Providers looks adapters up by broker type.
type Providers interface {
	Provider(b BrokerType) (Provider, bool)
	List() []Provider
}
