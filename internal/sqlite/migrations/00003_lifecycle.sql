-- Lifecycle engine and webhook delivery: the outcome of outbox events, the delivery
-- log, and per-client webhook signing secrets.
-- Times are INTEGER unix nanoseconds (UTC); NULL means "zero time" for optional ones.

-- +goose Up
-- '' while the event awaits delivery; then 'delivered', 'failed' or 'skipped'.
-- Finished events have next_attempt_at NULL, so the due index holds only the backlog.
ALTER TABLE webhook_events ADD COLUMN outcome TEXT NOT NULL DEFAULT '';

CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- One row per delivery attempt. Never holds response bodies.
CREATE TABLE webhook_deliveries (
    event_id     TEXT    NOT NULL,
    attempt      INTEGER NOT NULL,
    client_id    TEXT    NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    error_code   TEXT    NOT NULL DEFAULT '',
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    attempted_at INTEGER NOT NULL,
    PRIMARY KEY (event_id, attempt)
) STRICT;

CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_id, attempted_at);

-- Signing secrets, sealed under the client's data key. Several are active during a
-- rotation: the newest (expires_at NULL) and the previous ones until their expiry.
CREATE TABLE webhook_secrets (
    client_id   TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    sealed      BLOB    NOT NULL,
    key_version INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    PRIMARY KEY (client_id, version)
) STRICT;

-- +goose Down
DROP TABLE webhook_secrets;
DROP TABLE webhook_deliveries;
DROP INDEX webhook_events_due;
ALTER TABLE webhook_events DROP COLUMN outcome;
