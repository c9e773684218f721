-- name: InsertAudit :exec
-- One event of a batch, run as a prepared statement in the batch's
-- transaction. An id already stored keeps the larger count (an aggregated
-- denial rewritten as its count grows), so a retried flush is harmless.
INSERT INTO audit_events (
    id, time, org_id, workspace_id, actor_key_id, action, target, outcome,
    reason, client_ip, request_id, count
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET count = excluded.count
WHERE audit_events.count < excluded.count;

-- name: ListAudit :many
-- A page of events, newest first, across tenants. As in ListTraces, the time
-- bounds are always given (int64 extremes when open) so SQLite can seek
-- audit_events_time_idx, with the upper key both as a plain bound and as
-- the (time, id) row value that orders ties.
SELECT * FROM audit_events
WHERE (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR org_id = sqlc.narg(org_id))
  AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR workspace_id = sqlc.narg(workspace_id))
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
  AND time >= sqlc.arg(from_time)
  AND time <= sqlc.arg(before_time)
  AND (time, id) < (sqlc.arg(before_time), CAST(sqlc.arg(before_id) AS TEXT))
ORDER BY time DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: ListWorkspaceAudit :many
-- ListAudit for one workspace: the tenant is an equality, so SQLite seeks
-- audit_events_tenant_time_idx and walks it backwards.
SELECT * FROM audit_events
WHERE org_id = sqlc.arg(org_id)
  AND workspace_id = sqlc.arg(workspace_id)
  AND (CAST(sqlc.narg(action) AS TEXT) IS NULL OR action = sqlc.narg(action))
  AND time >= sqlc.arg(from_time)
  AND time <= sqlc.arg(before_time)
  AND (time, id) < (sqlc.arg(before_time), CAST(sqlc.arg(before_id) AS TEXT))
ORDER BY time DESC, id DESC
LIMIT sqlc.arg(row_limit);
