package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/linkvault/linkvault"
)

// CreateClient inserts c; conflict if the id exists. A zero CreatedAt is set to now.
func (db *DB) CreateClient(ctx context.Context, c *linkvault.Client) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO clients (id, name, webhook_url, created_at) VALUES (?, ?, ?, ?)`,
			c.ID, c.Name, c.WebhookURL, timeToDB(c.CreatedAt))
		return err
	})
	if isUniqueViolation(err) {
		return linkvault.ErrConflict("Client already exists.")
	}
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", err)
	}
	return nil
}

const clientColumns = `id, name, webhook_url, created_at`

func scanClient(row rowScanner) (*linkvault.Client, error) {
	var (
		c       linkvault.Client
		created int64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.WebhookURL, &created); err != nil {
		return nil, err
	}
	c.CreatedAt = timeFromDB(created)
	return &c, nil
}

// GetClient returns the client with the given id, or notFound.
func (db *DB) GetClient(ctx context.Context, id string) (*linkvault.Client, error) {
	row, err := db.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: get client: %w", err)
	}
	c, err := scanClient(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, linkvault.ErrNotFound("Client")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get client: %w", err)
	}
	return c, nil
}

// ListClients returns every client ordered by id.
func (db *DB) ListClients(ctx context.Context) ([]*linkvault.Client, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	defer rows.Close()
	var out []*linkvault.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", err)
	}
	return out, nil
}

// SetClientWebhookURL replaces the client's webhook URL (empty disables delivery).
func (db *DB) SetClientWebhookURL(ctx context.Context, id, url string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE clients SET webhook_url = ? WHERE id = ?`, url, id)
		if err != nil {
			return fmt.Errorf("sqlite: set webhook url: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: set webhook url: %w", err)
		} else if n == 0 {
			return linkvault.ErrNotFound("Client")
		}
		return nil
	})
}
