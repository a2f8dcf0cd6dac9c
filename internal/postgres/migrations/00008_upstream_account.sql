-- The upstream account (the exchange's id for the user whose grant a connection holds)
-- is a column of the connection, bound into the sealed credential's associated data
-- with the other fields that grant power (issue 15). Rows sealed before it carry ''
-- until the re-seal pass (internal/vault Reseal) fills it from the credential.

-- +goose Up
ALTER TABLE connections ADD COLUMN upstream_account text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE connections DROP COLUMN upstream_account;
