package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/linkvault/linkvault"
)

// CreateClient inserts c; conflict if the id exists. A zero CreatedAt is set to now.
func (db *DB) CreateClient(ctx context.Context, c *linkvault.Client) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	_, err := db.pool.Exec(ctx,
		`INSERT INTO clients (id, name, webhook_url, created_at) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Name, c.WebhookURL, c.CreatedAt)
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Client already exists.")
	}
	if err != nil {
		return fmt.Errorf("postgres: create client: %w", err)
	}
	return nil
}

const clientColumns = `id, name, webhook_url, created_at`

func scanClient(row pgx.Row) (*linkvault.Client, error) {
	var (
		c       linkvault.Client
		created time.Time
	)
	if err := row.Scan(&c.ID, &c.Name, &c.WebhookURL, &created); err != nil {
		return nil, err
	}
	c.CreatedAt = timeFromDB(created)
	return &c, nil
}

// GetClient returns the client with the given id, or notFound.
func (db *DB) GetClient(ctx context.Context, id string) (*linkvault.Client, error) {
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if isNoRows(err) {
		return nil, linkvault.ErrNotFound("Client")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get client: %w", err)
	}
	return c, nil
}

// ListClients returns every client ordered by id.
func (db *DB) ListClients(ctx context.Context) ([]*linkvault.Client, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*linkvault.Client, error) { return scanClient(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", err)
	}
	return out, nil
}

// SetClientWebhookURL replaces the client's webhook URL (empty disables delivery).
func (db *DB) SetClientWebhookURL(ctx context.Context, id, url string) error {
	tag, err := db.pool.Exec(ctx, `UPDATE clients SET webhook_url = $1 WHERE id = $2`, url, id)
	if err != nil {
		return fmt.Errorf("postgres: set webhook url: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return linkvault.ErrNotFound("Client")
	}
	return nil
}
