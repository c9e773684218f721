-- name: ListOrgs :many
SELECT * FROM orgs ORDER BY created_at, id;

-- name: GetOrg :one
SELECT * FROM orgs WHERE id = ?;

-- name: CreateOrg :execrows
-- Zero rows means the id is taken.
INSERT OR IGNORE INTO orgs (id, name, created_at) VALUES (?, ?, ?);

-- name: RenameOrg :execrows
UPDATE orgs SET name = ? WHERE id = ?;

-- name: DeleteOrg :execrows
-- Only an org without workspaces: zero rows means it is missing or still
-- has some.
DELETE FROM orgs WHERE orgs.id = sqlc.arg(id)
  AND NOT EXISTS (SELECT 1 FROM workspaces AS ws WHERE ws.org_id = sqlc.arg(id));

-- name: ListWorkspaces :many
SELECT * FROM workspaces WHERE org_id = ? ORDER BY created_at, id;

-- name: GetWorkspace :one
-- Workspace ids are unique per org (0005_workspaces_per_org.sql).
SELECT * FROM workspaces WHERE org_id = sqlc.arg(org_id) AND id = sqlc.arg(id);

-- name: CreateWorkspace :execrows
-- Zero rows means the id is taken. (OR IGNORE skips only uniqueness
-- conflicts; a missing org still fails the foreign key.)
INSERT INTO workspaces (id, org_id, name, created_at) VALUES (?, ?, ?, ?)
ON CONFLICT (org_id, id) DO NOTHING;

-- name: RenameWorkspace :execrows
UPDATE workspaces SET name = sqlc.arg(name) WHERE org_id = sqlc.arg(org_id) AND id = sqlc.arg(id);

-- name: DeleteWorkspace :execrows
-- Only a workspace none of whose keys can still authenticate (active or
-- rotating): zero rows means it is missing or still has such keys. Its
-- dead keys go with it (ON DELETE CASCADE).
DELETE FROM workspaces
WHERE workspaces.org_id = sqlc.arg(org_id) AND workspaces.id = sqlc.arg(id)
  AND NOT EXISTS (
    SELECT 1 FROM gateway_keys AS live
    WHERE live.org_id = sqlc.arg(org_id) AND live.workspace_id = sqlc.arg(id)
      AND live.status IN ('active', 'rotating')
  );

-- name: ListKeys :many
-- Keys in a tenant, newest first; NULL = any.
SELECT * FROM gateway_keys
WHERE (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR org_id = sqlc.narg(org_id))
  AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR workspace_id = sqlc.narg(workspace_id))
ORDER BY created_at DESC, id DESC;

-- name: GetKey :one
SELECT * FROM gateway_keys WHERE id = ?;

-- name: AllKeys :many
SELECT * FROM gateway_keys WHERE status IN ('active', 'rotating') ORDER BY id;

-- name: CreateKey :execrows
-- Zero rows means the id is taken or the token hash names a key already,
-- as its current or previous token.
INSERT INTO gateway_keys (
    id, org_id, workspace_id, name, role, permissions, token_hash,
    token_last4, status, static, expires_at, previous_token_hash,
    previous_expires_at, created_by, created_at, rotated_at, revoked_at,
    last_used_at
)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18
WHERE NOT EXISTS (
    SELECT 1 FROM gateway_keys AS used
    WHERE used.token_hash = ?7 OR used.previous_token_hash = ?7
)
ON CONFLICT DO NOTHING;

-- name: RotateKey :one
-- Rotates only what the API may change (tenancy.Service's rule): a key
-- that is not static, neither revoked nor expired, by status or by
-- expires_at, to a token hash no key uses as its current or previous one.
-- No row means the key is missing or refused; one statement, so a revoke
-- or a rotation committed meanwhile is seen.
UPDATE gateway_keys SET
    previous_token_hash = token_hash,
    previous_expires_at = sqlc.arg(grace_until),
    token_hash = sqlc.arg(new_hash),
    token_last4 = sqlc.arg(new_last4),
    status = 'rotating',
    rotated_at = sqlc.arg(now)
WHERE gateway_keys.id = sqlc.arg(id) AND NOT gateway_keys.static
  AND gateway_keys.status IN ('active', 'rotating')
  AND (gateway_keys.expires_at IS NULL OR gateway_keys.expires_at > sqlc.arg(now))
  AND NOT EXISTS (
    SELECT 1 FROM gateway_keys AS used
    WHERE used.token_hash = sqlc.arg(new_hash) OR used.previous_token_hash = sqlc.arg(new_hash)
  )
RETURNING *;

-- name: RevokeKey :one
-- Static keys are refused (no row): they change only in the config file.
-- A second revocation keeps the first time.
UPDATE gateway_keys SET
    status = 'revoked',
    revoked_at = coalesce(revoked_at, sqlc.arg(now))
WHERE id = sqlc.arg(id) AND NOT static
RETURNING *;

-- name: ExpireKeys :execrows
-- Keys past their expiry stop authenticating, grace period included.
UPDATE gateway_keys SET
    status = 'expired',
    previous_token_hash = NULL,
    previous_expires_at = NULL
WHERE status IN ('active', 'rotating') AND expires_at <= sqlc.arg(now);

-- name: EndGracePeriods :execrows
-- Rotated keys whose previous token's grace is over go back to active.
UPDATE gateway_keys SET
    status = 'active',
    previous_token_hash = NULL,
    previous_expires_at = NULL
WHERE status = 'rotating' AND previous_expires_at <= sqlc.arg(now);

-- name: TouchKey :exec
-- One key of a batch, run as a prepared statement in the batch's
-- transaction; a time never moves backwards.
UPDATE gateway_keys SET last_used_at = sqlc.arg(last_used_at)
WHERE id = sqlc.arg(id) AND (last_used_at IS NULL OR last_used_at < sqlc.arg(last_used_at));

-- name: EnsureOrg :exec
INSERT INTO orgs (id, name, created_at) VALUES (sqlc.arg(id), sqlc.arg(id), sqlc.arg(created_at))
ON CONFLICT (id) DO NOTHING;

-- name: EnsureWorkspace :exec
INSERT INTO workspaces (id, org_id, name, created_at)
VALUES (sqlc.arg(id), sqlc.arg(org_id), sqlc.arg(id), sqlc.arg(created_at))
ON CONFLICT (org_id, id) DO NOTHING;

-- name: UpsertStaticKey :execrows
-- Creates or refreshes a config-declared key. Zero rows means the id
-- belongs to a key made through the API, which config may not take over.
INSERT INTO gateway_keys (
    id, org_id, workspace_id, name, role, permissions, token_hash,
    token_last4, status, static, expires_at, created_by, created_at
) VALUES (
    ?, ?, ?, ?, ?, ?, ?,
    ?, 'active', 1, ?, ?, ?
)
ON CONFLICT (id) DO UPDATE SET
    org_id = excluded.org_id,
    workspace_id = excluded.workspace_id,
    name = excluded.name,
    role = excluded.role,
    permissions = excluded.permissions,
    token_hash = excluded.token_hash,
    token_last4 = excluded.token_last4,
    status = 'active',
    expires_at = excluded.expires_at,
    previous_token_hash = NULL,
    previous_expires_at = NULL,
    revoked_at = NULL
WHERE gateway_keys.static;

-- name: RevokeStaticKeysExcept :execrows
-- keep is a JSON array of ids: SQLite has no array parameters, and sqlc's
-- slice expansion turns an empty list into NULL, which would match nothing.
UPDATE gateway_keys SET status = 'revoked', revoked_at = sqlc.arg(now)
WHERE static AND status <> 'revoked'
  AND id NOT IN (SELECT value FROM json_each(sqlc.arg(keep)));

-- name: KeyChangesVersion :one
-- Bumped by triggers on every change to orgs, workspaces and keys
-- (0006_key_changes.sql); WatchKeys reloads when it moves.
SELECT version FROM key_changes WHERE id = 1;
