-- Lifecycle engine and webhook delivery: the outcome of outbox events, the delivery
-- log, and per-client webhook signing secrets.

-- +goose Up
-- '' while the event awaits delivery; then 'delivered', 'failed' or 'skipped'.
-- Finished events have next_attempt_at NULL, so the due index holds only the backlog.
ALTER TABLE webhook_events ADD COLUMN outcome text NOT NULL DEFAULT '';

CREATE INDEX webhook_events_due ON webhook_events (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- One row per delivery attempt. Never holds response bodies.
CREATE TABLE webhook_deliveries (
    event_id     text        NOT NULL,
    attempt      integer     NOT NULL,
    client_id    text        NOT NULL,
    status_code  integer     NOT NULL DEFAULT 0,
    error_code   text        NOT NULL DEFAULT '',
    duration_ms  bigint      NOT NULL DEFAULT 0,
    attempted_at timestamptz NOT NULL,
    PRIMARY KEY (event_id, attempt)
);

CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_id, attempted_at);

-- Signing secrets, sealed under the client's data key. Several are active during a
-- rotation: the newest (expires_at NULL) and the previous ones until their expiry.
CREATE TABLE webhook_secrets (
    client_id   text        NOT NULL,
    version     integer     NOT NULL,
    sealed      bytea       NOT NULL,
    key_version integer     NOT NULL,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz,
    PRIMARY KEY (client_id, version)
);

-- +goose Down
DROP TABLE webhook_secrets;
DROP TABLE webhook_deliveries;
DROP INDEX webhook_events_due;
ALTER TABLE webhook_events DROP COLUMN outcome;
