-- name: ListOrgs :many
SELECT * FROM orgs ORDER BY created_at, id;

-- name: GetOrg :one
SELECT * FROM orgs WHERE id = $1;

-- name: CreateOrg :execrows
-- Zero rows means the id is taken.
INSERT INTO orgs (id, name, created_at) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING;

-- name: RenameOrg :execrows
UPDATE orgs SET name = $2 WHERE id = $1;

-- name: DeleteOrg :execrows
-- Only an org without workspaces: zero rows means it is missing or still
-- has some.
DELETE FROM orgs WHERE orgs.id = sqlc.arg(id)
  AND NOT EXISTS (SELECT 1 FROM workspaces AS ws WHERE ws.org_id = sqlc.arg(id));

-- name: ListWorkspaces :many
SELECT * FROM workspaces WHERE org_id = $1 ORDER BY created_at, id;

-- name: GetWorkspace :one
-- Workspace ids are unique per org (0005_workspaces_per_org.sql).
SELECT * FROM workspaces WHERE org_id = sqlc.arg(org_id) AND id = sqlc.arg(id);

-- name: CreateWorkspace :execrows
-- Zero rows means the id is taken.
INSERT INTO workspaces (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)
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
WHERE (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
  AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
ORDER BY created_at DESC, id DESC;

-- name: GetKey :one
SELECT * FROM gateway_keys WHERE id = $1;

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
-- Typed arguments: a SELECT list gives Postgres no column to infer from.
SELECT sqlc.arg(id)::text, sqlc.arg(org_id)::text, sqlc.arg(workspace_id)::text,
    sqlc.arg(name)::text, sqlc.arg(role)::text, sqlc.arg(permissions)::text,
    sqlc.arg(token_hash)::text, sqlc.arg(token_last4)::text, sqlc.arg(status)::text,
    sqlc.arg(static)::boolean, sqlc.narg(expires_at)::timestamptz,
    sqlc.narg(previous_token_hash)::text, sqlc.narg(previous_expires_at)::timestamptz,
    sqlc.arg(created_by)::text, sqlc.arg(created_at)::timestamptz,
    sqlc.narg(rotated_at)::timestamptz, sqlc.narg(revoked_at)::timestamptz,
    sqlc.narg(last_used_at)::timestamptz
WHERE NOT EXISTS (
    SELECT 1 FROM gateway_keys AS used
    WHERE used.token_hash = sqlc.arg(token_hash) OR used.previous_token_hash = sqlc.arg(token_hash)
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
    previous_expires_at = sqlc.arg(grace_until)::timestamptz,
    token_hash = sqlc.arg(new_hash),
    token_last4 = sqlc.arg(new_last4),
    status = 'rotating',
    rotated_at = sqlc.arg(now)::timestamptz
WHERE gateway_keys.id = sqlc.arg(id) AND NOT gateway_keys.static
  AND gateway_keys.status IN ('active', 'rotating')
  AND (gateway_keys.expires_at IS NULL OR gateway_keys.expires_at > sqlc.arg(now)::timestamptz)
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
    revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id) AND NOT static
RETURNING *;

-- name: ExpireKeys :execrows
-- Keys past their expiry stop authenticating, grace period included.
UPDATE gateway_keys SET
    status = 'expired',
    previous_token_hash = NULL,
    previous_expires_at = NULL
WHERE status IN ('active', 'rotating') AND expires_at <= sqlc.arg(now)::timestamptz;

-- name: EndGracePeriods :execrows
-- Rotated keys whose previous token's grace is over go back to active.
UPDATE gateway_keys SET
    status = 'active',
    previous_token_hash = NULL,
    previous_expires_at = NULL
WHERE status = 'rotating' AND previous_expires_at <= sqlc.arg(now)::timestamptz;

-- name: TouchKeys :exec
-- One statement for the whole batch; a time never moves backwards, so a
-- late flush from another replica cannot undo a newer one.
UPDATE gateway_keys AS k SET last_used_at = v.last_used_at
FROM (SELECT unnest(sqlc.arg(ids)::text[]) AS id,
             unnest(sqlc.arg(times)::timestamptz[]) AS last_used_at) AS v
WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.last_used_at);

-- name: EnsureOrg :exec
INSERT INTO orgs (id, name, created_at) VALUES ($1, $1, $2)
ON CONFLICT (id) DO NOTHING;

-- name: EnsureWorkspace :exec
INSERT INTO workspaces (id, org_id, name, created_at) VALUES ($1, $2, $1, $3)
ON CONFLICT (org_id, id) DO NOTHING;

-- name: UpsertStaticKey :execrows
-- Creates or refreshes a config-declared key. Zero rows means the id
-- belongs to a key made through the API, which config may not take over.
INSERT INTO gateway_keys (
    id, org_id, workspace_id, name, role, permissions, token_hash,
    token_last4, status, static, expires_at, created_by, created_at
) VALUES (
    $1, $2, $3, $4, $5, $6, $7,
    $8, 'active', true, $9, $10, $11
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
UPDATE gateway_keys SET status = 'revoked', revoked_at = sqlc.arg(now)::timestamptz
WHERE static AND status <> 'revoked' AND NOT (id = ANY (sqlc.arg(keep)::text[]));
