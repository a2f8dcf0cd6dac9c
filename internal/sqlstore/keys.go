package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/linkvault/linkvault"
)

// Clients, their API keys and their wrapped data keys (linkvault.ClientStore,
// APIKeyStore, DataKeyStore).

const clientColumns = `id, name, webhook_url, created_at, logo, allowed_origins`

func (s *Store) scanClient(row Row) (*linkvault.Client, error) {
	var (
		c       linkvault.Client
		origins string
	)
	if err := row.Scan(&c.ID, &c.Name, &c.WebhookURL, s.t(&c.CreatedAt), &c.Logo, &origins); err != nil {
		return nil, err
	}
	if origins != "" {
		c.AllowedOrigins = strings.Fields(origins)
	}
	return &c, nil
}

// CreateClient inserts c; conflict if the id exists. A zero CreatedAt is set to now.
func (s *Store) CreateClient(ctx context.Context, c *linkvault.Client) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	_, err := s.e.Write().Exec(ctx, `INSERT INTO clients (id, name, webhook_url, created_at, logo, allowed_origins)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Name, c.WebhookURL, c.CreatedAt, c.Logo, strings.Join(c.AllowedOrigins, " "))
	if s.e.IsUniqueViolation(err) {
		return linkvault.ErrConflict("Client already exists.")
	}
	return s.wrap("create client", err)
}

// GetClient returns the client with the given id, or notFound.
func (s *Store) GetClient(ctx context.Context, id string) (*linkvault.Client, error) {
	return one(s, "get client", clientNotFound, s.scanClient,
		s.e.Read().QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
}

// ListClients returns every client ordered by id.
func (s *Store) ListClients(ctx context.Context) ([]*linkvault.Client, error) {
	out, err := queryAll(ctx, s.e.Read(), s.scanClient, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	return out, s.wrap("list clients", err)
}

// SetClientWebhookURL replaces the client's webhook URL (empty disables delivery).
func (s *Store) SetClientWebhookURL(ctx context.Context, id, url string) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE clients SET webhook_url = $1 WHERE id = $2`, url, id)
	if err == nil && n == 0 {
		return linkvault.ErrNotFound("Client")
	}
	return s.wrap("set webhook url", err)
}

// UpdateClient replaces the client's name, logo and allowed origins (stored as one
// space-separated list: an origin has no spaces).
func (s *Store) UpdateClient(ctx context.Context, c *linkvault.Client) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE clients SET name = $1, logo = $2, allowed_origins = $3 WHERE id = $4`,
		c.Name, c.Logo, strings.Join(c.AllowedOrigins, " "), c.ID)
	if err == nil && n == 0 {
		return linkvault.ErrNotFound("Client")
	}
	return s.wrap("update client", err)
}

const apiKeyColumns = `id, client_id, permission, secret_hash, verifier_version, created_at, revoked_at`

func (s *Store) scanAPIKey(row Row) (*linkvault.APIKey, error) {
	var (
		k    linkvault.APIKey
		perm string
	)
	if err := row.Scan(&k.ID, &k.ClientID, &perm, &k.SecretHash, &k.VerifierVersion, s.t(&k.CreatedAt), s.t(&k.RevokedAt)); err != nil {
		return nil, err
	}
	k.Permission = linkvault.Permission(perm)
	return &k, nil
}

// CreateAPIKey inserts k; conflict if the id exists, notFound if the client does not.
// A zero CreatedAt is set to now.
func (s *Store) CreateAPIKey(ctx context.Context, k *linkvault.APIKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	if k.VerifierVersion == 0 {
		k.VerifierVersion = linkvault.APIKeyVerifierKeyed
	}
	_, err := s.e.Write().Exec(ctx, `INSERT INTO api_keys (id, client_id, permission, secret_hash, verifier_version, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.ClientID, string(k.Permission), k.SecretHash, k.VerifierVersion, k.CreatedAt, nullTime(k.RevokedAt))
	switch {
	case s.e.IsUniqueViolation(err):
		return linkvault.ErrConflict("API key already exists.")
	case s.e.IsForeignKeyViolation(err):
		return linkvault.ErrNotFound("Client")
	}
	return s.wrap("create api key", err)
}

// GetAPIKey returns the key with the given id (revoked keys included), or notFound.
func (s *Store) GetAPIKey(ctx context.Context, id string) (*linkvault.APIKey, error) {
	return one(s, "get api key", apiKeyNotFound, s.scanAPIKey,
		s.e.Read().QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE id = $1`, id))
}

// ListAPIKeys returns the client's keys, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, clientID string) ([]*linkvault.APIKey, error) {
	out, err := queryAll(ctx, s.e.Read(), s.scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE client_id = $1 ORDER BY created_at, id`, clientID)
	return out, s.wrap("list api keys", err)
}

// RevokeAPIKey marks the client's key revoked at at. The row stays; revoking an already
// revoked key keeps its first revocation time. notFound if the key is not the client's.
func (s *Store) RevokeAPIKey(ctx context.Context, clientID, id string, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	n, err := s.e.Write().Exec(ctx,
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND client_id = $3`, at, id, clientID)
	if err == nil && n == 0 {
		return linkvault.ErrNotFound("API key")
	}
	return s.wrap("revoke api key", err)
}

// UpgradeAPIKeyVerifier replaces the key's verifier if it still holds from at version
// fromVersion (compare-and-swap): conflict if it does not, notFound if the key does not
// exist.
func (s *Store) UpgradeAPIKeyVerifier(ctx context.Context, id string, from []byte, fromVersion int, to []byte, toVersion int) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE api_keys SET secret_hash = $1, verifier_version = $2
		WHERE id = $3 AND secret_hash = $4 AND verifier_version = $5`, to, toVersion, id, from, fromVersion)
	if err == nil && n == 0 {
		err = s.missingOrConflict(ctx, s.e.Write(), linkvault.ErrNotFound("API key"), linkvault.ErrConflict("API key verifier changed concurrently."),
			`SELECT 1 FROM api_keys WHERE id = $1`, id)
	}
	return s.wrap("upgrade api key verifier", err)
}

const dataKeyColumns = `client_id, version, wrapped, master_version, created_at`

func (s *Store) scanDataKey(row Row) (*linkvault.DataKey, error) {
	var k linkvault.DataKey
	if err := row.Scan(&k.ClientID, &k.Version, &k.Wrapped, &k.MasterVersion, s.t(&k.CreatedAt)); err != nil {
		return nil, err
	}
	return &k, nil
}

// CreateDataKey inserts k; conflict if (client, version) exists. A zero CreatedAt is
// set to now.
func (s *Store) CreateDataKey(ctx context.Context, k *linkvault.DataKey) error {
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	_, err := s.e.Write().Exec(ctx,
		`INSERT INTO data_keys (client_id, version, wrapped, master_version, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ClientID, k.Version, k.Wrapped, k.MasterVersion, k.CreatedAt)
	if s.e.IsUniqueViolation(err) {
		return linkvault.ErrConflict("Data key version already exists.")
	}
	return s.wrap("create data key", err)
}

// GetDataKey returns one version of the client's data key, or notFound.
func (s *Store) GetDataKey(ctx context.Context, clientID string, version int) (*linkvault.DataKey, error) {
	return one(s, "get data key", dataKeyNotFound, s.scanDataKey, s.e.Read().QueryRow(ctx,
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = $1 AND version = $2`, clientID, version))
}

// LatestDataKey returns the client's highest data key version, or notFound.
func (s *Store) LatestDataKey(ctx context.Context, clientID string) (*linkvault.DataKey, error) {
	return one(s, "latest data key", dataKeyNotFound, s.scanDataKey, s.e.Read().QueryRow(ctx,
		`SELECT `+dataKeyColumns+` FROM data_keys WHERE client_id = $1 ORDER BY version DESC LIMIT 1`, clientID))
}

// ListDataKeys returns every data key ordered by client, then version.
func (s *Store) ListDataKeys(ctx context.Context) ([]*linkvault.DataKey, error) {
	out, err := queryAll(ctx, s.e.Read(), s.scanDataKey, `SELECT `+dataKeyColumns+` FROM data_keys ORDER BY client_id, version`)
	return out, s.wrap("list data keys", err)
}

// RewrapDataKey replaces the wrapped bytes if the key is still wrapped by
// fromMasterVersion: conflict if it is not, notFound if the key does not exist.
func (s *Store) RewrapDataKey(ctx context.Context, clientID string, version int, wrapped []byte, fromMasterVersion, toMasterVersion int) error {
	n, err := s.e.Write().Exec(ctx, `UPDATE data_keys SET wrapped = $1, master_version = $2
		WHERE client_id = $3 AND version = $4 AND master_version = $5`,
		wrapped, toMasterVersion, clientID, version, fromMasterVersion)
	if err == nil && n == 0 {
		err = s.missingOrConflict(ctx, s.e.Write(), linkvault.ErrNotFound("Data key"), linkvault.ErrConflict("Data key was rewrapped concurrently."),
			`SELECT 1 FROM data_keys WHERE client_id = $1 AND version = $2`, clientID, version)
	}
	return s.wrap("rewrap data key", err)
}
