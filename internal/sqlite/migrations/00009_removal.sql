-- Removal leaves nothing that identifies a connection (issue 15): the removal's
-- transaction finds the client's audit rows of the tokenId by their reference, and the
-- finished webhook events still naming it; finished events are minimised.

-- +goose Up
CREATE INDEX audit_log_client_ref ON audit_log (client_id, token_ref);
CREATE INDEX webhook_events_token ON webhook_events (client_id, token_id) WHERE token_id <> '';
-- Events delivered (or failed, or skipped) before this release keep only their id,
-- type, times and outcome, as new ones do from now on.
UPDATE webhook_events SET data = '{}', token_id = '' WHERE outcome <> '';

-- +goose Down
DROP INDEX webhook_events_token;
DROP INDEX audit_log_client_ref;
