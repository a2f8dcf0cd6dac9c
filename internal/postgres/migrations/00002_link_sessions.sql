-- Link sessions: one per linkToken, single use, short-lived. Bearer values (session
-- id, page secret, OAuth state) are stored only as SHA-256 digests (hex); the pending
-- authentication step is sealed with the client's data key.

-- +goose Up
CREATE TABLE link_sessions (
    key                 text        PRIMARY KEY,
    client_id           text        NOT NULL,
    user_id             text        NOT NULL,
    permission          text        NOT NULL,
    options             json        NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    expires_at          timestamptz NOT NULL,
    consumed_at         timestamptz,
    page_key            text,
    state_key           text,
    pending             bytea,
    pending_key_version integer     NOT NULL DEFAULT 0,
    outcome             json,
    version             bigint      NOT NULL
);

CREATE UNIQUE INDEX link_sessions_page ON link_sessions (page_key) WHERE page_key IS NOT NULL;
CREATE UNIQUE INDEX link_sessions_state ON link_sessions (state_key) WHERE state_key IS NOT NULL;
CREATE INDEX link_sessions_expiry ON link_sessions (expires_at);

-- +goose Down
DROP TABLE link_sessions;
