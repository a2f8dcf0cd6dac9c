-- Audit log of every use of a tokenId, and idempotency records of managed transfers.

-- +goose Up
-- Append-only. token_id is set only for the client's own connections; token_ref (a
-- fingerprint) for every presented tokenId. Never holds secrets or upstream text.
CREATE TABLE audit_log (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_id   text        NOT NULL,
    key_id      text        NOT NULL DEFAULT '',
    token_id    text        NOT NULL DEFAULT '',
    token_ref   text        NOT NULL DEFAULT '',
    broker_type text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    outcome     text        NOT NULL,
    http_status integer     NOT NULL DEFAULT 0,
    duration_us bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL
);

-- Per-client queries, newest first.
CREATE INDEX audit_log_client_time ON audit_log (client_id, created_at);

-- One row per (client, clientTransactionId): a retried execute never pays twice.
CREATE TABLE transfers (
    client_id             text        NOT NULL,
    client_transaction_id text        NOT NULL,
    token_id              text        NOT NULL,
    request_hash          bytea       NOT NULL,
    status                text        NOT NULL,
    provider_transfer_id  text        NOT NULL DEFAULT '',
    result                json,
    attempt               integer     NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (client_id, client_transaction_id)
);

-- +goose Down
DROP TABLE transfers;
DROP TABLE audit_log;
