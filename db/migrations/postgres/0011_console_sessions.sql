-- Operator console sign-ins. The cookie carries a random session id; only
-- its SHA-256 is stored, so a copy of the database cannot be replayed as a
-- cookie. A session belongs to the gateway key that signed in: the console
-- checks that key in the key cache on every request, so revoking or
-- expiring the key ends its sessions at once, and deleting the key (its
-- workspace deleted) deletes them.
CREATE TABLE console_sessions (
    id_hash      text        PRIMARY KEY,
    key_id       text        NOT NULL REFERENCES gateway_keys (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    -- The absolute end: the idle timeout ends a session earlier.
    expires_at   timestamptz NOT NULL
);

CREATE INDEX console_sessions_key_idx ON console_sessions (key_id);
CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at);
