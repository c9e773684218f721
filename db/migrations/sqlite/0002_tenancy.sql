-- Tenancy: orgs own workspaces, workspaces own gateway keys, and the audit
-- log records auth decisions and mutations. Same shape as on Postgres; times
-- are INTEGER unix microseconds (UTC) and booleans 0/1, as in traces.
CREATE TABLE orgs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE workspaces (
    id         TEXT    NOT NULL PRIMARY KEY,
    -- RESTRICT: an org with workspaces cannot be deleted; the store reports
    -- that as a conflict before the database has to.
    org_id     TEXT    NOT NULL REFERENCES orgs (id) ON DELETE RESTRICT,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX workspaces_org_idx ON workspaces (org_id);

CREATE TABLE gateway_keys (
    id                  TEXT    NOT NULL PRIMARY KEY,
    org_id              TEXT    NOT NULL REFERENCES orgs (id),
    -- CASCADE: a workspace can only be deleted once none of its keys can
    -- authenticate (the store checks), and the revoked or expired rows left
    -- would otherwise pin it forever.
    workspace_id        TEXT    NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name                TEXT    NOT NULL,
    role                TEXT    NOT NULL,
    -- A JSON array of strings: extra permissions on top of the role's.
    permissions         TEXT    NOT NULL,
    -- SHA-256 hex of the token; never the token itself.
    token_hash          TEXT    NOT NULL UNIQUE,
    token_last4         TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('active', 'rotating', 'revoked', 'expired')),
    static              INTEGER NOT NULL,
    expires_at          INTEGER,
    -- The token replaced by the last rotation, valid until
    -- previous_expires_at. Unique too: a hash must name one key whether it
    -- is current or previous (the store also checks across the two columns).
    previous_token_hash TEXT UNIQUE,
    previous_expires_at INTEGER,
    created_by          TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    rotated_at          INTEGER,
    revoked_at          INTEGER,
    last_used_at        INTEGER
) STRICT;

-- ListKeys for one org or workspace, newest first.
CREATE INDEX gateway_keys_tenant_idx ON gateway_keys (org_id, workspace_id, created_at);

-- Append-only log of auth decisions and mutations. Absent strings are ''.
CREATE TABLE audit_events (
    id           TEXT    NOT NULL PRIMARY KEY,
    time         INTEGER NOT NULL,
    org_id       TEXT    NOT NULL,
    workspace_id TEXT    NOT NULL,
    actor_key_id TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    client_ip    TEXT    NOT NULL,
    request_id   TEXT    NOT NULL
) STRICT;

-- ListAudit: one tenant's events newest first, keyset-paged by (time, id).
CREATE INDEX audit_events_tenant_time_idx ON audit_events (org_id, workspace_id, time, id);
-- ListAudit across tenants (auth off, SQLite's usual deployment).
CREATE INDEX audit_events_time_idx ON audit_events (time, id);
