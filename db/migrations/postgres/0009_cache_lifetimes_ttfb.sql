-- Accounting detail the first schema did not keep:
--   * cache_write_1h_tokens: the part of cache_write_tokens written with
--     Anthropic's 1-hour lifetime, which costs 2x base input where the
--     5-minute lifetime costs 1.25x; 0 on every older row and every call
--     that reports no split.
--   * time_to_first_byte_ms: when the response's first byte arrived.
--     time_to_first_token_ms now waits for the first generated content, so
--     the two differ on streams that open with an empty event.
-- Both default to 0, so adding them rewrites no existing row.
ALTER TABLE traces
    ADD COLUMN cache_write_1h_tokens bigint NOT NULL DEFAULT 0,
    ADD COLUMN time_to_first_byte_ms bigint NOT NULL DEFAULT 0;
