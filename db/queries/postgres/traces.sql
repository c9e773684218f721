-- name: CopyTraces :copyfrom
-- The fast path for a batch: COPY straight into traces. It fails as a whole
-- if any id is already stored, and the store then falls back to
-- InsertTracesSkipDuplicates.
INSERT INTO traces (
    started_at, created_at,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    stream_events, cost_nano_usd, response_status,
    tokens_estimated, streaming, priced,
    id, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path, outcome,
    api_key_hash, api_key_last4, pricing_version,
    request_headers, response_headers, request_body, response_body, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
) VALUES (
    $1, $2,
    $3, $4, $5, $6,
    $7, $8,
    $9, $10, $11,
    $12, $13, $14,
    $15, $16, $17,
    $18, $19, $20, $21,
    $22, $23, $24, $25, $26, $27,
    $28, $29, $30,
    $31, $32, $33, $34, $35,
    $36, $37
);

-- name: InsertTracesSkipDuplicates :many
-- The retry path: one statement for the whole batch (one array per column,
-- unnested in step), skipping rows whose (started_at, id) is already stored,
-- including duplicates within the batch itself. It returns the keys of the
-- rows it did insert, so that only those are rolled up.
INSERT INTO traces (
    started_at, created_at,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    stream_events, cost_nano_usd, response_status,
    tokens_estimated, streaming, priced,
    id, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path, outcome,
    api_key_hash, api_key_last4, pricing_version,
    request_headers, response_headers, request_body, response_body, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
)
SELECT
    unnest(@started_at::timestamptz[]),
    unnest(@created_at::timestamptz[]),
    unnest(@input_tokens::bigint[]),
    unnest(@output_tokens::bigint[]),
    unnest(@total_tokens::bigint[]),
    unnest(@cached_input_tokens::bigint[]),
    unnest(@cache_write_tokens::bigint[]),
    unnest(@reasoning_tokens::bigint[]),
    unnest(@latency_ms::bigint[]),
    unnest(@time_to_first_token_ms::bigint[]),
    unnest(@time_to_first_token_us::bigint[]),
    unnest(@stream_events::bigint[]),
    unnest(@cost_nano_usd::bigint[]),
    unnest(@response_status::smallint[]),
    unnest(@tokens_estimated::boolean[]),
    unnest(@streaming::boolean[]),
    unnest(@priced::boolean[]),
    unnest(@id::text[]),
    unnest(@org_id::text[]),
    unnest(@workspace_id::text[]),
    unnest(@gateway_key_id::text[]),
    unnest(@provider::text[]),
    unnest(@model::text[]),
    unnest(@request_model::text[]),
    unnest(@request_method::text[]),
    unnest(@request_path::text[]),
    unnest(@outcome::text[]),
    unnest(@api_key_hash::text[]),
    unnest(@api_key_last4::text[]),
    unnest(@pricing_version::text[]),
    unnest(@request_headers::text[]),
    unnest(@response_headers::text[]),
    unnest(@request_body::text[]),
    unnest(@response_body::text[]),
    unnest(@metadata::text[]),
    unnest(@cache_write_1h_tokens::bigint[]),
    unnest(@time_to_first_byte_ms::bigint[])
ON CONFLICT DO NOTHING
RETURNING started_at, id;

-- name: ListTraces :many
-- A page of trace summaries (no headers or bodies), newest first. Every
-- filter is optional: NULL means "any". The time range's end and the page
-- cursor arrive folded into one exclusive upper key, (before_started_at,
-- before_id). The store runs this as an unnamed statement so each call is
-- planned with its actual arguments and the NULL tests fold away, letting
-- the planner pick the tenant index or the primary key as the call requires.
SELECT
    started_at, created_at,
    input_tokens, output_tokens, total_tokens, cached_input_tokens,
    cache_write_tokens, reasoning_tokens,
    latency_ms, time_to_first_token_ms, time_to_first_token_us,
    stream_events, cost_nano_usd, response_status,
    tokens_estimated, streaming, priced,
    id, org_id, workspace_id, gateway_key_id,
    provider, model, request_model, request_method, request_path, outcome,
    api_key_hash, api_key_last4, pricing_version, metadata,
    cache_write_1h_tokens, time_to_first_byte_ms
FROM traces
WHERE (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
  AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
  AND (sqlc.narg(provider)::text IS NULL OR provider = sqlc.narg(provider))
  AND (sqlc.narg(model)::text IS NULL OR model = sqlc.narg(model))
  AND (sqlc.narg(response_status)::smallint IS NULL OR response_status = sqlc.narg(response_status))
  AND (sqlc.narg(api_key_hash)::text IS NULL OR api_key_hash = sqlc.narg(api_key_hash))
  AND (sqlc.narg(from_time)::timestamptz IS NULL OR started_at >= sqlc.narg(from_time))
  AND (sqlc.narg(before_started_at)::timestamptz IS NULL
       OR (started_at, id) < (sqlc.narg(before_started_at), sqlc.narg(before_id)::text))
ORDER BY started_at DESC, id DESC
LIMIT sqlc.arg(row_limit);

-- name: GetTrace :one
-- One full trace by id, only if it belongs to the tenant (NULL = any).
SELECT * FROM traces
WHERE id = sqlc.arg(id)
  AND (sqlc.narg(org_id)::text IS NULL OR org_id = sqlc.narg(org_id))
  AND (sqlc.narg(workspace_id)::text IS NULL OR workspace_id = sqlc.narg(workspace_id))
LIMIT 1;

-- name: RepriceTrace :execrows
-- A stored trace's new cost (ongoingai pricing reprice), written only if
-- its cost and priced flag are still what the repricing read: a trace
-- repriced concurrently is then changed, and rolled up, once.
UPDATE traces
SET cost_nano_usd = @new_cost_nano_usd, priced = @new_priced, pricing_version = @pricing_version
WHERE started_at = @started_at AND id = @id
  AND cost_nano_usd = @old_cost_nano_usd AND priced = @old_priced;
