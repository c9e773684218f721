-- Retention (see internal/store.Retention). Each statement touches at most
-- row_limit rows and commits on its own, so enforcing retention over a large
-- backlog is many short statements, never one long transaction.
--
-- UPDATE and DELETE have no LIMIT, so the trace statements pick their rows
-- in a LIMITed CTE and then match them with "started_at = ANY(...) AND
-- id = ANY(...)": each partition answers that with one primary-key index
-- scan. The obvious "(started_at, id) IN (SELECT ...)" plans as a hash join
-- over a sequential scan of every partition it cannot prune, which reads the
-- whole table to change a thousand rows; ctid is no way out either, being
-- unique only within one partition. The two ANY lists can in principle pair
-- one picked row's time with another's id; such a row is still older than
-- the cutoff (the outer WHERE says so), so it is due anyway.

-- name: PurgeTraceBodies :execrows
-- Blanks the bodies of up to row_limit traces started before the cutoff that
-- still have one, oldest first. The CTE's WHERE is traces_bodies_idx's, so it
-- reads only traces that still carry a body.
WITH picked AS (
    SELECT t.started_at, t.id FROM traces t
    WHERE t.started_at < @before
      AND (t.request_body <> '' OR t.response_body <> '')
    ORDER BY t.started_at
    LIMIT @row_limit
)
UPDATE traces u SET request_body = '', response_body = ''
WHERE u.started_at < @before
  AND u.started_at = ANY (ARRAY(SELECT p.started_at FROM picked p))
  AND u.id = ANY (ARRAY(SELECT p.id FROM picked p))
  AND (u.request_body <> '' OR u.response_body <> '');

-- name: DeleteTraces :execrows
-- Deletes up to row_limit traces started before the cutoff, oldest first.
-- The retention job drops whole daily partitions first, so what this finds
-- is normally only rows in the DEFAULT partition.
WITH picked AS (
    SELECT t.started_at, t.id FROM traces t
    WHERE t.started_at < @before
    ORDER BY t.started_at
    LIMIT @row_limit
)
DELETE FROM traces d
WHERE d.started_at < @before
  AND d.started_at = ANY (ARRAY(SELECT p.started_at FROM picked p))
  AND d.id = ANY (ARRAY(SELECT p.id FROM picked p));

-- name: TracesExistBetween :one
-- Whether any trace started in [from_time, to_time). Asked before creating
-- the partition for that range: while no partition covers it, only DEFAULT
-- can hold such rows, and Postgres refuses a partition DEFAULT has rows for.
SELECT EXISTS (
    SELECT 1 FROM traces
    WHERE started_at >= @from_time AND started_at < @to_time
);

-- name: ListTracePartitions :many
-- The partitions attached to traces, DEFAULT included, by name.
SELECT c.relname::text AS name
FROM pg_catalog.pg_inherits i
JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'traces'::regclass
ORDER BY c.relname;

-- name: DeleteRollups :execrows
-- Deletes up to row_limit hourly rollup rows for hours before the cutoff,
-- oldest first, walking the primary key (hour leads it). trace_rollups is
-- not partitioned, so ctid names a row, and "ctid = ANY(ARRAY(...))" is a
-- TID scan (IN (SELECT ...) could plan a join over the whole table).
DELETE FROM trace_rollups
WHERE ctid = ANY (ARRAY(
    SELECT r.ctid FROM trace_rollups r
    WHERE r.hour < @before
    ORDER BY r.hour
    LIMIT @row_limit
));

-- name: DeleteDailyRollups :execrows
-- Deletes up to row_limit daily rollup rows for days before the cutoff (a
-- UTC midnight), oldest first, every tenant alike, as DeleteRollups does
-- for hours.
DELETE FROM trace_rollups_daily
WHERE ctid = ANY (ARRAY(
    SELECT r.ctid FROM trace_rollups_daily r
    WHERE r.day < @before
    ORDER BY r.day
    LIMIT @row_limit
));

-- name: DeleteRollupBatches :execrows
-- Deletes up to row_limit applied-batch ledger entries recorded before the
-- cutoff, oldest first (rollup_batches_applied_at_idx).
DELETE FROM rollup_batches
WHERE ctid = ANY (ARRAY(
    SELECT b.ctid FROM rollup_batches b
    WHERE b.applied_at < @before
    ORDER BY b.applied_at
    LIMIT @row_limit
));

-- name: DeleteAudit :execrows
-- Deletes up to row_limit audit events older than the cutoff, oldest first
-- (audit_events_time_idx).
DELETE FROM audit_events
WHERE ctid = ANY (ARRAY(
    SELECT a.ctid FROM audit_events a
    WHERE a.time < @before
    ORDER BY a.time
    LIMIT @row_limit
));
