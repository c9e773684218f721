-- Limits (internal/limits). limit_counters holds each replica's own
-- running totals per subject (key:ID, workspace:ORG/ID, org:ID) and UTC
-- period: YYYY-MM-DD and YYYY-MM for budgets, YYYY-MM-DDTHH:MM for the
-- minutes that sliding-minute limits read (requests are counted there
-- only). Values are absolute, upserted in the background, so a retried
-- write is harmless. A restarted gateway is a new replica and reads its
-- predecessor's rows like any other's. Day and month rows are deleted a
-- day after their period ends, minute rows two minutes after.
CREATE TABLE limit_counters (
    replica    text        NOT NULL,
    subject    text        NOT NULL,
    period     text        NOT NULL,
    period_end timestamptz NOT NULL,
    requests   bigint      NOT NULL CHECK (requests >= 0),
    tokens     bigint      NOT NULL CHECK (tokens >= 0),
    nano_usd   bigint      NOT NULL CHECK (nano_usd >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (replica, subject, period)
);
CREATE INDEX limit_counters_period_end ON limit_counters (period_end);

-- Per key or workspace overrides of the configured default limits. A NULL
-- limit keeps the default; 0 lifts it.
CREATE TABLE limit_overrides (
    subject             text        PRIMARY KEY,
    requests_per_minute bigint CHECK (requests_per_minute >= 0),
    tokens_per_minute   bigint CHECK (tokens_per_minute >= 0),
    tokens_per_day      bigint CHECK (tokens_per_day >= 0),
    nano_usd_per_day    bigint CHECK (nano_usd_per_day >= 0),
    nano_usd_per_month  bigint CHECK (nano_usd_per_month >= 0),
    updated_at          timestamptz NOT NULL,
    updated_by          text        NOT NULL
);
