package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/sqlite"
)

// hourlyOnly answers AggregateRollups from the hourly rows alone, with the
// stores' queries as they were before the daily tier (one statement over
// trace_rollups per call; on SQLite the one-workspace form seeks the tenant
// index). It is the "before" of the comparison -tier hourly makes, on the
// same data; nothing else uses it.
type hourlyOnly struct {
	pg *postgres.Store
	sq *sqlite.Store
}

var _ store.Rollups = hourlyOnly{}

// The measures and the groups, as both engines spelled them.
const hourlySums = `
    sum(requests), sum(client_errors), sum(server_errors), sum(cancelled), sum(unpriced),
    sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cached_input_tokens),
    sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_nano_usd), sum(latency_sum_ms),
    coalesce(min(CASE WHEN requests > 0 THEN latency_min_ms END), 0), max(latency_max_ms),
    sum(ttft_count), sum(ttft_sum_us), coalesce(min(CASE WHEN ttft_count > 0 THEN ttft_min_us END), 0), max(ttft_max_us)`

const hourlyGroup = `CASE %s
        WHEN 'provider'     THEN provider
        WHEN 'model'        THEN model
        WHEN 'gateway_key'  THEN gateway_key_id
        WHEN 'api_key'      THEN api_key_hash
        WHEN 'workspace'    THEN workspace_id
        WHEN 'status_class' THEN status_class
        ELSE ''
    END`

var hourlyPostgres = `SELECT
    (CASE $1::text
        WHEN 'hour' THEN hour
        WHEN 'day'  THEN date_trunc('day', hour, 'UTC')
        WHEN 'week' THEN date_trunc('week', hour, 'UTC')
        ELSE 'epoch'::timestamptz
    END)::timestamptz,
    (` + fmt.Sprintf(hourlyGroup, "$2::text") + `)::text,` + hourlySums + `, max(last_active_at)::timestamptz
FROM trace_rollups
WHERE hour >= $3 AND hour < $4
  AND ($5::text IS NULL OR org_id = $5)
  AND ($6::text IS NULL OR workspace_id = $6)
  AND ($7::text IS NULL OR provider = $7)
  AND ($8::text IS NULL OR model = $8)
GROUP BY 1, 2
ORDER BY 1, 2`

const hourlySQLiteBucket = `CASE CAST(?1 AS TEXT)
        WHEN 'hour' THEN hour
        WHEN 'day'  THEN hour - ((hour % 86400000000) + 86400000000) % 86400000000
        WHEN 'week' THEN hour - (((hour - 345600000000) % 604800000000) + 604800000000) % 604800000000
        ELSE 0
    END`

var hourlySQLite = `SELECT ` + hourlySQLiteBucket + `, ` + fmt.Sprintf(hourlyGroup, "CAST(?2 AS TEXT)") + `,` + hourlySums + `, max(last_active_at)
FROM trace_rollups
WHERE hour >= ?3 AND hour < ?4
  AND (CAST(?5 AS TEXT) IS NULL OR org_id = ?5)
  AND (CAST(?6 AS TEXT) IS NULL OR workspace_id = ?6)
  AND (CAST(?7 AS TEXT) IS NULL OR provider = ?7)
  AND (CAST(?8 AS TEXT) IS NULL OR model = ?8)
GROUP BY 1, 2
ORDER BY 1, 2`

var hourlySQLiteWorkspace = `SELECT ` + hourlySQLiteBucket + `, ` + fmt.Sprintf(hourlyGroup, "CAST(?2 AS TEXT)") + `,` + hourlySums + `, max(last_active_at)
FROM trace_rollups
WHERE org_id = ?5 AND workspace_id = ?6
  AND hour >= ?3 AND hour < ?4
  AND (CAST(?7 AS TEXT) IS NULL OR provider = ?7)
  AND (CAST(?8 AS TEXT) IS NULL OR model = ?8)
GROUP BY 1, 2
ORDER BY 1, 2`

func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (h hourlyOnly) AggregateRollups(ctx context.Context, q store.RollupQuery) ([]rollup.Totals, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	var out []rollup.Totals
	scanInto := func(scan func(dest ...any) error, bucket *time.Time, lastActive *time.Time, bucketMicros, lastMicros *int64) error {
		var t rollup.Totals
		s := &t.Sums
		dest := []any{nil, &t.Group, &s.Requests, &s.ClientErrors, &s.ServerErrors, &s.Cancelled, &s.Unpriced,
			&s.InputTokens, &s.OutputTokens, &s.TotalTokens, &s.CachedInputTokens, &s.CacheWriteTokens,
			&s.ReasoningTokens, &s.CostNanoUSD, &s.LatencySumMS, &s.LatencyMinMS, &s.LatencyMaxMS,
			&s.TTFTCount, &s.TTFTSumUS, &s.TTFTMinUS, &s.TTFTMaxUS, nil}
		if bucket != nil {
			dest[0], dest[len(dest)-1] = bucket, lastActive
		} else {
			dest[0], dest[len(dest)-1] = bucketMicros, lastMicros
		}
		if err := scan(dest...); err != nil {
			return err
		}
		if bucket != nil {
			t.BucketStart, s.LastActiveAt = bucket.UTC(), lastActive.UTC()
		} else {
			t.BucketStart, s.LastActiveAt = time.UnixMicro(*bucketMicros).UTC(), time.UnixMicro(*lastMicros).UTC()
		}
		if q.Bucket == store.BucketNone {
			t.BucketStart = time.Time{}
		}
		out = append(out, t)
		return nil
	}
	if h.pg != nil {
		// Planned for each call's arguments, as the store does.
		rows, err := h.pg.Pool().Query(ctx, hourlyPostgres, pgx.QueryExecModeExec,
			string(q.Bucket), string(q.GroupBy), q.From, q.To,
			optional(q.Tenant.OrgID), optional(q.Tenant.WorkspaceID), optional(q.Provider), optional(q.Model))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var b, la time.Time
			if err := scanInto(rows.Scan, &b, &la, nil, nil); err != nil {
				return nil, err
			}
		}
		return out, rows.Err()
	}
	query := hourlySQLite
	if q.Tenant.OrgID != "" && q.Tenant.WorkspaceID != "" {
		query = hourlySQLiteWorkspace
	}
	rows, err := h.sq.ReadDB().QueryContext(ctx, query,
		string(q.Bucket), string(q.GroupBy), q.From.UnixMicro(), q.To.UnixMicro(),
		optional(q.Tenant.OrgID), optional(q.Tenant.WorkspaceID), optional(q.Provider), optional(q.Model))
	if err != nil {
		return nil, err
	}
	defer func(rows *sql.Rows) { rows.Close() }(rows)
	for rows.Next() {
		var b, la int64
		if err := scanInto(rows.Scan, nil, nil, &b, &la); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

func (hourlyOnly) RollupHistograms(context.Context, store.RollupQuery) ([]rollup.GroupHistograms, error) {
	return nil, fmt.Errorf("hourly-only comparison answers aggregates only")
}
