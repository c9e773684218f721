-- Workspace ids are unique per organization, not across the installation:
-- two organizations may each have a workspace "prod", and creating one never
-- tells an organization that another already uses the id (a global key let
-- anyone enumerate and squat other tenants' ids).
--
-- Everything else already names a workspace together with its org: traces,
-- rollups and audit events carry (org_id, workspace_id), and so do gateway
-- keys, whose foreign key now references the pair.
--
-- SQLite cannot change a primary key in place, so both tables are rebuilt
-- (SQLite's documented procedure). The migration runs in one transaction,
-- where foreign_keys cannot be switched off; deferring the checks to the
-- commit lets the old and new tables coexist meanwhile, and the commit
-- still verifies every key against the new workspaces.
PRAGMA defer_foreign_keys = ON;

CREATE TABLE workspaces_new (
    id         TEXT    NOT NULL,
    -- RESTRICT: an org with workspaces cannot be deleted; the store reports
    -- that as a conflict before the database has to.
    org_id     TEXT    NOT NULL REFERENCES orgs (id) ON DELETE RESTRICT,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    -- org_id leads, so one org's workspaces are a range of this key.
    PRIMARY KEY (org_id, id)
) STRICT;

INSERT INTO workspaces_new (id, org_id, name, created_at)
SELECT id, org_id, name, created_at FROM workspaces;

-- A key's org and workspace were checked apart before (the workspace only by
-- id), so a key could name an org its workspace did not belong to. Give
-- each such pair its workspace rather than refuse the upgrade: the key then
-- lives on in exactly the org and workspace it already authenticated as.
INSERT INTO workspaces_new (id, org_id, name, created_at)
SELECT k.workspace_id, k.org_id, k.workspace_id, min(k.created_at)
FROM gateway_keys k
WHERE NOT EXISTS (
    SELECT 1 FROM workspaces_new w WHERE w.org_id = k.org_id AND w.id = k.workspace_id
)
GROUP BY k.org_id, k.workspace_id;

CREATE TABLE gateway_keys_new (
    id                  TEXT    NOT NULL PRIMARY KEY,
    org_id              TEXT    NOT NULL REFERENCES orgs (id),
    workspace_id        TEXT    NOT NULL,
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
    last_used_at        INTEGER,
    -- CASCADE: a workspace can only be deleted once none of its keys can
    -- authenticate (the store checks), and the revoked or expired rows left
    -- would otherwise pin it forever. Renaming workspaces_new below makes
    -- this reference the final table.
    FOREIGN KEY (org_id, workspace_id) REFERENCES workspaces_new (org_id, id) ON DELETE CASCADE
) STRICT;

INSERT INTO gateway_keys_new SELECT
    id, org_id, workspace_id, name, role, permissions, token_hash, token_last4,
    status, static, expires_at, previous_token_hash, previous_expires_at,
    created_by, created_at, rotated_at, revoked_at, last_used_at
FROM gateway_keys;

DROP TABLE gateway_keys;
DROP TABLE workspaces;
ALTER TABLE workspaces_new RENAME TO workspaces;
ALTER TABLE gateway_keys_new RENAME TO gateway_keys;

-- ListKeys for one org or workspace, newest first; it also serves the
-- foreign key's lookups when a workspace is deleted.
CREATE INDEX gateway_keys_tenant_idx ON gateway_keys (org_id, workspace_id, created_at);
