-- name: SaveLimitCounters :exec
-- One statement for a replica's whole batch of totals.
INSERT INTO limit_counters (replica, subject, period, period_end, requests, tokens, nano_usd, updated_at)
SELECT sqlc.arg(replica)::text, v.subject, v.period, v.period_end, v.requests, v.tokens, v.nano_usd, sqlc.arg(updated_at)::timestamptz
FROM (SELECT unnest(sqlc.arg(subjects)::text[]) AS subject,
             unnest(sqlc.arg(periods)::text[]) AS period,
             unnest(sqlc.arg(period_ends)::timestamptz[]) AS period_end,
             unnest(sqlc.arg(requests)::bigint[]) AS requests,
             unnest(sqlc.arg(tokens)::bigint[]) AS tokens,
             unnest(sqlc.arg(nano_usds)::bigint[]) AS nano_usd) AS v
ON CONFLICT (replica, subject, period) DO UPDATE
SET requests = EXCLUDED.requests, tokens = EXCLUDED.tokens, nano_usd = EXCLUDED.nano_usd, updated_at = EXCLUDED.updated_at;

-- name: ListLimitCounters :many
SELECT replica, subject, period, period_end, requests, tokens, nano_usd, updated_at
FROM limit_counters WHERE period_end > sqlc.arg(ending_after);

-- name: DeleteLimitCounters :execrows
DELETE FROM limit_counters
WHERE period_end < sqlc.arg(ended_before)
   OR (length(period) = 16 AND period_end < sqlc.arg(minutes_ended_before));

-- name: PutLimitOverride :exec
INSERT INTO limit_overrides (subject, requests_per_minute, tokens_per_minute, tokens_per_day,
    nano_usd_per_day, nano_usd_per_month, updated_at, updated_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (subject) DO UPDATE
SET requests_per_minute = EXCLUDED.requests_per_minute, tokens_per_minute = EXCLUDED.tokens_per_minute,
    tokens_per_day = EXCLUDED.tokens_per_day, nano_usd_per_day = EXCLUDED.nano_usd_per_day,
    nano_usd_per_month = EXCLUDED.nano_usd_per_month, updated_at = EXCLUDED.updated_at,
    updated_by = EXCLUDED.updated_by;

-- name: DeleteLimitOverride :exec
DELETE FROM limit_overrides WHERE subject = $1;

-- name: ListLimitOverrides :many
SELECT subject, requests_per_minute, tokens_per_minute, tokens_per_day,
    nano_usd_per_day, nano_usd_per_month, updated_at, updated_by
FROM limit_overrides ORDER BY subject;
