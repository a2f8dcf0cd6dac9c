-- Audit log of every use of a tokenId, and idempotency records of managed transfers.
-- Times are INTEGER unix nanoseconds (UTC).

-- +goose Up
-- Append-only. token_id is set only for the client's own connections; token_ref (a
-- fingerprint) for every presented tokenId. Never holds secrets or upstream text.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id   TEXT    NOT NULL,
    key_id      TEXT    NOT NULL DEFAULT '',
    token_id    TEXT    NOT NULL DEFAULT '',
    token_ref   TEXT    NOT NULL DEFAULT '',
    broker_type TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    http_status INTEGER NOT NULL DEFAULT 0,
    duration_us INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
) STRICT;

-- Per-client queries, newest first.
CREATE INDEX audit_log_client_time ON audit_log (client_id, created_at);

-- One row per (client, clientTransactionId): a retried execute never pays twice.
CREATE TABLE transfers (
    client_id             TEXT    NOT NULL,
    client_transaction_id TEXT    NOT NULL,
    token_id              TEXT    NOT NULL,
    request_hash          BLOB    NOT NULL,
    status                TEXT    NOT NULL,
    provider_transfer_id  TEXT    NOT NULL DEFAULT '',
    result                TEXT,
    attempt               INTEGER NOT NULL DEFAULT 1,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (client_id, client_transaction_id)
) STRICT;

-- +goose Down
DROP TABLE transfers;
DROP TABLE audit_log;
