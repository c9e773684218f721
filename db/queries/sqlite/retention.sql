-- Retention (see internal/store.Retention). Each statement touches at most
-- row_limit rows and commits on its own, so enforcing retention over a large
-- backlog is many short statements on the single writer, between trace
-- batches, never one long transaction. Rows are picked by rowid in a LIMITed
-- subquery: SQLite's UPDATE and DELETE ... LIMIT need a compile-time option
-- that the driver does not set.

-- name: PurgeTraceBodies :execrows
-- Blanks the bodies of up to row_limit traces started before the cutoff that
-- still have one. The body test is spelled exactly as traces_bodies_idx's
-- WHERE, which is what lets SQLite use that partial index.
UPDATE traces SET request_body = '', response_body = ''
WHERE rowid IN (
    SELECT t.rowid FROM traces t
    WHERE t.started_at < sqlc.arg(before)
      AND (t.request_body <> '' OR t.response_body <> '')
    ORDER BY t.started_at
    LIMIT sqlc.arg(row_limit)
);

-- name: DeleteTraces :execrows
-- Deletes up to row_limit traces started before the cutoff, oldest first,
-- walking traces_time_idx.
DELETE FROM traces
WHERE rowid IN (
    SELECT t.rowid FROM traces t
    WHERE t.started_at < sqlc.arg(before)
    ORDER BY t.started_at
    LIMIT sqlc.arg(row_limit)
);

-- name: DeleteRollups :execrows
-- Deletes up to row_limit hourly rollup rows for hours before the cutoff,
-- oldest first, walking the primary key (hour leads it).
DELETE FROM trace_rollups
WHERE rowid IN (
    SELECT r.rowid FROM trace_rollups r
    WHERE r.hour < sqlc.arg(before)
    ORDER BY r.hour
    LIMIT sqlc.arg(row_limit)
);

-- name: DeleteDailyRollups :execrows
-- Deletes up to row_limit daily rollup rows for days before the cutoff (a
-- UTC midnight), oldest first, every tenant alike, as DeleteRollups does
-- for hours.
DELETE FROM trace_rollups_daily
WHERE rowid IN (
    SELECT r.rowid FROM trace_rollups_daily r
    WHERE r.day < sqlc.arg(before)
    ORDER BY r.day
    LIMIT sqlc.arg(row_limit)
);

-- name: DeleteRollupBatches :execrows
-- Deletes up to row_limit applied-batch ledger entries recorded before the
-- cutoff, oldest first (rollup_batches_applied_at_idx).
DELETE FROM rollup_batches
WHERE rowid IN (
    SELECT b.rowid FROM rollup_batches b
    WHERE b.applied_at < sqlc.arg(before)
    ORDER BY b.applied_at
    LIMIT sqlc.arg(row_limit)
);

-- name: DeleteAudit :execrows
-- Deletes up to row_limit audit events older than the cutoff, oldest first
-- (audit_events_time_idx).
DELETE FROM audit_events
WHERE rowid IN (
    SELECT a.rowid FROM audit_events a
    WHERE a.time < sqlc.arg(before)
    ORDER BY a.time
    LIMIT sqlc.arg(row_limit)
);
