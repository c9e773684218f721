-- Limits (internal/limits). limit_counters holds each replica's own
-- running totals per subject (key:ID, workspace:ORG/ID, org:ID) and UTC
-- period: YYYY-MM-DD and YYYY-MM for budgets, YYYY-MM-DDTHH:MM for the
-- minutes that sliding-minute limits read (requests are counted there
-- only). Values are absolute, upserted in the background, so a retried
-- write is harmless. A restarted gateway is a new replica and reads its
-- predecessor's rows like any other's. Day and month rows are deleted a
-- day after their period ends, minute rows two minutes after. Times are unix microseconds.
CREATE TABLE limit_counters (
    replica    TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    period     TEXT    NOT NULL,
    period_end INTEGER NOT NULL,
    requests   INTEGER NOT NULL CHECK (requests >= 0),
    tokens     INTEGER NOT NULL CHECK (tokens >= 0),
    nano_usd   INTEGER NOT NULL CHECK (nano_usd >= 0),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (replica, subject, period)
);
CREATE INDEX limit_counters_period_end ON limit_counters (period_end);

-- Per key or workspace overrides of the configured default limits. A NULL
-- limit keeps the default; 0 lifts it.
CREATE TABLE limit_overrides (
    subject             TEXT    NOT NULL PRIMARY KEY,
    requests_per_minute INTEGER CHECK (requests_per_minute >= 0),
    tokens_per_minute   INTEGER CHECK (tokens_per_minute >= 0),
    tokens_per_day      INTEGER CHECK (tokens_per_day >= 0),
    nano_usd_per_day    INTEGER CHECK (nano_usd_per_day >= 0),
    nano_usd_per_month  INTEGER CHECK (nano_usd_per_month >= 0),
    updated_at          INTEGER NOT NULL,
    updated_by          TEXT    NOT NULL
);
