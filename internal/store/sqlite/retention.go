package sqlite

import (
	"context"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/retain"
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
	return retain.Before("sqlite: purge bodies", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).PurgeTraceBodies(ctx, litedb.PurgeTraceBodiesParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}

// DeleteTraces deletes up to limit traces started before before; see
// store.Retention.
func (s *Store) DeleteTraces(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("sqlite: delete traces", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).DeleteTraces(ctx, litedb.DeleteTracesParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}

// DeleteRollups deletes up to limit rollup rows for hours before before;
// see store.Retention.
func (s *Store) DeleteRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("sqlite: delete rollups", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).DeleteRollups(ctx, litedb.DeleteRollupsParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}

// DeleteDailyRollups deletes up to limit daily rollup rows for days before
// before's UTC day; see store.Retention.
func (s *Store) DeleteDailyRollups(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.DaysBefore("sqlite: delete daily rollups", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).DeleteDailyRollups(ctx, litedb.DeleteDailyRollupsParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}

// DeleteRollupBatches deletes up to limit applied-batch ledger entries
// recorded before before; see store.Retention.
func (s *Store) DeleteRollupBatches(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("sqlite: delete rollup batches", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).DeleteRollupBatches(ctx, litedb.DeleteRollupBatchesParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}

// DeleteAudit deletes up to limit audit events older than before, oldest
// first.
func (s *Store) DeleteAudit(ctx context.Context, before time.Time, limit int) (int64, error) {
	return retain.Before("sqlite: delete audit", before, limit, func(cutoff time.Time, n int32) (int64, error) {
		return litedb.New(s.writer).DeleteAudit(ctx, litedb.DeleteAuditParams{Before: micros(cutoff), RowLimit: int64(n)})
	})
}
