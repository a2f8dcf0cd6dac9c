-- Foundation schema: clients, API keys, data keys, connections and the webhook outbox.
-- Optional times are NULL when unset ("zero time" in Go).

-- +goose Up
CREATE TABLE clients (
    id          text        PRIMARY KEY,
    name        text        NOT NULL DEFAULT '',
    webhook_url text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id          text        PRIMARY KEY,
    client_id   text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    permission  text        NOT NULL,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

CREATE INDEX api_keys_client ON api_keys (client_id);

CREATE TABLE data_keys (
    client_id      text        NOT NULL,
    version        integer     NOT NULL,
    wrapped        bytea       NOT NULL,
    master_version integer     NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (client_id, version)
);

CREATE TABLE connections (
    token_id           text        PRIMARY KEY,
    client_id          text        NOT NULL,
    user_id            text        NOT NULL,
    broker_type        text        NOT NULL,
    scope              text        NOT NULL,
    status             text        NOT NULL,
    accounts           json        NOT NULL DEFAULT 'null',
    sealed_credential  bytea,
    key_version        integer     NOT NULL DEFAULT 0,
    access_expires_at  timestamptz,
    refresh_expires_at timestamptz,
    next_check_at      timestamptz,
    failure_count      integer     NOT NULL DEFAULT 0,
    last_error         text        NOT NULL DEFAULT '',
    lease_owner        text        NOT NULL DEFAULT '',
    lease_expires_at   timestamptz,
    version            bigint      NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- One tokenId per identity. The constraint's index also serves lookups by
    -- (client_id, user_id), so no separate index is needed for them.
    CONSTRAINT connections_identity UNIQUE (client_id, user_id, broker_type, scope)
);

-- The lifecycle engine's due set: only rows with a scheduled check are indexed, so
-- finding due rows costs in proportion to the due set, not to the table.
CREATE INDEX connections_due ON connections (next_check_at) WHERE next_check_at IS NOT NULL;

-- Transactional outbox of webhook events, written in the same transaction as the
-- state change each event describes.
CREATE TABLE webhook_events (
    id               text        PRIMARY KEY,
    client_id        text        NOT NULL,
    type             text        NOT NULL,
    token_id         text        NOT NULL DEFAULT '',
    data             json        NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_owner      text        NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        NOT NULL DEFAULT ''
);

-- Undelivered events in delivery order.
CREATE INDEX webhook_events_pending ON webhook_events (next_attempt_at) WHERE delivered_at IS NULL;

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE connections;
DROP TABLE data_keys;
DROP TABLE api_keys;
DROP TABLE clients;
