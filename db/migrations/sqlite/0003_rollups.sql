-- Hourly rollups of traces (internal/rollup): one row per hour × org ×
-- workspace × provider × model × gateway key × provider key hash × status
-- class, holding that cell's sums and latency/TTFT histograms. Analytics
-- answer from here instead of scanning traces. Same shape as on Postgres;
-- times are INTEGER unix microseconds (UTC), as in traces.
--
-- Rows are written only by the store's ApplyRollupsTx, each batch exactly
-- once (see internal/jobs).
--
--   * Every column is NOT NULL; "no gateway key" or "no provider key" is '',
--     exactly as stored in traces.
--   * Sums are INTEGER and exact: SQLite's sum() of integers stays an
--     integer (and fails on overflow rather than rounding). Costs are
--     integer nano-dollars like traces.cost_nano_usd.
--   * latency_min_ms/latency_max_ms are meaningful when requests > 0, and
--     ttft_min_us/ttft_max_us when ttft_count > 0 (0 otherwise); readers
--     must skip the other rows when taking a minimum.
--   * The histograms are text (rollup.Histogram's "bucket:count ..." form),
--     merged in Go, so applying a row reads it, merges and writes it back.
--   * STRICT makes SQLite reject a value of the wrong type instead of storing
--     it silently.
CREATE TABLE trace_rollups (
    hour                INTEGER NOT NULL, -- UTC start of the hour the traces started in
    org_id              TEXT    NOT NULL,
    workspace_id        TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    gateway_key_id      TEXT    NOT NULL,
    api_key_hash        TEXT    NOT NULL,
    status_class        TEXT    NOT NULL, -- '2xx' … '5xx', 'other'
    requests            INTEGER NOT NULL,
    client_errors       INTEGER NOT NULL, -- status 400–499
    server_errors       INTEGER NOT NULL, -- status 500–599
    cancelled           INTEGER NOT NULL, -- outcome client_cancelled
    unpriced            INTEGER NOT NULL, -- model had no price
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    total_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_nano_usd       INTEGER NOT NULL,
    latency_sum_ms      INTEGER NOT NULL,
    latency_min_ms      INTEGER NOT NULL,
    latency_max_ms      INTEGER NOT NULL,
    ttft_count          INTEGER NOT NULL, -- traces that measured a time to first token
    ttft_sum_us         INTEGER NOT NULL,
    ttft_min_us         INTEGER NOT NULL,
    ttft_max_us         INTEGER NOT NULL,
    last_active_at      INTEGER NOT NULL, -- latest trace start counted
    latency_hist        TEXT    NOT NULL, -- milliseconds
    ttft_hist           TEXT    NOT NULL, -- microseconds
    -- The rollup key. Hour first: queries without a tenant (auth off, SQLite's
    -- usual deployment) and retention are ranges on it.
    PRIMARY KEY (hour, org_id, workspace_id, provider, model,
                 gateway_key_id, api_key_hash, status_class)
) STRICT;

-- Tenant-scoped analytics: equality on the tenant, then the hour range.
CREATE INDEX trace_rollups_tenant_hour_idx ON trace_rollups (org_id, workspace_id, hour);

-- The daily tier: the same sums and histograms per UTC day × org ×
-- workspace × provider × model × gateway key × provider key hash, without
-- the status class (the sums already count 4xx and 5xx apart). A 30-day
-- question reads one row per day and cell here, plus hourly rows only for
-- the partial days at its edges, instead of 720 hours of hourly rows.
-- Queries grouped by status class or bucketed by hour read hourly rows
-- only. ApplyRollupsTx writes both tiers in one transaction, folding each
-- hourly row into its day, so the tiers agree exactly at every commit.
-- day is the unix microsecond of the UTC midnight starting the day.
CREATE TABLE trace_rollups_daily (
    day                 INTEGER NOT NULL,
    org_id              TEXT    NOT NULL,
    workspace_id        TEXT    NOT NULL,
    provider            TEXT    NOT NULL,
    model               TEXT    NOT NULL,
    gateway_key_id      TEXT    NOT NULL,
    api_key_hash        TEXT    NOT NULL,
    requests            INTEGER NOT NULL,
    client_errors       INTEGER NOT NULL,
    server_errors       INTEGER NOT NULL,
    cancelled           INTEGER NOT NULL,
    unpriced            INTEGER NOT NULL,
    input_tokens        INTEGER NOT NULL,
    output_tokens       INTEGER NOT NULL,
    total_tokens        INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    cache_write_tokens  INTEGER NOT NULL,
    reasoning_tokens    INTEGER NOT NULL,
    cost_nano_usd       INTEGER NOT NULL,
    latency_sum_ms      INTEGER NOT NULL,
    latency_min_ms      INTEGER NOT NULL,
    latency_max_ms      INTEGER NOT NULL,
    ttft_count          INTEGER NOT NULL,
    ttft_sum_us         INTEGER NOT NULL,
    ttft_min_us         INTEGER NOT NULL,
    ttft_max_us         INTEGER NOT NULL,
    last_active_at      INTEGER NOT NULL,
    latency_hist        TEXT    NOT NULL,
    ttft_hist           TEXT    NOT NULL,
    PRIMARY KEY (day, org_id, workspace_id, provider, model,
                 gateway_key_id, api_key_hash)
) STRICT;

CREATE INDEX trace_rollups_daily_tenant_day_idx ON trace_rollups_daily (org_id, workspace_id, day);

-- Retention expires both tiers explicitly, each by its own statement
-- (DeleteRollups for hours, DeleteDailyRollups for whole UTC days), at the
-- same day boundary, so the tiers agree at the retention edge. (There is no
-- trigger tying the daily tier to hourly deletes: one could not tell which
-- tenants' days were over.)

-- The applied-batch ledger: the id of every rollup batch (RollupArgs.BatchID,
-- a UUID made when its traces were committed) that ApplyRollupsTx has added
-- to the rollups, inserted in the same transaction as the rows. A second run
-- of the same job (River rescuing a run it thought stalled, an operator's
-- retry, a catch-up retry racing a live gateway) finds its id here and adds
-- nothing, so a batch is counted at most once whatever River does with the
-- job. Retention prunes ids far older than any job River could still run
-- (DeleteRollupBatches). applied_at is unix microseconds (UTC).
CREATE TABLE rollup_batches (
    id         TEXT    NOT NULL PRIMARY KEY,
    applied_at INTEGER NOT NULL
) STRICT;

-- Pruning walks the ledger oldest first.
CREATE INDEX rollup_batches_applied_at_idx ON rollup_batches (applied_at);
