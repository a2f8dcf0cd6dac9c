-- The retention loop (issue 19) deletes the oldest finished webhook events and audit
-- entries in bounded batches, every few minutes on every server: each batch reads
-- its rows in created_at order from these indexes instead of scanning the table.

-- +goose Up
CREATE INDEX webhook_events_created ON webhook_events (created_at);
CREATE INDEX audit_log_created ON audit_log (created_at);

-- +goose Down
DROP INDEX audit_log_created;
DROP INDEX webhook_events_created;
