-- The installation's PII hash salt, generated on first start when
-- pii.replacement.hash_salt is not configured. Placeholders must stay
-- stable across restarts, so the salt lives with the data it keys. At most
-- one row (id is always 1).
CREATE TABLE pii_salt (
    id         smallint    PRIMARY KEY CHECK (id = 1),
    salt       bytea       NOT NULL CHECK (length(salt) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
