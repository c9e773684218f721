-- One row per proxied call (internal/trace.Record). This table takes every
-- write the gateway makes, so the row is kept narrow and the indexes few:
-- each index below costs one more B-tree insert and WAL record per trace.
--
-- Layout choices:
--   * Fixed-width columns come first, widest first, so Postgres pads nothing
--     between them; text columns follow.
--   * Absent strings, headers, bodies and metadata are stored as '' rather
--     than NULL: an empty text costs 1 byte, while a single NULL adds a null
--     bitmap that grows the 24-byte row header to 32.
--   * Headers and metadata are JSON kept as text, byte for byte as recorded
--     (jsonb would reorder keys); cast to jsonb to query them.
--   * Ids compare byte-wise (COLLATE "C"): cheaper than a locale and the same
--     order SQLite uses, so keyset pages agree across engines.
--   * estimated_cost_usd is not stored: it is cost_nano_usd / 1e9.
--     total_tokens is stored: providers disagree on what it adds up (cache
--     and reasoning tokens), so it cannot be rebuilt from the other columns.
--
-- The table is partitioned by start time so that retention can drop whole
-- partitions instead of deleting rows. For now everything lands in the
-- DEFAULT partition; a maintenance job is meant to create time partitions
-- ahead of need. (Attaching a range partition scans DEFAULT for rows in that
-- range, so partitions must be created before their time arrives, while
-- DEFAULT holds none of it.)
CREATE TABLE traces (
    started_at            timestamptz NOT NULL,
    created_at            timestamptz NOT NULL,
    input_tokens          bigint      NOT NULL,
    output_tokens         bigint      NOT NULL,
    total_tokens          bigint      NOT NULL,
    cached_input_tokens   bigint      NOT NULL,
    cache_write_tokens    bigint      NOT NULL,
    reasoning_tokens      bigint      NOT NULL,
    latency_ms            bigint      NOT NULL,
    time_to_first_token_ms bigint     NOT NULL,
    time_to_first_token_us bigint     NOT NULL,
    stream_events         bigint      NOT NULL,
    cost_nano_usd         bigint      NOT NULL,
    response_status       smallint    NOT NULL,
    tokens_estimated      boolean     NOT NULL,
    streaming             boolean     NOT NULL,
    priced                boolean     NOT NULL,
    id                    text COLLATE "C" NOT NULL,
    org_id                text COLLATE "C" NOT NULL,
    workspace_id          text COLLATE "C" NOT NULL,
    gateway_key_id        text        NOT NULL,
    provider              text        NOT NULL,
    model                 text        NOT NULL,
    request_model         text        NOT NULL,
    request_method        text        NOT NULL,
    request_path          text        NOT NULL,
    outcome               text        NOT NULL,
    api_key_hash          text        NOT NULL,
    api_key_last4         text        NOT NULL,
    pricing_version       text        NOT NULL,
    request_headers       text        NOT NULL,
    response_headers      text        NOT NULL,
    request_body          text        NOT NULL,
    response_body         text        NOT NULL,
    metadata              text        NOT NULL,
    -- Uniqueness is what makes a retried batch harmless (inserts skip ids
    -- already present). A unique key on a partitioned table must contain the
    -- partition column, hence (started_at, id): a retry carries the same
    -- start time. Read backwards, it also serves newest-first listing when no
    -- tenant is given (auth off) and plain time-range scans, and it is
    -- append-mostly because start times only grow.
    PRIMARY KEY (started_at, id)
) PARTITION BY RANGE (started_at);

CREATE TABLE traces_default PARTITION OF traces DEFAULT;

-- The console's main read: one tenant's traces, newest first, paged by
-- (started_at, id). Equality on the tenant, then a backward walk in time, so
-- a page costs the same on day one and day 900. The id tie-break is left
-- out: traces rarely share a microsecond, so sorting those few ties on read
-- (an incremental sort) is cheaper than carrying a 36-byte id in every entry.
-- Ascending, like every index here: Postgres walks it backwards just as
-- fast, and declaring DESC would gain nothing.
CREATE INDEX traces_tenant_time_idx
    ON traces (org_id, workspace_id, started_at);

-- GetTrace looks a trace up by id alone (the id is all the API has). A hash
-- index answers equality only, which is all this needs, and stores a 4-byte
-- hash instead of the id, about a third the size of a B-tree on text ids.
--
-- No index on provider, model, status or API key hash: those filters ride
-- along the tenant or time walk above (bounded by the page size and the
-- from/to range), and aggregate questions go to rollups, not to this table.
-- Each such index would add write cost to every trace to speed up a rare
-- query.
CREATE INDEX traces_id_idx ON traces USING hash (id);
