-- Each running server advertises the master key versions it holds and the version it
-- wraps new data keys with, so `keys rotate` re-wraps only once every live replica
-- can unwrap the new version (issue 13).

-- +goose Up
CREATE TABLE keyring_replicas (
    replica_id     text        PRIMARY KEY,
    held_versions  text        NOT NULL,
    wrap_version   integer     NOT NULL,
    seen_at        timestamptz NOT NULL
);

-- +goose Down
DROP TABLE keyring_replicas;
