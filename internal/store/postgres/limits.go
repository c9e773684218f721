package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

var _ store.Limits = (*Store)(nil)

// SaveLimitCounters implements store.Limits in one statement.
func (s *Store) SaveLimitCounters(ctx context.Context, batch []store.LimitCounter) error {
	if len(batch) == 0 {
		return nil
	}
	arg := pgdb.SaveLimitCountersParams{Replica: batch[0].Replica, UpdatedAt: batch[0].UpdatedAt}
	for _, c := range batch {
		if c.Replica != arg.Replica {
			return fmt.Errorf("postgres: save limit counters: one replica per batch")
		}
		arg.Subjects = append(arg.Subjects, c.Subject)
		arg.Periods = append(arg.Periods, c.Period)
		arg.PeriodEnds = append(arg.PeriodEnds, c.PeriodEnd)
		arg.Requests = append(arg.Requests, c.Requests)
		arg.Tokens = append(arg.Tokens, c.Tokens)
		arg.NanoUsds = append(arg.NanoUsds, c.NanoUSD)
	}
	if err := pgdb.New(s.pool).SaveLimitCounters(ctx, arg); err != nil {
		return fmt.Errorf("postgres: save limit counters: %w", err)
	}
	return nil
}

// LimitCounters implements store.Limits.
func (s *Store) LimitCounters(ctx context.Context, endingAfter time.Time) ([]store.LimitCounter, error) {
	rows, err := pgdb.New(s.pool).ListLimitCounters(ctx, endingAfter)
	if err != nil {
		return nil, fmt.Errorf("postgres: list limit counters: %w", err)
	}
	out := make([]store.LimitCounter, len(rows))
	for i, r := range rows {
		out[i] = store.LimitCounter{
			Replica: r.Replica, Subject: r.Subject, Period: r.Period, PeriodEnd: r.PeriodEnd.UTC(),
			Requests: r.Requests, Tokens: r.Tokens, NanoUSD: r.NanoUsd, UpdatedAt: r.UpdatedAt.UTC(),
		}
	}
	return out, nil
}

// DeleteLimitCounters implements store.Limits.
func (s *Store) DeleteLimitCounters(ctx context.Context, endedBefore, minutesEndedBefore time.Time) (int64, error) {
	n, err := pgdb.New(s.pool).DeleteLimitCounters(ctx, pgdb.DeleteLimitCountersParams{EndedBefore: endedBefore, MinutesEndedBefore: minutesEndedBefore})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete limit counters: %w", err)
	}
	return n, nil
}

// PutLimitOverride implements store.Limits.
func (s *Store) PutLimitOverride(ctx context.Context, o store.LimitOverride) error {
	q := pgdb.New(s.pool)
	var err error
	if o.Empty() {
		err = q.DeleteLimitOverride(ctx, o.Subject)
	} else {
		err = q.PutLimitOverride(ctx, pgdb.PutLimitOverrideParams{
			Subject: o.Subject, RequestsPerMinute: o.RequestsPerMinute, TokensPerMinute: o.TokensPerMinute,
			TokensPerDay: o.TokensPerDay, NanoUsdPerDay: o.NanoUSDPerDay, NanoUsdPerMonth: o.NanoUSDPerMonth,
			UpdatedAt: o.UpdatedAt, UpdatedBy: o.UpdatedBy,
		})
	}
	if err != nil {
		return fmt.Errorf("postgres: put limit override: %w", err)
	}
	return nil
}

// LimitOverrides implements store.Limits.
func (s *Store) LimitOverrides(ctx context.Context) ([]store.LimitOverride, error) {
	rows, err := pgdb.New(s.pool).ListLimitOverrides(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: list limit overrides: %w", err)
	}
	out := make([]store.LimitOverride, len(rows))
	for i, r := range rows {
		out[i] = store.LimitOverride{
			Subject: r.Subject, RequestsPerMinute: r.RequestsPerMinute, TokensPerMinute: r.TokensPerMinute,
			TokensPerDay: r.TokensPerDay, NanoUSDPerDay: r.NanoUsdPerDay, NanoUSDPerMonth: r.NanoUsdPerMonth,
			UpdatedAt: r.UpdatedAt.UTC(), UpdatedBy: r.UpdatedBy,
		}
	}
	return out, nil
}
