-- name: GetRollup :one
-- The stored row for one key, which ApplyRollupsTx merges a new row into.
SELECT * FROM trace_rollups
WHERE hour = ? AND org_id = ? AND workspace_id = ? AND provider = ? AND model = ?
  AND gateway_key_id = ? AND api_key_hash = ? AND status_class = ?;

-- name: UpsertRollup :exec
-- Writes one merged row: a new key is inserted, a stored one overwritten
-- with the merge ApplyRollupsTx computed from it.
INSERT INTO trace_rollups (
    hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class,
    requests, client_errors, server_errors, cancelled, unpriced,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, cost_nano_usd,
    latency_sum_ms, latency_min_ms, latency_max_ms,
    ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us,
    last_active_at, latency_hist, ttft_hist
) VALUES (
    ?, ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?
)
ON CONFLICT (hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class)
DO UPDATE SET
    requests            = excluded.requests,
    client_errors       = excluded.client_errors,
    server_errors       = excluded.server_errors,
    cancelled           = excluded.cancelled,
    unpriced            = excluded.unpriced,
    input_tokens        = excluded.input_tokens,
    output_tokens       = excluded.output_tokens,
    total_tokens        = excluded.total_tokens,
    cached_input_tokens = excluded.cached_input_tokens,
    cache_write_tokens  = excluded.cache_write_tokens,
    reasoning_tokens    = excluded.reasoning_tokens,
    cost_nano_usd       = excluded.cost_nano_usd,
    latency_sum_ms      = excluded.latency_sum_ms,
    latency_min_ms      = excluded.latency_min_ms,
    latency_max_ms      = excluded.latency_max_ms,
    ttft_count          = excluded.ttft_count,
    ttft_sum_us         = excluded.ttft_sum_us,
    ttft_min_us         = excluded.ttft_min_us,
    ttft_max_us         = excluded.ttft_max_us,
    last_active_at      = excluded.last_active_at,
    latency_hist        = excluded.latency_hist,
    ttft_hist           = excluded.ttft_hist;

-- name: GetDailyRollup :one
-- GetRollup for the daily tier.
SELECT * FROM trace_rollups_daily
WHERE day = ? AND org_id = ? AND workspace_id = ? AND provider = ? AND model = ?
  AND gateway_key_id = ? AND api_key_hash = ?;

-- name: UpsertDailyRollup :exec
-- UpsertRollup for the daily tier.
INSERT INTO trace_rollups_daily (
    day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash,
    requests, client_errors, server_errors, cancelled, unpriced,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, cost_nano_usd,
    latency_sum_ms, latency_min_ms, latency_max_ms,
    ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us,
    last_active_at, latency_hist, ttft_hist
) VALUES (
    ?, ?, ?, ?, ?, ?, ?,
    ?, ?, ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?,
    ?, ?, ?, ?,
    ?, ?, ?
)
ON CONFLICT (day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash)
DO UPDATE SET
    requests            = excluded.requests,
    client_errors       = excluded.client_errors,
    server_errors       = excluded.server_errors,
    cancelled           = excluded.cancelled,
    unpriced            = excluded.unpriced,
    input_tokens        = excluded.input_tokens,
    output_tokens       = excluded.output_tokens,
    total_tokens        = excluded.total_tokens,
    cached_input_tokens = excluded.cached_input_tokens,
    cache_write_tokens  = excluded.cache_write_tokens,
    reasoning_tokens    = excluded.reasoning_tokens,
    cost_nano_usd       = excluded.cost_nano_usd,
    latency_sum_ms      = excluded.latency_sum_ms,
    latency_min_ms      = excluded.latency_min_ms,
    latency_max_ms      = excluded.latency_max_ms,
    ttft_count          = excluded.ttft_count,
    ttft_sum_us         = excluded.ttft_sum_us,
    ttft_min_us         = excluded.ttft_min_us,
    ttft_max_us         = excluded.ttft_max_us,
    last_active_at      = excluded.last_active_at,
    latency_hist        = excluded.latency_hist,
    ttft_hist           = excluded.ttft_hist;

-- name: AggregateRollups :many
-- Sums the rows in [from_time, to_time) per (bucket, group), across
-- tenants (tenant filters are optional: NULL = any), reading the daily tier
-- for the whole UTC days [days_from, days_to) and hourly rows for the rest
-- of the range; the store sets days_from = days_to (no days) when the query
-- needs hours or status classes, which only hourly rows have. Each tier is
-- summed per (bucket, group) on its own and the two partial answers are
-- then added up, which is cheaper than passing every row through the
-- compound query. bucket is 'hour', 'day', 'week' or 'none' and group_by a
-- store.GroupBy ('' for none). Hours and days are unix microseconds, so
-- buckets are plain arithmetic in UTC: a day is 86 400 000 000 us, and
-- weeks are counted from Monday 1970-01-05 (345 600 000 000 us after the
-- epoch); a daily row's day is its own day bucket and lies within one week.
-- The modulo is made non-negative so hours before 1970 truncate downwards
-- too. With no bucket every row lands in bucket 0, which the store ignores.
-- sum() of integers stays an exact integer. Minima skip rows that have
-- nothing to take a minimum of (NULL in a partial answer).
--
-- SQLite cannot seek an index on "x IS NULL OR col = x", so this walks the
-- primary keys' time ranges; one workspace has its own query below, which
-- seeks the tenant indexes. (Comments here stay ASCII: sqlc mislocates the
-- parameters of a query whose comment holds a multi-byte character.)
SELECT
    CAST(r.bucket_start AS INTEGER)               AS bucket_start,
    CAST(r.group_key AS TEXT)                     AS group_key,
    CAST(sum(r.requests) AS INTEGER)              AS requests,
    CAST(sum(r.client_errors) AS INTEGER)         AS client_errors,
    CAST(sum(r.server_errors) AS INTEGER)         AS server_errors,
    CAST(sum(r.cancelled) AS INTEGER)             AS cancelled,
    CAST(sum(r.unpriced) AS INTEGER)              AS unpriced,
    CAST(sum(r.input_tokens) AS INTEGER)          AS input_tokens,
    CAST(sum(r.output_tokens) AS INTEGER)         AS output_tokens,
    CAST(sum(r.total_tokens) AS INTEGER)          AS total_tokens,
    CAST(sum(r.cached_input_tokens) AS INTEGER)   AS cached_input_tokens,
    CAST(sum(r.cache_write_tokens) AS INTEGER)    AS cache_write_tokens,
    CAST(sum(r.reasoning_tokens) AS INTEGER)      AS reasoning_tokens,
    CAST(sum(r.cost_nano_usd) AS INTEGER)         AS cost_nano_usd,
    CAST(sum(r.latency_sum_ms) AS INTEGER)        AS latency_sum_ms,
    CAST(coalesce(min(r.latency_min_ms), 0) AS INTEGER) AS latency_min_ms,
    CAST(max(r.latency_max_ms) AS INTEGER)        AS latency_max_ms,
    CAST(sum(r.ttft_count) AS INTEGER)            AS ttft_count,
    CAST(sum(r.ttft_sum_us) AS INTEGER)           AS ttft_sum_us,
    CAST(coalesce(min(r.ttft_min_us), 0) AS INTEGER) AS ttft_min_us,
    CAST(max(r.ttft_max_us) AS INTEGER)           AS ttft_max_us,
    CAST(max(r.last_active_at) AS INTEGER)        AS last_active_at
FROM (
    SELECT
        CASE CAST(sqlc.arg(bucket) AS TEXT)
            WHEN 'hour' THEN h.hour
            WHEN 'day'  THEN h.hour - ((h.hour % 86400000000) + 86400000000) % 86400000000
            WHEN 'week' THEN h.hour - (((h.hour - 345600000000) % 604800000000) + 604800000000) % 604800000000
            ELSE 0
        END AS bucket_start,
        CASE CAST(sqlc.arg(group_by) AS TEXT)
            WHEN 'provider'     THEN h.provider
            WHEN 'model'        THEN h.model
            WHEN 'gateway_key'  THEN h.gateway_key_id
            WHEN 'api_key'      THEN h.api_key_hash
            WHEN 'workspace'    THEN h.workspace_id
            WHEN 'status_class' THEN h.status_class
            ELSE ''
        END AS group_key,
        sum(requests) AS requests, sum(client_errors) AS client_errors, sum(server_errors) AS server_errors,
        sum(cancelled) AS cancelled, sum(unpriced) AS unpriced,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(total_tokens) AS total_tokens,
        sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
        sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano_usd) AS cost_nano_usd,
        sum(latency_sum_ms) AS latency_sum_ms,
        min(CASE WHEN requests > 0 THEN latency_min_ms END) AS latency_min_ms, max(latency_max_ms) AS latency_max_ms,
        sum(ttft_count) AS ttft_count, sum(ttft_sum_us) AS ttft_sum_us,
        min(CASE WHEN ttft_count > 0 THEN ttft_min_us END) AS ttft_min_us, max(ttft_max_us) AS ttft_max_us,
        max(last_active_at) AS last_active_at
    FROM trace_rollups AS h
    WHERE ((h.hour >= sqlc.arg(from_time) AND h.hour < sqlc.arg(days_from))
        OR (h.hour >= sqlc.arg(days_to) AND h.hour < sqlc.arg(to_time)))
      AND (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR h.org_id = sqlc.narg(org_id))
      AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR h.workspace_id = sqlc.narg(workspace_id))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR h.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR h.model = sqlc.narg(model))
    GROUP BY 1, 2
    UNION ALL
    SELECT
        CASE CAST(sqlc.arg(bucket) AS TEXT)
            WHEN 'hour' THEN d.day
            WHEN 'day'  THEN d.day - ((d.day % 86400000000) + 86400000000) % 86400000000
            WHEN 'week' THEN d.day - (((d.day - 345600000000) % 604800000000) + 604800000000) % 604800000000
            ELSE 0
        END,
        CASE CAST(sqlc.arg(group_by) AS TEXT)
            WHEN 'provider'     THEN d.provider
            WHEN 'model'        THEN d.model
            WHEN 'gateway_key'  THEN d.gateway_key_id
            WHEN 'api_key'      THEN d.api_key_hash
            WHEN 'workspace'    THEN d.workspace_id
            WHEN 'status_class' THEN ''
            ELSE ''
        END,
        sum(requests) AS requests, sum(client_errors) AS client_errors, sum(server_errors) AS server_errors,
        sum(cancelled) AS cancelled, sum(unpriced) AS unpriced,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(total_tokens) AS total_tokens,
        sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
        sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano_usd) AS cost_nano_usd,
        sum(latency_sum_ms) AS latency_sum_ms,
        min(CASE WHEN requests > 0 THEN latency_min_ms END) AS latency_min_ms, max(latency_max_ms) AS latency_max_ms,
        sum(ttft_count) AS ttft_count, sum(ttft_sum_us) AS ttft_sum_us,
        min(CASE WHEN ttft_count > 0 THEN ttft_min_us END) AS ttft_min_us, max(ttft_max_us) AS ttft_max_us,
        max(last_active_at) AS last_active_at
    FROM trace_rollups_daily AS d
    WHERE d.day >= sqlc.arg(days_from) AND d.day < sqlc.arg(days_to)
      AND (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR d.org_id = sqlc.narg(org_id))
      AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR d.workspace_id = sqlc.narg(workspace_id))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR d.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR d.model = sqlc.narg(model))
    GROUP BY 1, 2
) AS r
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: AggregateWorkspaceRollups :many
-- AggregateRollups for one workspace: the tenant is an equality, so SQLite
-- seeks the tenant indexes to the time ranges.
SELECT
    CAST(r.bucket_start AS INTEGER)               AS bucket_start,
    CAST(r.group_key AS TEXT)                     AS group_key,
    CAST(sum(r.requests) AS INTEGER)              AS requests,
    CAST(sum(r.client_errors) AS INTEGER)         AS client_errors,
    CAST(sum(r.server_errors) AS INTEGER)         AS server_errors,
    CAST(sum(r.cancelled) AS INTEGER)             AS cancelled,
    CAST(sum(r.unpriced) AS INTEGER)              AS unpriced,
    CAST(sum(r.input_tokens) AS INTEGER)          AS input_tokens,
    CAST(sum(r.output_tokens) AS INTEGER)         AS output_tokens,
    CAST(sum(r.total_tokens) AS INTEGER)          AS total_tokens,
    CAST(sum(r.cached_input_tokens) AS INTEGER)   AS cached_input_tokens,
    CAST(sum(r.cache_write_tokens) AS INTEGER)    AS cache_write_tokens,
    CAST(sum(r.reasoning_tokens) AS INTEGER)      AS reasoning_tokens,
    CAST(sum(r.cost_nano_usd) AS INTEGER)         AS cost_nano_usd,
    CAST(sum(r.latency_sum_ms) AS INTEGER)        AS latency_sum_ms,
    CAST(coalesce(min(r.latency_min_ms), 0) AS INTEGER) AS latency_min_ms,
    CAST(max(r.latency_max_ms) AS INTEGER)        AS latency_max_ms,
    CAST(sum(r.ttft_count) AS INTEGER)            AS ttft_count,
    CAST(sum(r.ttft_sum_us) AS INTEGER)           AS ttft_sum_us,
    CAST(coalesce(min(r.ttft_min_us), 0) AS INTEGER) AS ttft_min_us,
    CAST(max(r.ttft_max_us) AS INTEGER)           AS ttft_max_us,
    CAST(max(r.last_active_at) AS INTEGER)        AS last_active_at
FROM (
    SELECT
        CASE CAST(sqlc.arg(bucket) AS TEXT)
            WHEN 'hour' THEN h.hour
            WHEN 'day'  THEN h.hour - ((h.hour % 86400000000) + 86400000000) % 86400000000
            WHEN 'week' THEN h.hour - (((h.hour - 345600000000) % 604800000000) + 604800000000) % 604800000000
            ELSE 0
        END AS bucket_start,
        CASE CAST(sqlc.arg(group_by) AS TEXT)
            WHEN 'provider'     THEN h.provider
            WHEN 'model'        THEN h.model
            WHEN 'gateway_key'  THEN h.gateway_key_id
            WHEN 'api_key'      THEN h.api_key_hash
            WHEN 'workspace'    THEN h.workspace_id
            WHEN 'status_class' THEN h.status_class
            ELSE ''
        END AS group_key,
        sum(requests) AS requests, sum(client_errors) AS client_errors, sum(server_errors) AS server_errors,
        sum(cancelled) AS cancelled, sum(unpriced) AS unpriced,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(total_tokens) AS total_tokens,
        sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
        sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano_usd) AS cost_nano_usd,
        sum(latency_sum_ms) AS latency_sum_ms,
        min(CASE WHEN requests > 0 THEN latency_min_ms END) AS latency_min_ms, max(latency_max_ms) AS latency_max_ms,
        sum(ttft_count) AS ttft_count, sum(ttft_sum_us) AS ttft_sum_us,
        min(CASE WHEN ttft_count > 0 THEN ttft_min_us END) AS ttft_min_us, max(ttft_max_us) AS ttft_max_us,
        max(last_active_at) AS last_active_at
    FROM trace_rollups AS h
    WHERE h.org_id = sqlc.arg(org_id) AND h.workspace_id = sqlc.arg(workspace_id)
      AND ((h.hour >= sqlc.arg(from_time) AND h.hour < sqlc.arg(days_from))
        OR (h.hour >= sqlc.arg(days_to) AND h.hour < sqlc.arg(to_time)))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR h.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR h.model = sqlc.narg(model))
    GROUP BY 1, 2
    UNION ALL
    SELECT
        CASE CAST(sqlc.arg(bucket) AS TEXT)
            WHEN 'hour' THEN d.day
            WHEN 'day'  THEN d.day - ((d.day % 86400000000) + 86400000000) % 86400000000
            WHEN 'week' THEN d.day - (((d.day - 345600000000) % 604800000000) + 604800000000) % 604800000000
            ELSE 0
        END,
        CASE CAST(sqlc.arg(group_by) AS TEXT)
            WHEN 'provider'     THEN d.provider
            WHEN 'model'        THEN d.model
            WHEN 'gateway_key'  THEN d.gateway_key_id
            WHEN 'api_key'      THEN d.api_key_hash
            WHEN 'workspace'    THEN d.workspace_id
            WHEN 'status_class' THEN ''
            ELSE ''
        END,
        sum(requests) AS requests, sum(client_errors) AS client_errors, sum(server_errors) AS server_errors,
        sum(cancelled) AS cancelled, sum(unpriced) AS unpriced,
        sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, sum(total_tokens) AS total_tokens,
        sum(cached_input_tokens) AS cached_input_tokens, sum(cache_write_tokens) AS cache_write_tokens,
        sum(reasoning_tokens) AS reasoning_tokens, sum(cost_nano_usd) AS cost_nano_usd,
        sum(latency_sum_ms) AS latency_sum_ms,
        min(CASE WHEN requests > 0 THEN latency_min_ms END) AS latency_min_ms, max(latency_max_ms) AS latency_max_ms,
        sum(ttft_count) AS ttft_count, sum(ttft_sum_us) AS ttft_sum_us,
        min(CASE WHEN ttft_count > 0 THEN ttft_min_us END) AS ttft_min_us, max(ttft_max_us) AS ttft_max_us,
        max(last_active_at) AS last_active_at
    FROM trace_rollups_daily AS d
    WHERE d.org_id = sqlc.arg(org_id) AND d.workspace_id = sqlc.arg(workspace_id)
      AND d.day >= sqlc.arg(days_from) AND d.day < sqlc.arg(days_to)
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR d.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR d.model = sqlc.narg(model))
    GROUP BY 1, 2
) AS r
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: RollupHistograms :many
-- The histograms of the rows in [from_time, to_time), labelled with their
-- group (as in AggregateRollups, daily tier included) and ordered by it;
-- the store merges each group's histograms in Go, since they are text.
SELECT
    CAST(CASE CAST(sqlc.arg(group_by) AS TEXT)
        WHEN 'provider'     THEN r.provider
        WHEN 'model'        THEN r.model
        WHEN 'gateway_key'  THEN r.gateway_key_id
        WHEN 'api_key'      THEN r.api_key_hash
        WHEN 'workspace'    THEN r.workspace_id
        WHEN 'status_class' THEN r.status_class
        ELSE ''
    END AS TEXT) AS group_key,
    r.latency_hist,
    r.ttft_hist
FROM (
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, status_class, latency_hist, ttft_hist
    FROM trace_rollups AS h
    WHERE ((h.hour >= sqlc.arg(from_time) AND h.hour < sqlc.arg(days_from))
        OR (h.hour >= sqlc.arg(days_to) AND h.hour < sqlc.arg(to_time)))
      AND (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR h.org_id = sqlc.narg(org_id))
      AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR h.workspace_id = sqlc.narg(workspace_id))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR h.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR h.model = sqlc.narg(model))
    UNION ALL
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, '', latency_hist, ttft_hist
    FROM trace_rollups_daily AS d
    WHERE d.day >= sqlc.arg(days_from) AND d.day < sqlc.arg(days_to)
      AND (CAST(sqlc.narg(org_id) AS TEXT) IS NULL OR d.org_id = sqlc.narg(org_id))
      AND (CAST(sqlc.narg(workspace_id) AS TEXT) IS NULL OR d.workspace_id = sqlc.narg(workspace_id))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR d.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR d.model = sqlc.narg(model))
) AS r
ORDER BY 1;

-- name: WorkspaceRollupHistograms :many
-- RollupHistograms for one workspace, seeking the tenant indexes.
SELECT
    CAST(CASE CAST(sqlc.arg(group_by) AS TEXT)
        WHEN 'provider'     THEN r.provider
        WHEN 'model'        THEN r.model
        WHEN 'gateway_key'  THEN r.gateway_key_id
        WHEN 'api_key'      THEN r.api_key_hash
        WHEN 'workspace'    THEN r.workspace_id
        WHEN 'status_class' THEN r.status_class
        ELSE ''
    END AS TEXT) AS group_key,
    r.latency_hist,
    r.ttft_hist
FROM (
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, status_class, latency_hist, ttft_hist
    FROM trace_rollups AS h
    WHERE h.org_id = sqlc.arg(org_id) AND h.workspace_id = sqlc.arg(workspace_id)
      AND ((h.hour >= sqlc.arg(from_time) AND h.hour < sqlc.arg(days_from))
        OR (h.hour >= sqlc.arg(days_to) AND h.hour < sqlc.arg(to_time)))
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR h.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR h.model = sqlc.narg(model))
    UNION ALL
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, '', latency_hist, ttft_hist
    FROM trace_rollups_daily AS d
    WHERE d.org_id = sqlc.arg(org_id) AND d.workspace_id = sqlc.arg(workspace_id)
      AND d.day >= sqlc.arg(days_from) AND d.day < sqlc.arg(days_to)
      AND (CAST(sqlc.narg(provider) AS TEXT) IS NULL OR d.provider = sqlc.narg(provider))
      AND (CAST(sqlc.narg(model) AS TEXT) IS NULL OR d.model = sqlc.narg(model))
) AS r
ORDER BY 1;

-- name: RecordRollupBatch :execrows
-- Enters a batch in the applied-batch ledger; 0 rows means it was applied
-- before, and ApplyRollupsTx then adds nothing.
INSERT INTO rollup_batches (id, applied_at) VALUES (?, ?)
ON CONFLICT (id) DO NOTHING;
