-- name: SaveLimitCounter :exec
-- One row of a batch, run as a prepared statement in the batch's
-- transaction.
INSERT INTO limit_counters (replica, subject, period, period_end, requests, tokens, nano_usd, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (replica, subject, period) DO UPDATE
SET requests = excluded.requests, tokens = excluded.tokens, nano_usd = excluded.nano_usd, updated_at = excluded.updated_at;

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
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (subject) DO UPDATE
SET requests_per_minute = excluded.requests_per_minute, tokens_per_minute = excluded.tokens_per_minute,
    tokens_per_day = excluded.tokens_per_day, nano_usd_per_day = excluded.nano_usd_per_day,
    nano_usd_per_month = excluded.nano_usd_per_month, updated_at = excluded.updated_at,
    updated_by = excluded.updated_by;

-- name: DeleteLimitOverride :exec
DELETE FROM limit_overrides WHERE subject = ?;

-- name: ListLimitOverrides :many
SELECT subject, requests_per_minute, tokens_per_minute, tokens_per_day,
    nano_usd_per_day, nano_usd_per_month, updated_at, updated_by
FROM limit_overrides ORDER BY subject;
