-- The durable revocation queue: credentials whose exchange grant must still be revoked
-- (a removed connection's, or one a reconnect superseded), sealed for the queue. Written
-- in the transaction that made the credential obsolete; deleted once the exchange
-- confirmed or refused.
-- Times are INTEGER unix nanoseconds (UTC); NULL means "zero time" for optional ones.

-- +goose Up
CREATE TABLE revocations (
    id               TEXT    PRIMARY KEY,
    client_id        TEXT    NOT NULL,
    token_id         TEXT    NOT NULL DEFAULT '',
    broker_type      TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    sealed           BLOB    NOT NULL,
    key_version      INTEGER NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_error       TEXT    NOT NULL DEFAULT '',
    lease_owner      TEXT    NOT NULL DEFAULT '',
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX revocations_due ON revocations (next_attempt_at);

-- +goose Down
DROP TABLE revocations;
