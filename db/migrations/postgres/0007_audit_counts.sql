-- Authentication failures are aggregated (internal/tenancy.AuditLog): one
-- event per source, actor and minute that says how many denials it stands
-- for, instead of a row per refused request, so a flood of bad keys cannot
-- grow the table without bound. Every other event counts 1.
--
-- The gateway rewrites an aggregated event's count as more denials arrive
-- (an upsert by id keeping the larger count, so a retried batch is still
-- harmless). Retention deletes events older than retention.audit_days,
-- walking audit_events_time_idx.
ALTER TABLE audit_events ADD COLUMN count bigint NOT NULL DEFAULT 1;
