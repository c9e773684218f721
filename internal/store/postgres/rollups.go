package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/batchwrite"
	"github.com/ongoingai/gateway/internal/store/internal/rolluptier"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

// rollupLockKey is the advisory lock ApplyRollupsTx holds for the rest of
// its transaction: "ongoroll" read as ASCII, distinct from the migration
// runner's and the test template's keys.
const rollupLockKey int64 = 0x6f6e676f726f6c6c

// ApplyRollupsTx adds rows (any order, keys may repeat) to trace_rollups,
// and folded into their days to trace_rollups_daily, inside tx: a key not
// stored yet is inserted, a stored one gets the sums added, minima and
// maxima widened, last_active_at advanced and the histograms merged. The
// rollup job calls it in the transaction that also completes the job, so a
// batch is counted once or not at all, in both tiers alike. On error, roll
// tx back.
//
// Histograms are text, so applying is read, merge in Go, write back, and two
// transactions doing that to one key at once would lose one's update: row
// locks cannot help when the key is not stored yet (both read "absent",
// both insert, and the second's ON CONFLICT overwrites the first's sums).
// So the first thing done is to take a transaction-scoped advisory lock on
// one fixed key, which makes appliers on every connection and every replica
// take turns. Applying a batch's rows is two statements and short, so the
// turns are cheap, and readers are never blocked.
//
// batchID names the batch (the rollup job's RollupArgs.BatchID) in the
// applied-batch ledger, rollup_batches, in the same transaction: a batch
// whose id is there already was applied before, by an earlier run of the
// same job, and then nothing is added and applied is false. So a batch is
// counted at most once however often its job runs. batchID must not be
// empty.
func (s *Store) ApplyRollupsTx(ctx context.Context, tx pgx.Tx, batchID string, rows []rollup.Row) (applied bool, err error) {
	q := pgdb.New(tx)
	if err := q.LockRollups(ctx, rollupLockKey); err != nil {
		return false, fmt.Errorf("postgres: apply rollups: lock: %w", err)
	}
	return batchwrite.ApplyRollups("postgres", batchID, func() (int64, error) {
		return q.RecordRollupBatch(ctx, pgdb.RecordRollupBatchParams{ID: batchID, AppliedAt: time.Now().UTC()})
	}, func() error { return s.applyRollups(ctx, q, rows) })
}

// applyRollups merges rows into both tiers through q, which must be in a
// transaction that holds the advisory lock (see ApplyRollupsTx).
func (s *Store) applyRollups(ctx context.Context, q *pgdb.Queries, rows []rollup.Row) error {
	if len(rows) == 0 {
		return nil
	}
	rows, err := rollup.Canonical(rows, traceconv.Text)
	if err != nil {
		return fmt.Errorf("postgres: apply rollups: %w", err)
	}
	if err := applyHourly(ctx, q, rows); err != nil {
		return err
	}
	daily, err := rolluptier.Daily(rows)
	if err != nil {
		return fmt.Errorf("postgres: apply rollups: %w", err)
	}
	return applyDaily(ctx, q, daily)
}

// applyHourly merges canonical rows into trace_rollups.
func applyHourly(ctx context.Context, q *pgdb.Queries, rows []rollup.Row) error {
	var keys pgdb.GetRollupsParams
	for i := range rows {
		k := &rows[i].Key
		keys.Hour = append(keys.Hour, k.Hour)
		keys.OrgID = append(keys.OrgID, k.OrgID)
		keys.WorkspaceID = append(keys.WorkspaceID, k.WorkspaceID)
		keys.Provider = append(keys.Provider, k.Provider)
		keys.Model = append(keys.Model, k.Model)
		keys.GatewayKeyID = append(keys.GatewayKeyID, k.GatewayKeyID)
		keys.ApiKeyHash = append(keys.ApiKeyHash, k.APIKeyHash)
		keys.StatusClass = append(keys.StatusClass, k.StatusClass)
	}
	stored, err := q.GetRollups(ctx, keys)
	if err != nil {
		return fmt.Errorf("postgres: apply rollups: read: %w", err)
	}
	byKey := make(map[rollup.Key]rollup.Row, len(stored))
	for i := range stored {
		row, err := rowFromStored(&stored[i])
		if err != nil {
			return fmt.Errorf("postgres: apply rollups: %w", err)
		}
		byKey[row.Key] = row
	}
	var up pgdb.UpsertRollupsParams
	for _, row := range rows {
		if old, ok := byKey[row.Key]; ok {
			old.Merge(row) // old was parsed above, so it owns its histograms
			row = old
		}
		appendUpsert(&up, &row)
	}
	if err := q.UpsertRollups(ctx, up); err != nil {
		return fmt.Errorf("postgres: apply rollups: write: %w", err)
	}
	return nil
}

// applyDaily merges daily rows (rolluptier.Daily) into trace_rollups_daily,
// as applyHourly does for hours.
func applyDaily(ctx context.Context, q *pgdb.Queries, rows []rollup.Row) error {
	var keys pgdb.GetDailyRollupsParams
	for i := range rows {
		k := &rows[i].Key
		keys.Day = append(keys.Day, k.Hour)
		keys.OrgID = append(keys.OrgID, k.OrgID)
		keys.WorkspaceID = append(keys.WorkspaceID, k.WorkspaceID)
		keys.Provider = append(keys.Provider, k.Provider)
		keys.Model = append(keys.Model, k.Model)
		keys.GatewayKeyID = append(keys.GatewayKeyID, k.GatewayKeyID)
		keys.ApiKeyHash = append(keys.ApiKeyHash, k.APIKeyHash)
	}
	stored, err := q.GetDailyRollups(ctx, keys)
	if err != nil {
		return fmt.Errorf("postgres: apply daily rollups: read: %w", err)
	}
	byKey := make(map[rollup.Key]rollup.Row, len(stored))
	for i := range stored {
		row, err := rowFromStored(dailyAsHourly(&stored[i]))
		if err != nil {
			return fmt.Errorf("postgres: apply daily rollups: %w", err)
		}
		byKey[row.Key] = row
	}
	var up pgdb.UpsertRollupsParams
	for _, row := range rows {
		if old, ok := byKey[row.Key]; ok {
			old.Merge(row)
			row = old
		}
		appendUpsert(&up, &row)
	}
	if err := q.UpsertDailyRollups(ctx, pgdb.UpsertDailyRollupsParams{
		Day: up.Hour, LastActiveAt: up.LastActiveAt,
		Requests: up.Requests, ClientErrors: up.ClientErrors, ServerErrors: up.ServerErrors,
		Cancelled: up.Cancelled, Unpriced: up.Unpriced,
		InputTokens: up.InputTokens, OutputTokens: up.OutputTokens, TotalTokens: up.TotalTokens,
		CachedInputTokens: up.CachedInputTokens, CacheWriteTokens: up.CacheWriteTokens,
		ReasoningTokens: up.ReasoningTokens, CostNanoUsd: up.CostNanoUsd,
		LatencySumMs: up.LatencySumMs, LatencyMinMs: up.LatencyMinMs, LatencyMaxMs: up.LatencyMaxMs,
		TtftCount: up.TtftCount, TtftSumUs: up.TtftSumUs, TtftMinUs: up.TtftMinUs, TtftMaxUs: up.TtftMaxUs,
		OrgID: up.OrgID, WorkspaceID: up.WorkspaceID, Provider: up.Provider, Model: up.Model,
		GatewayKeyID: up.GatewayKeyID, ApiKeyHash: up.ApiKeyHash,
		LatencyHist: up.LatencyHist, TtftHist: up.TtftHist,
	}); err != nil {
		return fmt.Errorf("postgres: apply daily rollups: write: %w", err)
	}
	return nil
}

// dailyAsHourly reads a stored daily row as an hourly one whose hour is the
// day and whose status class is "", the key rolluptier.Daily gives it.
func dailyAsHourly(d *pgdb.TraceRollupsDaily) *pgdb.TraceRollup {
	return &pgdb.TraceRollup{
		Hour: d.Day, LastActiveAt: d.LastActiveAt,
		Requests: d.Requests, ClientErrors: d.ClientErrors, ServerErrors: d.ServerErrors,
		Cancelled: d.Cancelled, Unpriced: d.Unpriced,
		InputTokens: d.InputTokens, OutputTokens: d.OutputTokens, TotalTokens: d.TotalTokens,
		CachedInputTokens: d.CachedInputTokens, CacheWriteTokens: d.CacheWriteTokens,
		ReasoningTokens: d.ReasoningTokens, CostNanoUsd: d.CostNanoUsd,
		LatencySumMs: d.LatencySumMs, LatencyMinMs: d.LatencyMinMs, LatencyMaxMs: d.LatencyMaxMs,
		TtftCount: d.TtftCount, TtftSumUs: d.TtftSumUs, TtftMinUs: d.TtftMinUs, TtftMaxUs: d.TtftMaxUs,
		OrgID: d.OrgID, WorkspaceID: d.WorkspaceID, Provider: d.Provider, Model: d.Model,
		GatewayKeyID: d.GatewayKeyID, ApiKeyHash: d.ApiKeyHash,
		LatencyHist: d.LatencyHist, TtftHist: d.TtftHist,
	}
}

// AggregateRollups sums the rollups matching q per (bucket, group).
func (s *Store) AggregateRollups(ctx context.Context, q store.RollupQuery) ([]rollup.Totals, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// planEachCall: the group and bucket CASEs, the optional filters and an
	// empty tier's range fold away only in a plan made for this call's
	// arguments.
	daysFrom, daysTo := rolluptier.Days(q)
	rows, err := pgdb.New(planEachCall{s.pool}).AggregateRollups(ctx, pgdb.AggregateRollupsParams{
		Bucket:      string(q.Bucket),
		GroupBy:     string(q.GroupBy),
		FromTime:    q.From,
		DaysFrom:    daysFrom,
		DaysTo:      daysTo,
		ToTime:      q.To,
		OrgID:       traceconv.OptString(q.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(q.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(q.Provider),
		Model:       traceconv.OptString(q.Model),
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: aggregate rollups: %w", err)
	}
	out := make([]rollup.Totals, len(rows))
	for i := range rows {
		r := &rows[i]
		out[i] = rollup.Totals{
			Group: r.GroupKey,
			Sums: rollup.Sums{
				Requests:          r.Requests,
				ClientErrors:      r.ClientErrors,
				ServerErrors:      r.ServerErrors,
				Cancelled:         r.Cancelled,
				Unpriced:          r.Unpriced,
				InputTokens:       r.InputTokens,
				OutputTokens:      r.OutputTokens,
				TotalTokens:       r.TotalTokens,
				CachedInputTokens: r.CachedInputTokens,
				CacheWriteTokens:  r.CacheWriteTokens,
				ReasoningTokens:   r.ReasoningTokens,
				CostNanoUSD:       r.CostNanoUsd,
				LatencySumMS:      r.LatencySumMs,
				LatencyMinMS:      r.LatencyMinMs,
				LatencyMaxMS:      r.LatencyMaxMs,
				TTFTCount:         r.TtftCount,
				TTFTSumUS:         r.TtftSumUs,
				TTFTMinUS:         r.TtftMinUs,
				TTFTMaxUS:         r.TtftMaxUs,
				LastActiveAt:      r.LastActiveAt.UTC(),
			},
		}
		if q.Bucket != store.BucketNone { // otherwise the query's constant
			out[i].BucketStart = r.BucketStart.UTC()
		}
	}
	return out, nil
}

// RollupHistograms merges the histograms of the rollups matching q per
// group.
func (s *Store) RollupHistograms(ctx context.Context, q store.RollupQuery) ([]rollup.GroupHistograms, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	daysFrom, daysTo := rolluptier.Days(q)
	rows, err := pgdb.New(planEachCall{s.pool}).RollupHistograms(ctx, pgdb.RollupHistogramsParams{
		GroupBy:     string(q.GroupBy),
		FromTime:    q.From,
		DaysFrom:    daysFrom,
		DaysTo:      daysTo,
		ToTime:      q.To,
		OrgID:       traceconv.OptString(q.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(q.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(q.Provider),
		Model:       traceconv.OptString(q.Model),
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: rollup histograms: %w", err)
	}
	out, err := rolluptier.GroupHistograms(len(rows), func(i int) (string, string, string) {
		return rows[i].GroupKey, rows[i].LatencyHist, rows[i].TtftHist
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: rollup histograms: %w", err)
	}
	return out, nil
}

// rowFromStored maps a stored row back to the model. pgx hands times back in
// the process's local zone; keys carry UTC.
func rowFromStored(r *pgdb.TraceRollup) (rollup.Row, error) {
	return rolluptier.Stored(
		rollup.Key{
			Hour:         time.Unix(r.Hour.Unix(), 0).UTC(), // as rollup.Canonical has it
			OrgID:        r.OrgID,
			WorkspaceID:  r.WorkspaceID,
			Provider:     r.Provider,
			Model:        r.Model,
			GatewayKeyID: r.GatewayKeyID,
			APIKeyHash:   r.ApiKeyHash,
			StatusClass:  r.StatusClass,
		},
		rollup.Sums{
			Requests:          r.Requests,
			ClientErrors:      r.ClientErrors,
			ServerErrors:      r.ServerErrors,
			Cancelled:         r.Cancelled,
			Unpriced:          r.Unpriced,
			InputTokens:       r.InputTokens,
			OutputTokens:      r.OutputTokens,
			TotalTokens:       r.TotalTokens,
			CachedInputTokens: r.CachedInputTokens,
			CacheWriteTokens:  r.CacheWriteTokens,
			ReasoningTokens:   r.ReasoningTokens,
			CostNanoUSD:       r.CostNanoUsd,
			LatencySumMS:      r.LatencySumMs,
			LatencyMinMS:      r.LatencyMinMs,
			LatencyMaxMS:      r.LatencyMaxMs,
			TTFTCount:         r.TtftCount,
			TTFTSumUS:         r.TtftSumUs,
			TTFTMinUS:         r.TtftMinUs,
			TTFTMaxUS:         r.TtftMaxUs,
			LastActiveAt:      r.LastActiveAt.UTC(),
		},
		r.LatencyHist, r.TtftHist,
	)
}

// appendUpsert adds row to the column arrays of UpsertRollups.
func appendUpsert(p *pgdb.UpsertRollupsParams, row *rollup.Row) {
	k, s := &row.Key, &row.Sums
	p.Hour = append(p.Hour, k.Hour)
	p.OrgID = append(p.OrgID, k.OrgID)
	p.WorkspaceID = append(p.WorkspaceID, k.WorkspaceID)
	p.Provider = append(p.Provider, k.Provider)
	p.Model = append(p.Model, k.Model)
	p.GatewayKeyID = append(p.GatewayKeyID, k.GatewayKeyID)
	p.ApiKeyHash = append(p.ApiKeyHash, k.APIKeyHash)
	p.StatusClass = append(p.StatusClass, k.StatusClass)
	p.LastActiveAt = append(p.LastActiveAt, s.LastActiveAt)
	p.Requests = append(p.Requests, s.Requests)
	p.ClientErrors = append(p.ClientErrors, s.ClientErrors)
	p.ServerErrors = append(p.ServerErrors, s.ServerErrors)
	p.Cancelled = append(p.Cancelled, s.Cancelled)
	p.Unpriced = append(p.Unpriced, s.Unpriced)
	p.InputTokens = append(p.InputTokens, s.InputTokens)
	p.OutputTokens = append(p.OutputTokens, s.OutputTokens)
	p.TotalTokens = append(p.TotalTokens, s.TotalTokens)
	p.CachedInputTokens = append(p.CachedInputTokens, s.CachedInputTokens)
	p.CacheWriteTokens = append(p.CacheWriteTokens, s.CacheWriteTokens)
	p.ReasoningTokens = append(p.ReasoningTokens, s.ReasoningTokens)
	p.CostNanoUsd = append(p.CostNanoUsd, s.CostNanoUSD)
	p.LatencySumMs = append(p.LatencySumMs, s.LatencySumMS)
	p.LatencyMinMs = append(p.LatencyMinMs, s.LatencyMinMS)
	p.LatencyMaxMs = append(p.LatencyMaxMs, s.LatencyMaxMS)
	p.TtftCount = append(p.TtftCount, s.TTFTCount)
	p.TtftSumUs = append(p.TtftSumUs, s.TTFTSumUS)
	p.TtftMinUs = append(p.TtftMinUs, s.TTFTMinUS)
	p.TtftMaxUs = append(p.TtftMaxUs, s.TTFTMaxUS)
	p.LatencyHist = append(p.LatencyHist, row.Latency.String())
	p.TtftHist = append(p.TtftHist, row.TTFT.String())
}
