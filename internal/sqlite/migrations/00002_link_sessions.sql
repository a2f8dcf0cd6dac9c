-- Link sessions: one per linkToken, single use, short-lived. Bearer values (session
-- id, page secret, OAuth state) are stored only as SHA-256 digests (hex); the pending
-- authentication step is sealed with the client's data key.

-- +goose Up
CREATE TABLE link_sessions (
    key                 TEXT    PRIMARY KEY,
    client_id           TEXT    NOT NULL,
    user_id             TEXT    NOT NULL,
    permission          TEXT    NOT NULL,
    options             TEXT    NOT NULL DEFAULT '{}',
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    consumed_at         INTEGER,
    page_key            TEXT,
    state_key           TEXT,
    pending             BLOB,
    pending_key_version INTEGER NOT NULL DEFAULT 0,
    outcome             TEXT,
    version             INTEGER NOT NULL
) STRICT;

CREATE UNIQUE INDEX link_sessions_page ON link_sessions (page_key) WHERE page_key IS NOT NULL;
CREATE UNIQUE INDEX link_sessions_state ON link_sessions (state_key) WHERE state_key IS NOT NULL;
CREATE INDEX link_sessions_expiry ON link_sessions (expires_at);

-- +goose Down
DROP TABLE link_sessions;
