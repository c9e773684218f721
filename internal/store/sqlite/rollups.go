package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/batchwrite"
	"github.com/ongoingai/gateway/internal/store/internal/rolluptier"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

// ApplyRollupsTx adds rows (any order, keys may repeat) to trace_rollups,
// and folded into their days to trace_rollups_daily, inside tx, which must
// come from DB(): a key not stored yet is inserted, a stored one gets the
// sums added, minima and maxima widened, last_active_at advanced and the
// histograms merged. The rollup job calls it in the transaction that also
// completes the job, so a batch is counted once or not at all, in both
// tiers alike. On error, roll tx back.
//
// Histograms are text, so each row is read, merged in Go and written back.
// That needs no lock of its own here: every write goes through the store's
// single writer connection, and the transaction holds SQLite's write lock
// from its start (BEGIN IMMEDIATE), so no other applier, in this process or
// another, can interleave. (Postgres has to take an advisory lock for the
// same guarantee.)
//
// batchID names the batch (the rollup job's RollupArgs.BatchID) in the
// applied-batch ledger, rollup_batches, in the same transaction: a batch
// whose id is there already was applied before, by an earlier run of the
// same job, and then nothing is added and applied is false. So a batch is
// counted at most once however often its job runs. batchID must not be
// empty.
func (s *Store) ApplyRollupsTx(ctx context.Context, tx *sql.Tx, batchID string, rows []rollup.Row) (applied bool, err error) {
	return batchwrite.ApplyRollups("sqlite", batchID, func() (int64, error) {
		return litedb.New(tx).RecordRollupBatch(ctx, litedb.RecordRollupBatchParams{ID: batchID, AppliedAt: micros(time.Now())})
	}, func() error { return s.applyRollups(ctx, tx, rows) })
}

// applyRollups merges rows into both tiers inside tx.
func (s *Store) applyRollups(ctx context.Context, tx *sql.Tx, rows []rollup.Row) error {
	rows, err := rollup.Canonical(rows, traceconv.Text)
	if err != nil {
		return fmt.Errorf("sqlite: apply rollups: %w", err)
	}
	stmts := &preparedTx{Tx: tx}
	defer stmts.close()
	q := litedb.New(stmts)
	for _, row := range rows {
		k := &row.Key
		stored, err := q.GetRollup(ctx, litedb.GetRollupParams{
			Hour:         micros(k.Hour),
			OrgID:        k.OrgID,
			WorkspaceID:  k.WorkspaceID,
			Provider:     k.Provider,
			Model:        k.Model,
			GatewayKeyID: k.GatewayKeyID,
			ApiKeyHash:   k.APIKeyHash,
			StatusClass:  k.StatusClass,
		})
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("sqlite: apply rollups: read: %w", err)
		default:
			old, err := rowFromStored(&stored)
			if err != nil {
				return fmt.Errorf("sqlite: apply rollups: %w", err)
			}
			old.Merge(row) // old was parsed above, so it owns its histograms
			row = old
		}
		if err := q.UpsertRollup(ctx, upsertParams(&row)); err != nil {
			return fmt.Errorf("sqlite: apply rollups: write: %w", err)
		}
	}
	daily, err := rolluptier.Daily(rows)
	if err != nil {
		return fmt.Errorf("sqlite: apply rollups: %w", err)
	}
	for _, row := range daily {
		k := &row.Key
		stored, err := q.GetDailyRollup(ctx, litedb.GetDailyRollupParams{
			Day:          micros(k.Hour),
			OrgID:        k.OrgID,
			WorkspaceID:  k.WorkspaceID,
			Provider:     k.Provider,
			Model:        k.Model,
			GatewayKeyID: k.GatewayKeyID,
			ApiKeyHash:   k.APIKeyHash,
		})
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("sqlite: apply daily rollups: read: %w", err)
		default:
			old, err := rowFromStored(dailyAsHourly(&stored))
			if err != nil {
				return fmt.Errorf("sqlite: apply daily rollups: %w", err)
			}
			old.Merge(row)
			row = old
		}
		p := upsertParams(&row)
		if err := q.UpsertDailyRollup(ctx, litedb.UpsertDailyRollupParams{
			Day: p.Hour, OrgID: p.OrgID, WorkspaceID: p.WorkspaceID, Provider: p.Provider, Model: p.Model,
			GatewayKeyID: p.GatewayKeyID, ApiKeyHash: p.ApiKeyHash,
			Requests: p.Requests, ClientErrors: p.ClientErrors, ServerErrors: p.ServerErrors,
			Cancelled: p.Cancelled, Unpriced: p.Unpriced,
			InputTokens: p.InputTokens, OutputTokens: p.OutputTokens, TotalTokens: p.TotalTokens,
			CachedInputTokens: p.CachedInputTokens, CacheWriteTokens: p.CacheWriteTokens,
			ReasoningTokens: p.ReasoningTokens, CostNanoUsd: p.CostNanoUsd,
			LatencySumMs: p.LatencySumMs, LatencyMinMs: p.LatencyMinMs, LatencyMaxMs: p.LatencyMaxMs,
			TtftCount: p.TtftCount, TtftSumUs: p.TtftSumUs, TtftMinUs: p.TtftMinUs, TtftMaxUs: p.TtftMaxUs,
			LastActiveAt: p.LastActiveAt, LatencyHist: p.LatencyHist, TtftHist: p.TtftHist,
		}); err != nil {
			return fmt.Errorf("sqlite: apply daily rollups: write: %w", err)
		}
	}
	return nil
}

// dailyAsHourly reads a stored daily row as an hourly one whose hour is the
// day and whose status class is "", the key rolluptier.Daily gives it.
func dailyAsHourly(d *litedb.TraceRollupsDaily) *litedb.TraceRollup {
	return &litedb.TraceRollup{
		Hour: d.Day, OrgID: d.OrgID, WorkspaceID: d.WorkspaceID, Provider: d.Provider, Model: d.Model,
		GatewayKeyID: d.GatewayKeyID, ApiKeyHash: d.ApiKeyHash,
		Requests: d.Requests, ClientErrors: d.ClientErrors, ServerErrors: d.ServerErrors,
		Cancelled: d.Cancelled, Unpriced: d.Unpriced,
		InputTokens: d.InputTokens, OutputTokens: d.OutputTokens, TotalTokens: d.TotalTokens,
		CachedInputTokens: d.CachedInputTokens, CacheWriteTokens: d.CacheWriteTokens,
		ReasoningTokens: d.ReasoningTokens, CostNanoUsd: d.CostNanoUsd,
		LatencySumMs: d.LatencySumMs, LatencyMinMs: d.LatencyMinMs, LatencyMaxMs: d.LatencyMaxMs,
		TtftCount: d.TtftCount, TtftSumUs: d.TtftSumUs, TtftMinUs: d.TtftMinUs, TtftMaxUs: d.TtftMaxUs,
		LastActiveAt: d.LastActiveAt, LatencyHist: d.LatencyHist, TtftHist: d.TtftHist,
	}
}

// AggregateRollups sums the rollups matching q per (bucket, group).
func (s *Store) AggregateRollups(ctx context.Context, q store.RollupQuery) ([]rollup.Totals, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	daysFrom, daysTo := rolluptier.Days(q)
	rows, err := s.aggregateRows(ctx, litedb.AggregateRollupsParams{
		Bucket:      string(q.Bucket),
		GroupBy:     string(q.GroupBy),
		FromTime:    micros(q.From),
		DaysFrom:    micros(daysFrom),
		DaysTo:      micros(daysTo),
		ToTime:      micros(q.To),
		OrgID:       traceconv.OptString(q.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(q.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(q.Provider),
		Model:       traceconv.OptString(q.Model),
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: aggregate rollups: %w", err)
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
				LastActiveAt:      fromMicros(r.LastActiveAt),
			},
		}
		if q.Bucket != store.BucketNone { // otherwise the query's constant
			out[i].BucketStart = fromMicros(r.BucketStart)
		}
	}
	return out, nil
}

// aggregateRows runs AggregateWorkspaceRollups when arg names one workspace,
// since only that query can seek the tenant indexes, and AggregateRollups
// otherwise.
func (s *Store) aggregateRows(ctx context.Context, arg litedb.AggregateRollupsParams) ([]litedb.AggregateRollupsRow, error) {
	q := litedb.New(s.reader)
	if arg.OrgID == nil || arg.WorkspaceID == nil {
		return q.AggregateRollups(ctx, arg)
	}
	wsRows, err := q.AggregateWorkspaceRollups(ctx, litedb.AggregateWorkspaceRollupsParams{
		Bucket:      arg.Bucket,
		GroupBy:     arg.GroupBy,
		OrgID:       *arg.OrgID,
		WorkspaceID: *arg.WorkspaceID,
		FromTime:    arg.FromTime,
		DaysFrom:    arg.DaysFrom,
		DaysTo:      arg.DaysTo,
		ToTime:      arg.ToTime,
		Provider:    arg.Provider,
		Model:       arg.Model,
	})
	rows := make([]litedb.AggregateRollupsRow, len(wsRows))
	for i := range wsRows {
		rows[i] = litedb.AggregateRollupsRow(wsRows[i]) // same columns, same shape
	}
	return rows, err
}

// RollupHistograms merges the histograms of the rollups matching q per
// group.
func (s *Store) RollupHistograms(ctx context.Context, q store.RollupQuery) ([]rollup.GroupHistograms, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	daysFrom, daysTo := rolluptier.Days(q)
	rows, err := s.histogramRows(ctx, litedb.RollupHistogramsParams{
		GroupBy:     string(q.GroupBy),
		FromTime:    micros(q.From),
		DaysFrom:    micros(daysFrom),
		DaysTo:      micros(daysTo),
		ToTime:      micros(q.To),
		OrgID:       traceconv.OptString(q.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(q.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(q.Provider),
		Model:       traceconv.OptString(q.Model),
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: rollup histograms: %w", err)
	}
	out, err := rolluptier.GroupHistograms(len(rows), func(i int) (string, string, string) {
		return rows[i].GroupKey, rows[i].LatencyHist, rows[i].TtftHist
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: rollup histograms: %w", err)
	}
	return out, nil
}

// histogramRows picks the workspace query when it can, as aggregateRows
// does.
func (s *Store) histogramRows(ctx context.Context, arg litedb.RollupHistogramsParams) ([]litedb.RollupHistogramsRow, error) {
	q := litedb.New(s.reader)
	if arg.OrgID == nil || arg.WorkspaceID == nil {
		return q.RollupHistograms(ctx, arg)
	}
	wsRows, err := q.WorkspaceRollupHistograms(ctx, litedb.WorkspaceRollupHistogramsParams{
		GroupBy:     arg.GroupBy,
		OrgID:       *arg.OrgID,
		WorkspaceID: *arg.WorkspaceID,
		FromTime:    arg.FromTime,
		DaysFrom:    arg.DaysFrom,
		DaysTo:      arg.DaysTo,
		ToTime:      arg.ToTime,
		Provider:    arg.Provider,
		Model:       arg.Model,
	})
	rows := make([]litedb.RollupHistogramsRow, len(wsRows))
	for i := range wsRows {
		rows[i] = litedb.RollupHistogramsRow(wsRows[i])
	}
	return rows, err
}

// rowFromStored maps a stored row back to the model.
func rowFromStored(r *litedb.TraceRollup) (rollup.Row, error) {
	return rolluptier.Stored(
		rollup.Key{
			Hour:         fromMicros(r.Hour),
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
			LastActiveAt:      fromMicros(r.LastActiveAt),
		},
		r.LatencyHist, r.TtftHist,
	)
}

// upsertParams maps a merged row to UpsertRollup's arguments.
func upsertParams(row *rollup.Row) litedb.UpsertRollupParams {
	k, s := &row.Key, &row.Sums
	return litedb.UpsertRollupParams{
		Hour:              micros(k.Hour),
		OrgID:             k.OrgID,
		WorkspaceID:       k.WorkspaceID,
		Provider:          k.Provider,
		Model:             k.Model,
		GatewayKeyID:      k.GatewayKeyID,
		ApiKeyHash:        k.APIKeyHash,
		StatusClass:       k.StatusClass,
		Requests:          s.Requests,
		ClientErrors:      s.ClientErrors,
		ServerErrors:      s.ServerErrors,
		Cancelled:         s.Cancelled,
		Unpriced:          s.Unpriced,
		InputTokens:       s.InputTokens,
		OutputTokens:      s.OutputTokens,
		TotalTokens:       s.TotalTokens,
		CachedInputTokens: s.CachedInputTokens,
		CacheWriteTokens:  s.CacheWriteTokens,
		ReasoningTokens:   s.ReasoningTokens,
		CostNanoUsd:       s.CostNanoUSD,
		LatencySumMs:      s.LatencySumMS,
		LatencyMinMs:      s.LatencyMinMS,
		LatencyMaxMs:      s.LatencyMaxMS,
		TtftCount:         s.TTFTCount,
		TtftSumUs:         s.TTFTSumUS,
		TtftMinUs:         s.TTFTMinUS,
		TtftMaxUs:         s.TTFTMaxUS,
		LastActiveAt:      micros(s.LastActiveAt),
		LatencyHist:       row.Latency.String(),
		TtftHist:          row.TTFT.String(),
	}
}
