package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.Limits = (*Store)(nil)

// SaveLimitCounters implements store.Limits in one transaction.
func (s *Store) SaveLimitCounters(ctx context.Context, batch []store.LimitCounter) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: save limit counters: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmts := &preparedTx{Tx: tx}
	defer stmts.close()
	q := litedb.New(stmts)
	for _, c := range batch {
		if err := q.SaveLimitCounter(ctx, litedb.SaveLimitCounterParams{
			Replica: c.Replica, Subject: c.Subject, Period: c.Period, PeriodEnd: micros(c.PeriodEnd),
			Requests: c.Requests, Tokens: c.Tokens, NanoUsd: c.NanoUSD, UpdatedAt: micros(c.UpdatedAt),
		}); err != nil {
			return fmt.Errorf("sqlite: save limit counters: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: save limit counters: %w", err)
	}
	return nil
}

// LimitCounters implements store.Limits.
func (s *Store) LimitCounters(ctx context.Context, endingAfter time.Time) ([]store.LimitCounter, error) {
	rows, err := litedb.New(s.reader).ListLimitCounters(ctx, micros(endingAfter))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list limit counters: %w", err)
	}
	out := make([]store.LimitCounter, len(rows))
	for i, r := range rows {
		out[i] = store.LimitCounter{
			Replica: r.Replica, Subject: r.Subject, Period: r.Period, PeriodEnd: fromMicros(r.PeriodEnd),
			Requests: r.Requests, Tokens: r.Tokens, NanoUSD: r.NanoUsd, UpdatedAt: fromMicros(r.UpdatedAt),
		}
	}
	return out, nil
}

// DeleteLimitCounters implements store.Limits.
func (s *Store) DeleteLimitCounters(ctx context.Context, endedBefore, minutesEndedBefore time.Time) (int64, error) {
	n, err := litedb.New(s.writer).DeleteLimitCounters(ctx, litedb.DeleteLimitCountersParams{EndedBefore: micros(endedBefore), MinutesEndedBefore: micros(minutesEndedBefore)})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete limit counters: %w", err)
	}
	return n, nil
}

// PutLimitOverride implements store.Limits.
func (s *Store) PutLimitOverride(ctx context.Context, o store.LimitOverride) error {
	q := litedb.New(s.writer)
	var err error
	if o.Empty() {
		err = q.DeleteLimitOverride(ctx, o.Subject)
	} else {
		err = q.PutLimitOverride(ctx, litedb.PutLimitOverrideParams{
			Subject: o.Subject, RequestsPerMinute: o.RequestsPerMinute, TokensPerMinute: o.TokensPerMinute,
			TokensPerDay: o.TokensPerDay, NanoUsdPerDay: o.NanoUSDPerDay, NanoUsdPerMonth: o.NanoUSDPerMonth,
			UpdatedAt: micros(o.UpdatedAt), UpdatedBy: o.UpdatedBy,
		})
	}
	if err != nil {
		return fmt.Errorf("sqlite: put limit override: %w", err)
	}
	return nil
}

// LimitOverrides implements store.Limits.
func (s *Store) LimitOverrides(ctx context.Context) ([]store.LimitOverride, error) {
	rows, err := litedb.New(s.reader).ListLimitOverrides(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list limit overrides: %w", err)
	}
	out := make([]store.LimitOverride, len(rows))
	for i, r := range rows {
		out[i] = store.LimitOverride{
			Subject: r.Subject, RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute,
			TokensPerDay: r.TokensPerDay, NanoUSDPerDay: r.NanoUsdPerDay, NanoUSDPerMonth: r.NanoUsdPerMonth,
			UpdatedAt: fromMicros(r.UpdatedAt), UpdatedBy: r.UpdatedBy,
		}
	}
	return out, nil
}
