-- name: InsertAudit :exec
-- One statement per batch (one array per column). An id already stored
-- keeps the larger count (an aggregated denial rewritten as its count
-- grows), so a retried flush is harmless. Ids must be unique within the
-- batch (the store keeps the largest count of each).
INSERT INTO audit_events (
    time, id, org_id, workspace_id, actor_key_id, action, target, outcome,
    reason, client_ip, request_id, count
)
SELECT
    unnest(@time::timestamptz[]),
    unnest(@id::text[]),
    unnest(@org_id::text[]),
    unnest(@workspace_id::text[]),
    unnest(@actor_key_id::text[]),
    unnest(@action::text[]),
    unnest(@target::text[]),
    unnest(@outcome::text[]),
    unnest(@reason::text[]),
    unnest(@client_ip::text[]),
    unnest(@request_id::text[]),
    unnest(@count::bigint[])
ON CONFLICT (id) DO UPDATE SET count = excluded.count
WHERE audit_events.count < excluded.count;

-- name: ListAudit :many
-- A page of events, newest first. Filters are optional (NULL = any); the
-- range's end and the cursor arrive folded into one exclusive upper key, as
-- in ListTraces, and for the same reason the store plans each call afresh.
SELECT * FROM audit_events
WHERE (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
  AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
  AND (sqlc.narg(action)::text IS NULL OR action = sqlc.narg(action))
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR time >= sqlc.narg(from_time))
  AND (sqlc.narg(before_time)::timestamptz IS NULL
       OR (time, id) < (sqlc.narg(before_time), sqlc.narg(before_id)::text))
ORDER BY time DESC, id DESC
LIMIT sqlc.arg(row_limit);
