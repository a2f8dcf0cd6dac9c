package linkvault

import "time"

// LinkSession is one Link session as stored: the short-lived, single-use session an app
// opens for one of its users (POST /api/v1/linktoken). internal/link runs it; the stores
// keep it. Nothing that could be replayed is held in the clear: the session id, the page
// secret and the OAuth state are kept as SHA-256 digests, and the pending step is sealed.
type LinkSession struct {
	// Key is the hex SHA-256 of the public session id (the id in the Link URL); the id
	// itself is never stored.
	Key        string
	ClientID   string
	UserID     string
	Permission Permission // the API key's permission: the scope of every connection made here
	Options    LinkOptions

	CreatedAt time.Time
	// ExpiresAt is when the session stops working: CreatedAt+SessionTTL until the page
	// is first opened, then ConsumedAt+PageTTL.
	ExpiresAt  time.Time
	ConsumedAt time.Time // zero until the Link page was opened (single use)

	// PageKey is the hex SHA-256 of the page secret handed to the opened page; the page
	// authenticates its JSON calls with the secret. Empty until consumed.
	PageKey string
	// StateKey is the hex SHA-256 of the OAuth state of the pending authorization, so
	// the callback finds its session; empty when none is pending.
	StateKey string
	// Pending is the sealed pending step; nil when none.
	Pending           []byte
	PendingKeyVersion int
	// Outcome is the JSON of the latest finished step, read by a page waiting for a
	// popup; nil when none.
	Outcome []byte

	// Version increases on every write; updates are a compare-and-swap on it.
	Version int64
}

// LinkOptions are the app's choices for a Link session (the linktoken request).
type LinkOptions struct {
	RestrictMultipleAccounts bool       `json:"restrictMultipleAccounts,omitempty"`
	IntegrationID            string     `json:"integrationId,omitempty"`
	BrokerType               BrokerType `json:"brokerType,omitempty"`
}
