-- What a client's Link pages show and where they may be framed: an optional logo
-- (a data: URI) and the web origins allowed to frame the page and receive its
-- messages (space-separated; '*' for any, set only by the operator).

-- +goose Up
ALTER TABLE clients ADD COLUMN logo text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN allowed_origins text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN allowed_origins;
ALTER TABLE clients DROP COLUMN logo;
