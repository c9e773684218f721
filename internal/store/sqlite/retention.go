package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.Retention = (*Store)(nil)

// PurgeBodies blanks the bodies of up to limit traces started before
// before; see store.Retention.
//
// Each method here is one statement on the writer, so it waits its turn
// behind trace batches and they behind it, for as long as limit rows take.
// Freed pages go to SQLite's free list and are reused by later writes; the
// file does not shrink, which needs a VACUUM that would lock it for as long
// as rewriting it takes.
func (s *Store) PurgeBodies(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: purge bodies: %w", err)
	}
	n, err := litedb.New(s.writer).PurgeTraceBodies(ctx, litedb.PurgeTraceBodiesParams{
		Before: micros(traceconv.CeilMicro(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge bodies: %w", err)
	}
	return n, nil
}

// DeleteTraces deletes up to limit traces started before before; see
// store.Retention.
func (s *Store) DeleteTraces(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: delete traces: %w", err)
	}
	n, err := litedb.New(s.writer).DeleteTraces(ctx, litedb.DeleteTracesParams{
		Before: micros(traceconv.CeilMicro(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete traces: %w", err)
	}
	return n, nil
}

// DeleteRollups deletes up to limit rollup rows for hours before before;
// see store.Retention.
func (s *Store) DeleteRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: delete rollups: %w", err)
	}
	n, err := litedb.New(s.writer).DeleteRollups(ctx, litedb.DeleteRollupsParams{
		Before: micros(traceconv.CeilMicro(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete rollups: %w", err)
	}
	return n, nil
}

// DeleteDailyRollups deletes up to limit daily rollup rows for days before
// before's UTC day; see store.Retention.
func (s *Store) DeleteDailyRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: delete daily rollups: %w", err)
	}
	n, err := litedb.New(s.writer).DeleteDailyRollups(ctx, litedb.DeleteDailyRollupsParams{
		Before: micros(store.UTCDay(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete daily rollups: %w", err)
	}
	return n, nil
}

// DeleteRollupBatches deletes up to limit applied-batch ledger entries
// recorded before before; see store.Retention.
func (s *Store) DeleteRollupBatches(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: delete rollup batches: %w", err)
	}
	n, err := litedb.New(s.writer).DeleteRollupBatches(ctx, litedb.DeleteRollupBatchesParams{
		Before: micros(traceconv.CeilMicro(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete rollup batches: %w", err)
	}
	return n, nil
}

// checkLimit rejects a batch size that would change nothing (or, negative,
// everything: SQLite reads LIMIT -1 as no limit).
func checkLimit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("batch limit %d: must be at least 1", limit)
	}
	return nil
}

// DeleteAudit deletes up to limit audit events older than before, oldest
// first.
func (s *Store) DeleteAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	if err := checkLimit(limit); err != nil {
		return 0, fmt.Errorf("sqlite: delete audit: %w", err)
	}
	n, err := litedb.New(s.writer).DeleteAudit(ctx, litedb.DeleteAuditParams{
		Before: micros(traceconv.CeilMicro(before)), RowLimit: int64(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete audit: %w", err)
	}
	return n, nil
}
