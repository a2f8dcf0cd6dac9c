-- Managed-transfer previews (Mesh's previewId): what execute runs.
-- Times are INTEGER unix nanoseconds (UTC).

-- +goose Up
CREATE TABLE transfer_previews (
    id                    TEXT    PRIMARY KEY,
    client_id             TEXT    NOT NULL,
    token_id              TEXT    NOT NULL,
    client_transaction_id TEXT    NOT NULL,
    request               TEXT    NOT NULL,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL
) STRICT;

-- Retention sweeps by expiry.
CREATE INDEX transfer_previews_expires ON transfer_previews (expires_at);

-- +goose Down
DROP TABLE transfer_previews;
