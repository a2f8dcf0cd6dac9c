-- API key verifiers keyed with a secret derived from the master key (issue 15): a
-- database writer without the master key can no longer mint a key. verifier_version 1
-- is the old, unkeyed SHA-256 of the secret, which authenticates nothing any more;
-- version 2 is HMAC-SHA256 under the derived key of (key id, client id, permission,
-- SHA-256 of the secret). The server that applies this migration re-derives every
-- version 1 row from its stored hash (internal/clients.UpgradeVerifiers); rows
-- written later are never upgraded.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN verifier_version integer NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN verifier_version;
