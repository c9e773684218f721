-- Operator console sign-ins (see the Postgres migration of the same number):
-- only the SHA-256 of the cookie's random id is stored, and a session
-- belongs to the gateway key that signed in. Times are Unix microseconds.
CREATE TABLE console_sessions (
    id_hash      TEXT    NOT NULL PRIMARY KEY,
    key_id       TEXT    NOT NULL REFERENCES gateway_keys (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX console_sessions_key_idx ON console_sessions (key_id);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
