-- Each running server advertises the master key versions it holds and the version it
-- wraps new data keys with, so `keys rotate` re-wraps only once every live replica
-- can unwrap the new version (issue 13). seen_at is INTEGER unix nanoseconds (UTC).

-- +goose Up
CREATE TABLE keyring_replicas (
    replica_id     TEXT    PRIMARY KEY,
    held_versions  TEXT    NOT NULL,
    wrap_version   INTEGER NOT NULL,
    seen_at        INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE keyring_replicas;
