package store

import (
	"context"
	"time"
)

// Retention removes data that has outlived its retention period (the
// retention job in internal/jobs decides the cutoffs). Every method changes
// at most limit rows, in one statement that commits on its own, and returns
// how many it changed: a caller working through a large backlog calls again
// until a call returns less than limit, and never holds a long transaction,
// so trace writes keep flowing in between.
type Retention interface {
	// PurgeBodies blanks the request and response bodies of traces started
	// before before, oldest first. Everything else stays: tokens, cost,
	// timings, headers (credentials are already redacted) and metadata,
	// which is what analytics and audits need long after the bodies, the
	// bulk of a trace's size, are gone. Traces without a body are neither
	// changed nor counted.
	PurgeBodies(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteTraces deletes traces started before before, oldest first.
	DeleteTraces(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteRollups deletes hourly rollup rows whose hour starts before
	// before, oldest first.
	DeleteRollups(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteDailyRollups deletes daily rollup rows for the UTC days that
	// end at or before before (days starting before before's UTC day),
	// oldest first, every tenant's alike. Called with the same whole-day
	// cutoff as DeleteRollups, it leaves both tiers covering the same days.
	DeleteDailyRollups(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteRollupBatches deletes entries of the applied-batch ledger (the
	// ids ApplyRollupsTx records so that no batch is applied twice)
	// recorded before before, oldest first. before must be older than any
	// rollup job River may still run, or that job could be applied again.
	DeleteRollupBatches(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteAudit deletes audit events older than before, oldest first.
	DeleteAudit(ctx context.Context, before time.Time, limit int) (int64, error)
}

// UTCDay returns the start of t's UTC day.
func UTCDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// TracePartitions is implemented by stores whose traces are partitioned by
// time (Postgres: one range partition per UTC day, named traces_pYYYYMMDD,
// beside a DEFAULT partition that catches rows no day partition covers).
// Expiring a whole day is then a DROP TABLE, instantly and without the dead
// rows a DELETE leaves for VACUUM; rows that landed in DEFAULT still go by
// DeleteTraces.
type TracePartitions interface {
	// EnsureTracePartitions creates the partitions for the UTC days from the
	// day holding from through the day holding to, skipping days that
	// already have one and days the DEFAULT partition holds rows for
	// (Postgres refuses such a partition; those rows expire by DeleteTraces
	// instead). It returns the names it created.
	EnsureTracePartitions(ctx context.Context, from, to time.Time) ([]string, error)
	// DropTracePartitions drops the day partitions that end at or before
	// before, so hold only traces started before it, and returns their names.
	// Other partitions, DEFAULT included, are left alone.
	DropTracePartitions(ctx context.Context, before time.Time) ([]string, error)
}
