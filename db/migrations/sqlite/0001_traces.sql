-- One row per proxied call (internal/trace.Record). Every write the gateway
-- makes lands here, so the indexes are few; each costs one more B-tree insert
-- per trace on SQLite's single writer.
--
-- Layout choices:
--   * Times are INTEGER unix microseconds (UTC): they sort as numbers, compare
--     cheaply and take at most 8 bytes, where ISO text would take 27.
--   * Absent strings, headers, bodies and metadata are '' (NOT NULL), the same
--     as on Postgres, so both stores map rows identically.
--   * Headers and metadata are JSON kept as text, byte for byte as recorded;
--     SQLite's json functions read them in place.
--   * estimated_cost_usd is not stored: it is cost_nano_usd / 1e9.
--     total_tokens is stored: providers disagree on what it adds up, so it
--     cannot be rebuilt from the other columns.
--   * STRICT makes SQLite reject a value of the wrong type instead of storing
--     it silently.
CREATE TABLE traces (
    id                     TEXT    NOT NULL,
    started_at             INTEGER NOT NULL,
    org_id                 TEXT    NOT NULL,
    workspace_id           TEXT    NOT NULL,
    gateway_key_id         TEXT    NOT NULL,
    provider               TEXT    NOT NULL,
    model                  TEXT    NOT NULL,
    request_model          TEXT    NOT NULL,
    request_method         TEXT    NOT NULL,
    request_path           TEXT    NOT NULL,
    response_status        INTEGER NOT NULL,
    outcome                TEXT    NOT NULL,
    input_tokens           INTEGER NOT NULL,
    output_tokens          INTEGER NOT NULL,
    total_tokens           INTEGER NOT NULL,
    cached_input_tokens    INTEGER NOT NULL,
    cache_write_tokens     INTEGER NOT NULL,
    reasoning_tokens       INTEGER NOT NULL,
    tokens_estimated       INTEGER NOT NULL,
    latency_ms             INTEGER NOT NULL,
    time_to_first_token_ms INTEGER NOT NULL,
    time_to_first_token_us INTEGER NOT NULL,
    streaming              INTEGER NOT NULL,
    stream_events          INTEGER NOT NULL,
    api_key_hash           TEXT    NOT NULL,
    api_key_last4          TEXT    NOT NULL,
    cost_nano_usd          INTEGER NOT NULL,
    priced                 INTEGER NOT NULL,
    pricing_version        TEXT    NOT NULL,
    created_at             INTEGER NOT NULL,
    request_headers        TEXT    NOT NULL,
    response_headers       TEXT    NOT NULL,
    request_body           TEXT    NOT NULL,
    response_body          TEXT    NOT NULL,
    metadata               TEXT    NOT NULL
) STRICT;

-- Ids are unique: this is what makes a retried batch harmless (INSERT OR
-- IGNORE skips ids already present), and it is GetTrace's lookup path.
CREATE UNIQUE INDEX traces_id_idx ON traces (id);

-- The console's main read: one tenant's traces, newest first, paged by
-- (started_at, id). Equality on the tenant, then a backward walk in time. The
-- id tie-break is left out: traces rarely share a microsecond, so sorting
-- those few ties on read is cheaper than an id in every entry.
CREATE INDEX traces_tenant_time_idx ON traces (org_id, workspace_id, started_at);

-- Newest first across all tenants: the listing when auth is off (SQLite's
-- usual deployment) and any query that names no single workspace. Ascending
-- on purpose: start times grow, so new entries append at the right edge,
-- where SQLite fills pages completely; a DESC index would put every insert at
-- the left edge and leave pages half empty. SQLite walks it backwards.
--
-- No index on provider, model, status or API key hash: those filters ride
-- along one of the two walks above, bounded by the page size and the
-- from/to range, and each extra index would tax every insert.
CREATE INDEX traces_time_idx ON traces (started_at, id);
