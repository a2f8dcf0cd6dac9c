package webhook

import (
	"context"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// AdminStore is what the operator commands need from the database.
type AdminStore interface {
	GetClient(ctx context.Context, id string) (*linkvault.Client, error)
	SetClientWebhookURL(ctx context.Context, id, url string) error
	SecretStore
	DeliveryLog
}

// Admin implements the operator commands behind "linkvault webhooks".
type Admin struct {
	store   AdminStore
	secrets *Secrets
}

// NewAdmin returns an Admin. overlap is how long a rotated-out secret keeps signing
// (0: DefaultOverlap).
func NewAdmin(store AdminStore, sealer linkvault.Sealer, now func() time.Time, overlap time.Duration) *Admin {
	return &Admin{store: store, secrets: NewSecrets(store, sealer, now, overlap)}
}

// SetURL sets (or, with an empty url, clears) the client's webhook URL. A client
// without a signing secret gets its first one, returned in the Rotation (zero
// otherwise): deliveries are never sent unsigned.
func (a *Admin) SetURL(ctx context.Context, clientID, rawURL string) (Rotation, error) {
	if _, err := a.store.GetClient(ctx, clientID); err != nil {
		return Rotation{}, err
	}
	if rawURL != "" {
		if err := ValidateURL(rawURL); err != nil {
			return Rotation{}, err
		}
	}
	if err := a.store.SetClientWebhookURL(ctx, clientID, rawURL); err != nil {
		return Rotation{}, err
	}
	if rawURL == "" {
		return Rotation{}, nil
	}
	existing, err := a.store.ListWebhookSecrets(ctx, clientID)
	if err != nil || len(existing) > 0 {
		return Rotation{}, err
	}
	return a.secrets.Rotate(ctx, clientID)
}

// RotateSecret creates the client's next signing secret; the previous ones keep
// signing until the overlap ends.
func (a *Admin) RotateSecret(ctx context.Context, clientID string) (Rotation, error) {
	if _, err := a.store.GetClient(ctx, clientID); err != nil {
		return Rotation{}, err
	}
	return a.secrets.Rotate(ctx, clientID)
}

// Deliveries returns the client's most recent delivery attempts, newest first.
func (a *Admin) Deliveries(ctx context.Context, clientID string, limit int) ([]linkvault.WebhookDelivery, error) {
	if _, err := a.store.GetClient(ctx, clientID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		return nil, linkvault.ErrInvalid("limit must be within 1..1000.")
	}
	return a.store.ListWebhookDeliveries(ctx, clientID, limit)
}

// ValidateURL accepts absolute https URLs, and http ones on a loopback host (for local
// development), without credentials or a fragment.
func ValidateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return linkvault.ErrInvalid("webhook URL must be an absolute http(s) URL.")
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(raw, "#") {
		return linkvault.ErrInvalid("webhook URL must not contain credentials or a fragment.")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return linkvault.ErrInvalid("webhook URL must use https (http only on a loopback host).")
	}
	return linkvault.ErrInvalid("webhook URL must be an absolute http(s) URL.")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
