-- Hourly rollups of traces (internal/rollup): one row per hour × org ×
-- workspace × provider × model × gateway key × provider key hash × status
-- class, holding that cell's sums and latency/TTFT histograms. Analytics
-- answer from here instead of scanning traces, so a 30-day question reads
-- 720 hours of a few rows each, however many traces they stand for.
--
-- Rows are written only by the stores' ApplyRollupsTx, each batch exactly
-- once (the trace writer enqueues the fold of the traces it actually
-- inserted, in the transaction that inserted them; see internal/jobs).
--
-- Layout choices, as in traces:
--   * Fixed-width columns first, widest first, then text, so nothing is
--     padded.
--   * Every column is NOT NULL; "no gateway key" or "no provider key" is '',
--     exactly as stored in traces.
--   * Key text compares byte-wise (COLLATE "C") on every column, not only the
--     ids: a group label sorts the same way here as on SQLite, so both stores
--     return groups in one order.
--   * Sums are bigint and exact. Costs are integer nano-dollars like
--     traces.cost_nano_usd; no floats anywhere.
--   * latency_min_ms/latency_max_ms are meaningful when requests > 0, and
--     ttft_min_us/ttft_max_us when ttft_count > 0 (0 otherwise); readers
--     must skip the other rows when taking a minimum.
--   * The histograms are text (rollup.Histogram's "bucket:count ..." form):
--     sparse, readable, and stored the same on both engines. Merging them is
--     done in Go, so applying a row reads it, merges and writes it back.
CREATE TABLE trace_rollups (
    hour                timestamptz NOT NULL, -- UTC start of the hour the traces started in
    last_active_at      timestamptz NOT NULL, -- latest trace start counted
    requests            bigint      NOT NULL,
    client_errors       bigint      NOT NULL, -- status 400–499
    server_errors       bigint      NOT NULL, -- status 500–599
    cancelled           bigint      NOT NULL, -- outcome client_cancelled
    unpriced            bigint      NOT NULL, -- model had no price
    input_tokens        bigint      NOT NULL,
    output_tokens       bigint      NOT NULL,
    total_tokens        bigint      NOT NULL,
    cached_input_tokens bigint      NOT NULL,
    cache_write_tokens  bigint      NOT NULL,
    reasoning_tokens    bigint      NOT NULL,
    cost_nano_usd       bigint      NOT NULL,
    latency_sum_ms      bigint      NOT NULL,
    latency_min_ms      bigint      NOT NULL,
    latency_max_ms      bigint      NOT NULL,
    ttft_count          bigint      NOT NULL, -- traces that measured a time to first token
    ttft_sum_us         bigint      NOT NULL,
    ttft_min_us         bigint      NOT NULL,
    ttft_max_us         bigint      NOT NULL,
    org_id              text COLLATE "C" NOT NULL,
    workspace_id        text COLLATE "C" NOT NULL,
    provider            text COLLATE "C" NOT NULL,
    model               text COLLATE "C" NOT NULL,
    gateway_key_id      text COLLATE "C" NOT NULL,
    api_key_hash        text COLLATE "C" NOT NULL,
    status_class        text COLLATE "C" NOT NULL, -- '2xx' … '5xx', 'other'
    latency_hist        text        NOT NULL, -- milliseconds
    ttft_hist           text        NOT NULL, -- microseconds
    -- The rollup key. Hour first: queries without a tenant (auth off) and
    -- retention (expire hours before X) are ranges on it.
    PRIMARY KEY (hour, org_id, workspace_id, provider, model,
                 gateway_key_id, api_key_hash, status_class)
)
-- Every rollup job rewrites the current hour's rows (read, merge, write),
-- so the few live rows of the hour leave dead versions behind at the rate
-- batches commit. Vacuum after a fixed number of them rather than a fifth
-- of a table that holds months of cold rows, or index probes of the hot
-- rows wade through thousands of dead versions between vacuums.
WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

-- Every tenant-scoped analytics query: equality on the tenant, then the
-- hour range. Without it a tenant's 30 days would be read out of every
-- tenant's rows for those hours.
CREATE INDEX trace_rollups_tenant_hour_idx
    ON trace_rollups (org_id, workspace_id, hour);

-- The daily tier: the same sums and histograms per UTC day × org ×
-- workspace × provider × model × gateway key × provider key hash, without
-- the status class (the sums already count 4xx and 5xx apart). A 30-day
-- question reads one row per day and cell here, plus hourly rows only for
-- the partial days at its edges, instead of 720 hours of hourly rows: at
-- ten million traces a month that is about 20 times fewer rows to add up.
-- Queries grouped by status class or bucketed by hour read hourly rows only.
--
-- ApplyRollupsTx writes both tiers in one transaction (under the same
-- advisory lock), folding each hourly row into its day, so the tiers agree
-- exactly at every commit. Rows are keyed and laid out as in trace_rollups.
CREATE TABLE trace_rollups_daily (
    day                 timestamptz NOT NULL, -- UTC midnight starting the day the traces started in
    last_active_at      timestamptz NOT NULL,
    requests            bigint      NOT NULL,
    client_errors       bigint      NOT NULL,
    server_errors       bigint      NOT NULL,
    cancelled           bigint      NOT NULL,
    unpriced            bigint      NOT NULL,
    input_tokens        bigint      NOT NULL,
    output_tokens       bigint      NOT NULL,
    total_tokens        bigint      NOT NULL,
    cached_input_tokens bigint      NOT NULL,
    cache_write_tokens  bigint      NOT NULL,
    reasoning_tokens    bigint      NOT NULL,
    cost_nano_usd       bigint      NOT NULL,
    latency_sum_ms      bigint      NOT NULL,
    latency_min_ms      bigint      NOT NULL,
    latency_max_ms      bigint      NOT NULL,
    ttft_count          bigint      NOT NULL,
    ttft_sum_us         bigint      NOT NULL,
    ttft_min_us         bigint      NOT NULL,
    ttft_max_us         bigint      NOT NULL,
    org_id              text COLLATE "C" NOT NULL,
    workspace_id        text COLLATE "C" NOT NULL,
    provider            text COLLATE "C" NOT NULL,
    model               text COLLATE "C" NOT NULL,
    gateway_key_id      text COLLATE "C" NOT NULL,
    api_key_hash        text COLLATE "C" NOT NULL,
    latency_hist        text        NOT NULL,
    ttft_hist           text        NOT NULL,
    PRIMARY KEY (day, org_id, workspace_id, provider, model,
                 gateway_key_id, api_key_hash)
)
-- The current day's rows are rewritten by every rollup job, far more often
-- than any hour's: free space on each page lets the new versions stay on
-- their page (HOT updates, no new index entries, pruned in place), and
-- vacuum runs after a fixed number of dead versions. The table is small
-- (days × cells), so the space costs little.
WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000);

CREATE INDEX trace_rollups_daily_tenant_day_idx
    ON trace_rollups_daily (org_id, workspace_id, day);

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
-- (DeleteRollupBatches).
CREATE TABLE rollup_batches (
    applied_at timestamptz NOT NULL,
    id         text COLLATE "C" NOT NULL PRIMARY KEY
);

-- Pruning walks the ledger oldest first.
CREATE INDEX rollup_batches_applied_at_idx ON rollup_batches (applied_at);
