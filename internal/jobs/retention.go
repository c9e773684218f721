package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
)

// RetentionInterval is how often retention runs (and once at start).
// Retention is counted in days, so an hour's lag is noise, while running
// often keeps each run's backlog, and so its write load, small.
const RetentionInterval = time.Hour

// PartitionDaysAhead is how many days past today have their trace partition
// created in advance (Postgres). A partition must exist before its first
// trace arrives, or that trace lands in DEFAULT and the day can no longer be
// partitioned; three days of margin ride out a job that fails for a while.
const PartitionDaysAhead = 3

// DefaultRetentionBatch is how many rows one retention statement changes
// when Options.RetentionBatch is unset: large enough that a million expired
// rows take a thousand short statements, small enough that each holds
// SQLite's single writer for only milliseconds, between trace batches.
const DefaultRetentionBatch = 1000

// RetentionArgs is the retention job. It carries nothing: each run removes
// what is due at the time it runs.
type RetentionArgs struct{}

// Kind names the job in River's tables.
func (RetentionArgs) Kind() string { return "retention" }

// retentionWorker enforces config.Retention. A class kept for zero days or
// fewer is kept forever: the config never says so (validation requires at
// least a day), but it is what a runner started without Retention set gets,
// and "delete everything" would be the wrong reading of an unset value.
type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	store      store.Retention
	partitions store.TracePartitions // nil when traces are not partitioned
	days       config.Retention
	batch      int
	logger     *slog.Logger
}

func newRetentionWorker(st store.Retention, days config.Retention, batch int, logger *slog.Logger) *retentionWorker {
	w := &retentionWorker{store: st, days: days, batch: batch, logger: logger}
	if w.batch < 1 {
		w.batch = DefaultRetentionBatch
	}
	w.partitions, _ = st.(store.TracePartitions)
	return w
}

// RollupLedgerRetention is how long the applied-batch ledger keeps a
// rollup batch's id. It must outlast every way River could still run the
// batch's job: retries (about a week at most, rollupMaxAttempts), a
// discarded job River keeps for a week and an operator may retry. A month
// is past all of them.
const RollupLedgerRetention = 30 * 24 * time.Hour

// retentionTimeout lets a run work through a large backlog (the first run
// after retention was shortened, say) for a few minutes instead of River's
// default minute, yet ends it before RescueStuckJobsAfter, so River never
// takes a run still going for stalled and starts a second. Every batch
// commits on its own, so a run cut short has still removed what it got to;
// it then fails, and River's retries (seconds apart at first) carry on.
const retentionTimeout = RescueStuckJobsAfter - time.Minute

// Timeout is retentionTimeout.
func (w *retentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration {
	return retentionTimeout
}

// Work removes what has expired: traces first (whole day partitions where
// there are some), then the bodies of what is left, then rollups (hourly,
// then daily), then old entries of the rollups' applied-batch ledger; on
// Postgres it also creates the coming days' partitions. A failed step does
// not stop the others; the run then fails, and River retries it.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	now := time.Now().UTC()
	var (
		errs []error
		log  []any
	)
	if w.partitions != nil {
		created, err := w.partitions.EnsureTracePartitions(ctx, now, now.AddDate(0, 0, PartitionDaysAhead))
		errs = append(errs, err)
		log = append(log, "partitions_created", created)
	}
	if w.days.TracesDays > 0 {
		cutoff := now.AddDate(0, 0, -w.days.TracesDays)
		if w.partitions != nil {
			// Whole days only: were the cutoff to move hour by hour, each
			// hour's rows would be DELETEd just before their partition
			// could be dropped, and every partition would be dropped
			// empty. So traces live up to a day longer than traces_days.
			cutoff = store.UTCDay(cutoff)
			dropped, err := w.partitions.DropTracePartitions(ctx, cutoff)
			errs = append(errs, err)
			log = append(log, "partitions_dropped", dropped)
		}
		n, err := w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
			return w.store.DeleteTraces(ctx, cutoff, limit)
		})
		errs = append(errs, err)
		log = append(log, "traces_deleted", n)
	}
	if w.days.BodiesDays > 0 {
		cutoff := now.AddDate(0, 0, -w.days.BodiesDays)
		n, err := w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
			return w.store.PurgeBodies(ctx, cutoff, limit)
		})
		errs = append(errs, err)
		log = append(log, "bodies_purged", n)
	}
	if w.days.RollupsDays > 0 {
		// Whole UTC days, for both tiers: a daily row can only go once
		// its whole day has expired, so hourly rows go by the same day
		// boundary, and a question about any day still kept reads the
		// same sums from either tier. Rollups thus live up to a day longer
		// than rollups_days.
		cutoff := store.UTCDay(now.AddDate(0, 0, -w.days.RollupsDays))
		n, err := w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
			return w.store.DeleteRollups(ctx, cutoff, limit)
		})
		errs = append(errs, err)
		log = append(log, "rollups_deleted", n)
		n, err = w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
			return w.store.DeleteDailyRollups(ctx, cutoff, limit)
		})
		errs = append(errs, err)
		log = append(log, "daily_rollups_deleted", n)
	}
	if w.days.AuditDays > 0 {
		cutoff := now.AddDate(0, 0, -w.days.AuditDays)
		n, err := w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
			return w.store.DeleteAudit(ctx, cutoff, limit)
		})
		errs = append(errs, err)
		log = append(log, "audit_deleted", n)
	}
	// The ledger is pruned whatever the rollups' retention: it grows by a
	// row per batch.
	ledgerCutoff := now.Add(-RollupLedgerRetention)
	pruned, err := w.drain(ctx, func(ctx context.Context, limit int) (int64, error) {
		return w.store.DeleteRollupBatches(ctx, ledgerCutoff, limit)
	})
	errs = append(errs, err)
	log = append(log, "rollup_batches_deleted", pruned)
	err = errors.Join(errs...)
	if err != nil {
		log = append(log, "err", err)
	}
	w.logger.InfoContext(ctx, "retention", log...)
	return err // River retries with backoff
}

// drain calls step until it changes fewer than a batch of rows, and returns
// the total. Each call is its own short statement, so no transaction spans
// the run.
func (w *retentionWorker) drain(ctx context.Context, step func(ctx context.Context, limit int) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := step(ctx, w.batch)
		total += n
		if err != nil || n < int64(w.batch) {
			return total, err
		}
	}
}

// retentionJob schedules the worker hourly, and at start so that a gateway
// that was down catches up at once instead of an hour later.
func retentionJob() *river.PeriodicJob {
	return river.NewPeriodicJob(
		river.PeriodicInterval(RetentionInterval),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{ID: "retention", RunOnStart: true},
	)
}
