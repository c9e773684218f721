-- Retention blanks the bodies of traces older than retention.bodies_days
-- while keeping the rest of the row. Finding the traces that still carry a
-- body must not mean walking every trace between bodies_days and
-- traces_days (weeks of rows, every hour): this partial index holds only
-- traces with a body, and the purge removes them from it as it blanks them,
-- so the purge reads exactly what it changes. With body capture off (the
-- default) the index stays empty and costs inserts nothing.
--
-- Declared on the partitioned parent, it is created on every partition,
-- present and future.
CREATE INDEX traces_bodies_idx ON traces (started_at)
    WHERE request_body <> '' OR response_body <> '';
