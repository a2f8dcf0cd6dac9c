-- Managed-transfer previews (Mesh's previewId): what execute runs.

-- +goose Up
CREATE TABLE transfer_previews (
    id                    text        PRIMARY KEY,
    client_id             text        NOT NULL,
    token_id              text        NOT NULL,
    client_transaction_id text        NOT NULL,
    request               json        NOT NULL,
    created_at            timestamptz NOT NULL,
    expires_at            timestamptz NOT NULL
);

-- Retention sweeps by expiry.
CREATE INDEX transfer_previews_expires ON transfer_previews (expires_at);

-- +goose Down
DROP TABLE transfer_previews;
