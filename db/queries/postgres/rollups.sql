-- name: LockRollups :exec
-- Serializes ApplyRollupsTx across connections and replicas until the
-- transaction ends; see postgres/rollups.go for why it is needed.
SELECT pg_advisory_xact_lock(sqlc.arg(lock_key)::bigint);

-- name: GetRollups :many
-- The stored rows for a set of keys (one array per key column, unnested in
-- step; the planner probes the primary key once per key), which
-- ApplyRollupsTx merges new rows into. Appliers are already serialized by
-- LockRollups; FOR UPDATE also holds these rows against writers that do not
-- take that lock (retention's deletes) until the merge is written.
SELECT * FROM trace_rollups
WHERE (hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class) IN (
    SELECT
        unnest(@hour::timestamptz[]),
        unnest(@org_id::text[]),
        unnest(@workspace_id::text[]),
        unnest(@provider::text[]),
        unnest(@model::text[]),
        unnest(@gateway_key_id::text[]),
        unnest(@api_key_hash::text[]),
        unnest(@status_class::text[])
)
FOR UPDATE;

-- name: UpsertRollups :exec
-- Writes merged rows: new keys are inserted, stored ones overwritten with
-- the merge ApplyRollupsTx computed from them. Each key must appear once
-- (ON CONFLICT DO UPDATE cannot touch a row twice in one statement).
INSERT INTO trace_rollups (
    hour, last_active_at,
    requests, client_errors, server_errors, cancelled, unpriced,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, cost_nano_usd,
    latency_sum_ms, latency_min_ms, latency_max_ms,
    ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us,
    org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class,
    latency_hist, ttft_hist
)
SELECT
    unnest(@hour::timestamptz[]),
    unnest(@last_active_at::timestamptz[]),
    unnest(@requests::bigint[]),
    unnest(@client_errors::bigint[]),
    unnest(@server_errors::bigint[]),
    unnest(@cancelled::bigint[]),
    unnest(@unpriced::bigint[]),
    unnest(@input_tokens::bigint[]),
    unnest(@output_tokens::bigint[]),
    unnest(@total_tokens::bigint[]),
    unnest(@cached_input_tokens::bigint[]),
    unnest(@cache_write_tokens::bigint[]),
    unnest(@reasoning_tokens::bigint[]),
    unnest(@cost_nano_usd::bigint[]),
    unnest(@latency_sum_ms::bigint[]),
    unnest(@latency_min_ms::bigint[]),
    unnest(@latency_max_ms::bigint[]),
    unnest(@ttft_count::bigint[]),
    unnest(@ttft_sum_us::bigint[]),
    unnest(@ttft_min_us::bigint[]),
    unnest(@ttft_max_us::bigint[]),
    unnest(@org_id::text[]),
    unnest(@workspace_id::text[]),
    unnest(@provider::text[]),
    unnest(@model::text[]),
    unnest(@gateway_key_id::text[]),
    unnest(@api_key_hash::text[]),
    unnest(@status_class::text[]),
    unnest(@latency_hist::text[]),
    unnest(@ttft_hist::text[])
ON CONFLICT (hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class)
DO UPDATE SET
    last_active_at      = excluded.last_active_at,
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
    latency_hist        = excluded.latency_hist,
    ttft_hist           = excluded.ttft_hist;

-- name: GetDailyRollups :many
-- GetRollups for the daily tier: the stored daily rows for a set of keys.
SELECT * FROM trace_rollups_daily
WHERE (day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash) IN (
    SELECT
        unnest(@day::timestamptz[]),
        unnest(@org_id::text[]),
        unnest(@workspace_id::text[]),
        unnest(@provider::text[]),
        unnest(@model::text[]),
        unnest(@gateway_key_id::text[]),
        unnest(@api_key_hash::text[])
)
FOR UPDATE;

-- name: UpsertDailyRollups :exec
-- UpsertRollups for the daily tier.
INSERT INTO trace_rollups_daily (
    day, last_active_at,
    requests, client_errors, server_errors, cancelled, unpriced,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens, cost_nano_usd,
    latency_sum_ms, latency_min_ms, latency_max_ms,
    ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us,
    org_id, workspace_id, provider, model, gateway_key_id, api_key_hash,
    latency_hist, ttft_hist
)
SELECT
    unnest(@day::timestamptz[]),
    unnest(@last_active_at::timestamptz[]),
    unnest(@requests::bigint[]),
    unnest(@client_errors::bigint[]),
    unnest(@server_errors::bigint[]),
    unnest(@cancelled::bigint[]),
    unnest(@unpriced::bigint[]),
    unnest(@input_tokens::bigint[]),
    unnest(@output_tokens::bigint[]),
    unnest(@total_tokens::bigint[]),
    unnest(@cached_input_tokens::bigint[]),
    unnest(@cache_write_tokens::bigint[]),
    unnest(@reasoning_tokens::bigint[]),
    unnest(@cost_nano_usd::bigint[]),
    unnest(@latency_sum_ms::bigint[]),
    unnest(@latency_min_ms::bigint[]),
    unnest(@latency_max_ms::bigint[]),
    unnest(@ttft_count::bigint[]),
    unnest(@ttft_sum_us::bigint[]),
    unnest(@ttft_min_us::bigint[]),
    unnest(@ttft_max_us::bigint[]),
    unnest(@org_id::text[]),
    unnest(@workspace_id::text[]),
    unnest(@provider::text[]),
    unnest(@model::text[]),
    unnest(@gateway_key_id::text[]),
    unnest(@api_key_hash::text[]),
    unnest(@latency_hist::text[]),
    unnest(@ttft_hist::text[])
ON CONFLICT (day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash)
DO UPDATE SET
    last_active_at      = excluded.last_active_at,
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
    latency_hist        = excluded.latency_hist,
    ttft_hist           = excluded.ttft_hist;

-- name: AggregateRollups :many
-- Sums the rows in [from_time, to_time) per (bucket, group), reading the
-- daily tier for the whole UTC days [days_from, days_to) and hourly rows for
-- the rest of the range; the store sets days_from = days_to (no days) when
-- the query needs hours or status classes, which only hourly rows have.
-- bucket is 'hour', 'day', 'week' or 'none' and group_by a store.GroupBy
-- ('' for none); the store runs this as an unnamed statement
-- (planEachCall), so each call is planned with its actual arguments: the
-- CASEs and the NULL tests of the optional filters fold away and the
-- planner can seek the tenant indexes. Buckets are truncated in UTC
-- whatever the session's TimeZone (the three-argument date_trunc; 'week'
-- starts on Monday); a daily row's day is its own day bucket and lies
-- within one week. With no bucket every row lands in one constant bucket
-- that the store ignores. Sums are cast back from numeric to bigint, which
-- fails on overflow rather than rounding. Minima skip rows that have
-- nothing to take a minimum of. Every key column is COLLATE "C", and so is
-- the group label built from them, so groups sort byte-wise, the order
-- SQLite returns.
SELECT
    (CASE sqlc.arg(bucket)::text
        WHEN 'hour' THEN r.hour
        WHEN 'day'  THEN date_trunc('day', r.hour, 'UTC')
        WHEN 'week' THEN date_trunc('week', r.hour, 'UTC')
        ELSE 'epoch'::timestamptz
    END)::timestamptz AS bucket_start,
    (CASE sqlc.arg(group_by)::text
        WHEN 'provider'     THEN r.provider
        WHEN 'model'        THEN r.model
        WHEN 'gateway_key'  THEN r.gateway_key_id
        WHEN 'api_key'      THEN r.api_key_hash
        WHEN 'workspace'    THEN r.workspace_id
        WHEN 'status_class' THEN r.status_class
        ELSE ''
    END)::text AS group_key,
    sum(r.requests)::bigint            AS requests,
    sum(r.client_errors)::bigint       AS client_errors,
    sum(r.server_errors)::bigint       AS server_errors,
    sum(r.cancelled)::bigint           AS cancelled,
    sum(r.unpriced)::bigint            AS unpriced,
    sum(r.input_tokens)::bigint        AS input_tokens,
    sum(r.output_tokens)::bigint       AS output_tokens,
    sum(r.total_tokens)::bigint        AS total_tokens,
    sum(r.cached_input_tokens)::bigint AS cached_input_tokens,
    sum(r.cache_write_tokens)::bigint  AS cache_write_tokens,
    sum(r.reasoning_tokens)::bigint    AS reasoning_tokens,
    sum(r.cost_nano_usd)::bigint       AS cost_nano_usd,
    sum(r.latency_sum_ms)::bigint      AS latency_sum_ms,
    coalesce(min(CASE WHEN r.requests > 0 THEN r.latency_min_ms END), 0)::bigint AS latency_min_ms,
    max(r.latency_max_ms)::bigint      AS latency_max_ms,
    sum(r.ttft_count)::bigint          AS ttft_count,
    sum(r.ttft_sum_us)::bigint         AS ttft_sum_us,
    coalesce(min(CASE WHEN r.ttft_count > 0 THEN r.ttft_min_us END), 0)::bigint AS ttft_min_us,
    max(r.ttft_max_us)::bigint         AS ttft_max_us,
    max(r.last_active_at)::timestamptz AS last_active_at
FROM (
    SELECT hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, status_class,
           requests, client_errors, server_errors, cancelled, unpriced,
           input_tokens, output_tokens, total_tokens, cached_input_tokens,
           cache_write_tokens, reasoning_tokens, cost_nano_usd,
           latency_sum_ms, latency_min_ms, latency_max_ms,
           ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us, last_active_at
    FROM trace_rollups
    WHERE ((hour >= sqlc.arg(from_time) AND hour < sqlc.arg(days_from))
        OR (hour >= sqlc.arg(days_to) AND hour < sqlc.arg(to_time)))
      AND (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
      AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
      AND (sqlc.narg(provider)::text IS NULL OR provider = sqlc.narg(provider))
      AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
    UNION ALL
    SELECT day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash, ''::text COLLATE "C",
           requests, client_errors, server_errors, cancelled, unpriced,
           input_tokens, output_tokens, total_tokens, cached_input_tokens,
           cache_write_tokens, reasoning_tokens, cost_nano_usd,
           latency_sum_ms, latency_min_ms, latency_max_ms,
           ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us, last_active_at
    FROM trace_rollups_daily
    WHERE day >= sqlc.arg(days_from) AND day < sqlc.arg(days_to)
      AND (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
      AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
      AND (sqlc.narg(provider)::text IS NULL OR provider = sqlc.narg(provider))
      AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
) AS r
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: RollupHistograms :many
-- The histograms of the rows in [from_time, to_time), labelled with their
-- group (as in AggregateRollups, daily tier included) and ordered by it;
-- the store merges each group's histograms in Go, since they are text.
SELECT
    (CASE sqlc.arg(group_by)::text
        WHEN 'provider'     THEN r.provider
        WHEN 'model'        THEN r.model
        WHEN 'gateway_key'  THEN r.gateway_key_id
        WHEN 'api_key'      THEN r.api_key_hash
        WHEN 'workspace'    THEN r.workspace_id
        WHEN 'status_class' THEN r.status_class
        ELSE ''
    END)::text AS group_key,
    r.latency_hist,
    r.ttft_hist
FROM (
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, status_class, latency_hist, ttft_hist
    FROM trace_rollups
    WHERE ((hour >= sqlc.arg(from_time) AND hour < sqlc.arg(days_from))
        OR (hour >= sqlc.arg(days_to) AND hour < sqlc.arg(to_time)))
      AND (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
      AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
      AND (sqlc.narg(provider)::text IS NULL OR provider = sqlc.narg(provider))
      AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
    UNION ALL
    SELECT workspace_id, provider, model, gateway_key_id, api_key_hash, ''::text COLLATE "C", latency_hist, ttft_hist
    FROM trace_rollups_daily
    WHERE day >= sqlc.arg(days_from) AND day < sqlc.arg(days_to)
      AND (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
      AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
      AND (sqlc.narg(provider)::text IS NULL OR provider = sqlc.narg(provider))
      AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
) AS r
ORDER BY 1;

-- name: RecordRollupBatch :execrows
-- Enters a batch in the applied-batch ledger; 0 rows means it was applied
-- before, and ApplyRollupsTx then adds nothing. Run under LockRollups, and
-- a concurrent insert of the same id waits for the other transaction's end.
INSERT INTO rollup_batches (id, applied_at)
VALUES (sqlc.arg(id), sqlc.arg(applied_at))
ON CONFLICT (id) DO NOTHING;
