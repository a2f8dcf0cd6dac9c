-- The durable revocation queue: credentials whose exchange grant must still be revoked
-- (a removed connection's, or one a reconnect superseded), sealed for the queue. Written
-- in the transaction that made the credential obsolete; deleted once the exchange
-- confirmed or refused.

-- +goose Up
CREATE TABLE revocations (
    id               text        PRIMARY KEY,
    client_id        text        NOT NULL,
    token_id         text        NOT NULL DEFAULT '',
    broker_type      text        NOT NULL,
    reason           text        NOT NULL,
    sealed           bytea       NOT NULL,
    key_version      integer     NOT NULL,
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL,
    last_error       text        NOT NULL DEFAULT '',
    lease_owner      text        NOT NULL DEFAULT '',
    lease_expires_at timestamptz,
    created_at       timestamptz NOT NULL
);

CREATE INDEX revocations_due ON revocations (next_attempt_at);

-- +goose Down
DROP TABLE revocations;
