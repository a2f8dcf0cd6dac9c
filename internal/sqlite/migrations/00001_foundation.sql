-- Foundation schema: clients, API keys, data keys, connections and the webhook outbox.
-- Times are INTEGER unix nanoseconds (UTC); NULL means "zero time" for optional ones.

-- +goose Up
CREATE TABLE clients (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL DEFAULT '',
    webhook_url TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id          TEXT    PRIMARY KEY,
    client_id   TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL,
    secret_hash BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX api_keys_client ON api_keys (client_id);

CREATE TABLE data_keys (
    client_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    wrapped        BLOB    NOT NULL,
    master_version INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (client_id, version)
) STRICT;

CREATE TABLE connections (
    token_id           TEXT    PRIMARY KEY,
    client_id          TEXT    NOT NULL,
    user_id            TEXT    NOT NULL,
    broker_type        TEXT    NOT NULL,
    scope              TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    accounts           TEXT    NOT NULL DEFAULT 'null',
    sealed_credential  BLOB,
    key_version        INTEGER NOT NULL DEFAULT 0,
    access_expires_at  INTEGER,
    refresh_expires_at INTEGER,
    next_check_at      INTEGER,
    failure_count      INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT    NOT NULL DEFAULT '',
    lease_owner        TEXT    NOT NULL DEFAULT '',
    lease_expires_at   INTEGER,
    version            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    -- One tokenId per identity. The constraint's index also serves lookups by
    -- (client_id, user_id), so no separate index is needed for them.
    UNIQUE (client_id, user_id, broker_type, scope)
) STRICT;

-- The lifecycle engine's due set: only rows with a scheduled check are indexed, so
-- finding due rows costs in proportion to the due set, not to the table.
CREATE INDEX connections_due ON connections (next_check_at) WHERE next_check_at IS NOT NULL;

-- Transactional outbox of webhook events, written in the same transaction as the
-- state change each event describes.
CREATE TABLE webhook_events (
    id               TEXT    PRIMARY KEY,
    client_id        TEXT    NOT NULL,
    type             TEXT    NOT NULL,
    token_id         TEXT    NOT NULL DEFAULT '',
    data             TEXT    NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Undelivered events in delivery order.
CREATE INDEX webhook_events_pending ON webhook_events (next_attempt_at) WHERE delivered_at IS NULL;

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE connections;
DROP TABLE data_keys;
DROP TABLE api_keys;
DROP TABLE clients;
