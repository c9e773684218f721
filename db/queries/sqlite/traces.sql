-- name: InsertTrace :execrows
-- One row of a batch; the store runs it as a prepared statement inside the
-- batch's transaction. OR IGNORE skips ids already stored, so a retried
-- batch inserts only what is new; the rows affected (1 or 0) tell the store
-- which records were new, and only those are rolled up.
INSERT OR IGNORE INTO traces (
    id, started_at, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path,
    response_status, outcome,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, tokens_estimated,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    streaming, stream_events, api_key_hash, api_key_last4,
    cost_nano_usd, priced, pricing_version, created_at,
    request_headers, response_headers, request_body, response_body, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
) VALUES (
    ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?,
    ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?, ?, ?,
    ?, ?
);

-- name: ListTraces :many
-- A page of trace summaries (no headers or bodies), newest first, across
-- tenants. Equality filters are optional (NULL = any). The time bounds are
-- not: SQLite cannot seek an index on "x IS NULL OR col >= x", so the store
-- always passes a lower bound on started_at and an exclusive upper key on
-- (started_at, id) that folds the range's end and the page cursor together,
-- using the extremes of int64 when there is none. The upper key is given
-- twice, as a plain bound that any index on started_at can seek and as the
-- row value that orders ties by id. For the same reason one workspace's page
-- has its own query below, which seeks the tenant index.
SELECT
    id, started_at, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path,
    response_status, outcome,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, tokens_estimated,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    streaming, stream_events, api_key_hash, api_key_last4,
    cost_nano_usd, priced, pricing_version, created_at, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
FROM traces
WHERE (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR org_id = sqlc.narg(org_id))
  AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR workspace_id = sqlc.narg(workspace_id))
  AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR provider = sqlc.narg(provider))
  AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR model = sqlc.narg(model))
  AND (CAST(sqlc.narg(response_status) AS INTEGER) IS NULL OR response_status = sqlc.narg(response_status))
  AND (CAST(sqlc.narg(api_key_hash) AS TEXT) IS NULL OR api_key_hash = sqlc.narg(api_key_hash))
  AND started_at >= sqlc.arg(from_time)
  AND started_at <= sqlc.arg(before_started_at)
  AND (started_at, id) < (sqlc.arg(before_started_at), CAST(sqlc.arg(before_id) AS TEXT))
ORDER BY started_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: ListWorkspaceTraces :many
-- ListTraces for one workspace: the tenant is an equality, so SQLite seeks
-- traces_tenant_time_idx to the upper bound and walks it backwards.
SELECT
    id, started_at, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path,
    response_status, outcome,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, tokens_estimated,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    streaming, stream_events, api_key_hash, api_key_last4,
    cost_nano_usd, priced, pricing_version, created_at, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
FROM traces
WHERE org_id = sqlc.arg(org_id)
  AND workspace_id = sqlc.arg(workspace_id)
  AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR provider = sqlc.narg(provider))
  AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR model = sqlc.narg(model))
  AND (CAST(sqlc.narg(response_status) AS INTEGER) IS NULL OR response_status = sqlc.narg(response_status))
  AND (CAST(sqlc.narg(api_key_hash) AS TEXT) IS NULL OR api_key_hash = sqlc.narg(api_key_hash))
  AND started_at >= sqlc.arg(from_time)
  AND started_at <= sqlc.arg(before_started_at)
  AND (started_at, id) < (sqlc.arg(before_started_at), CAST(sqlc.arg(before_id) AS TEXT))
ORDER BY started_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: GetTrace :one
-- One full trace by id, only if it belongs to the tenant (NULL = any).
SELECT * FROM traces
WHERE id = sqlc.arg(id)
  AND (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR org_id = sqlc.narg(org_id))
  AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR workspace_id = sqlc.narg(workspace_id));

-- name: RepriceTrace :execrows
-- A stored trace's new cost (ongoingai pricing reprice), written only if
-- its cost and priced flag are still what the repricing read: a trace
-- repriced concurrently is then changed, and rolled up, once.
UPDATE traces
SET cost_nano_usd = sqlc.arg(new_cost_nano_usd), priced = sqlc.arg(new_priced), pricing_version = sqlc.arg(pricing_version)
WHERE id = sqlc.arg(id) AND started_at = sqlc.arg(started_at)
  AND cost_nano_usd = sqlc.arg(old_cost_nano_usd) AND priced = sqlc.arg(old_priced);
