-- Nothing to do on Postgres. On SQLite this migration adds the change
-- counter the key cache watches (see db/migrations/sqlite/0006_key_changes.sql);
-- Postgres already announces key changes with NOTIFY (0002_tenancy.sql).
-- The file keeps both engines' migration numbers in step.
SELECT 1;
