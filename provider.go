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
	AuthOAuth       AuthKind = "oauth"       // authorization-code redirect (+PKCE)
	AuthCredentials AuthKind = "credentials" // username, password, optional MFA step
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
	Networks           []string   `json:"networks,omitempty"`
}

// Position is one holding, in the field names of Mesh's holdings response.
type Position struct {
	Symbol      string  `json:"symbol"`
	Name        string  `json:"name,omitempty"`
	Amount      float64 `json:"amount"`
	CostBasis   float64 `json:"costBasis,omitempty"`
	LastPrice   float64 `json:"lastPrice,omitempty"`
	MarketValue float64 `json:"marketValue,omitempty"`
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
	Cash                      float64 `json:"cash"`
	BuyingPower               float64 `json:"buyingPower"`
	CryptocurrencyBuyingPower float64 `json:"cryptocurrencyBuyingPower"`
}

// TransferRequest moves crypto from the connected account to an address.
type TransferRequest struct {
	ClientTransactionID string // idempotency key chosen by the app
	FromAccountID       string // optional; the default account when empty
	ToAddress           string
	Symbol              string
	Network             string
	Amount              float64
	PreviewID           string // optional, from a preview
}

// TransferPreview is the quote for a transfer before it executes.
type TransferPreview struct {
	PreviewID        string    `json:"previewId"`
	Symbol           string    `json:"symbol"`
	Network          string    `json:"networkName"`
	Amount           float64   `json:"amount"`
	Fee              float64   `json:"estimatedNetworkGasFee"`
	Total            float64   `json:"totalAmount"`
	ToAddress        string    `json:"toAddress"`
	ExpiresAt        time.Time `json:"expiresAt,omitzero"`
	InsufficientFund bool      `json:"insufficientFunds,omitempty"`
}

// TransferResult is an executed transfer as the provider reports it.
type TransferResult struct {
	TransferID string  `json:"transferId"`
	Status     string  `json:"status"` // pending | succeeded | failed
	Symbol     string  `json:"symbol"`
	Network    string  `json:"networkName"`
	Amount     float64 `json:"amount"`
	Fee        float64 `json:"fee"`
	ToAddress  string  `json:"toAddress"`
	Hash       string  `json:"hash,omitempty"`
}

// Provider is an adapter to one exchange, reached over HTTP at configurable endpoints.
// Every method classifies its failures as a *ProviderError.
type Provider interface {
	Integration() Integration
	// Refresh renews the credential without the user. Providers without refresh return
	// a permanent error (re-authentication required) once the credential expired.
	Refresh(ctx context.Context, c Credential) (Credential, error)
	// Validate makes a cheap call proving the credential still works.
	Validate(ctx context.Context, c Credential) error
	// Revoke invalidates the credential at the provider (RFC 7009 where supported);
	// providers without revocation return nil.
	Revoke(ctx context.Context, c Credential) error
	Accounts(ctx context.Context, c Credential) ([]Account, error)
	Holdings(ctx context.Context, c Credential) (Holdings, error)
	Balances(ctx context.Context, c Credential) ([]Balance, error)
	PreviewTransfer(ctx context.Context, c Credential, r TransferRequest) (TransferPreview, error)
	ExecuteTransfer(ctx context.Context, c Credential, r TransferRequest) (TransferResult, error)
}

// OAuthProvider is a provider whose users authenticate with an authorization-code redirect.
type OAuthProvider interface {
	Provider
	// AuthCodeURL is where to send the user; codeVerifier is the PKCE verifier (S256).
	AuthCodeURL(state, codeVerifier, redirectURL string) string
	// Exchange trades the authorization code for a credential.
	Exchange(ctx context.Context, code, codeVerifier, redirectURL string) (Credential, error)
}

// CredentialsProvider is a provider whose users type username, password and an MFA code.
type CredentialsProvider interface {
	Provider
	Login(ctx context.Context, r LoginRequest) (LoginResult, error)
}

// LoginRequest is one step of a credentials login. The second step repeats the
// Challenge of the first result together with the MFA code.
type LoginRequest struct {
	Username  string
	Password  Secret
	MFACode   Secret
	Challenge string
}

// LoginResult is either a credential or a request for an MFA code.
type LoginResult struct {
	Credential  Credential
	MFARequired bool
	Challenge   string // opaque, pass back with the MFA code
}

// ProviderErrorKind classifies a provider failure by what the caller should do.
type ProviderErrorKind int

const (
	// ProviderTransient: 5xx, 429, timeouts, connection errors. Retry with backoff; keep the credential.
	ProviderTransient ProviderErrorKind = iota + 1
	// ProviderReauth: invalid_grant, revoked, session expired, bad credentials at login.
	// The user must authenticate again; the tokenId stays.
	ProviderReauth
	// ProviderRejected: the provider refused this request (bad address, insufficient
	// funds, invalid MFA code); the credential is fine.
	ProviderRejected
)

func (k ProviderErrorKind) String() string {
	switch k {
	case ProviderTransient:
		return "transient"
	case ProviderReauth:
		return "reauth"
	case ProviderRejected:
		return "rejected"
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

// Providers looks adapters up by broker type.
type Providers interface {
	Provider(b BrokerType) (Provider, bool)
	List() []Provider
}
