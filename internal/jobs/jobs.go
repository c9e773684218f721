// Package jobs runs the gateway's background work on River, a job queue that
// keeps its jobs in the gateway's own database: Postgres (through the
// store's pgx pool) or SQLite (through the store's single writer
// connection, the only way to write that file). Replicas sharing a Postgres
// database elect one leader, which alone enqueues periodic jobs, so each
// runs once per period however many replicas there are.
//
// Key expiry runs once a minute, and once at start: it calls
// store.Tenancy.ExpireKeys so that keys past their expiry and grace
// periods that are over stop working even if no request touches them.
//
// Retention runs hourly, and once at start: it deletes traces, bodies and
// rollups past their retention and, on Postgres, keeps day partitions of
// traces created ahead (retention.go).
//
// Rollups run once per trace batch: the runner's TraceSink commits each
// batch with a job that folds it into the hourly rollups (rollups.go).
//
// Options.NoRetention and Options.NoRollups leave retention and the
// rollups out (features.retention and features.analytics off).
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

// ExpireKeysInterval is how often keys are checked for expiry. A minute
// bounds how long an expired key keeps working (auth also checks expiry on
// each request; this job makes the stored status catch up).
const ExpireKeysInterval = time.Minute

// pollInterval is how often River checks for new jobs on a database
// without a listener (SQLite has no LISTEN/NOTIFY), where polling is the
// only signal. Half a second keeps latency low at the cost of a cheap
// indexed query.
const pollInterval = 500 * time.Millisecond

// RescueStuckJobsAfter is how long a job may stay running before River's
// leader takes it for stalled (its runner died) and hands it out again.
// River's default, an hour, would leave the rollup jobs a dead runner held
// unapplied for that long, and the rollups behind by them; applying a batch
// takes milliseconds. No worker here runs longer: retention's Timeout is
// below this, so no run still going is handed out a second time. (Were a
// rollup run rescued while still going, the applied-batch ledger would keep
// its batch from being counted twice.)
const RescueStuckJobsAfter = 5 * time.Minute

// Runner is a started River client. Stop it before closing the store,
// and after the last write through its TraceSink.
type Runner struct {
	stop func(ctx context.Context) error
	sink trace.Sink // see TraceSink (rollups.go)
}

// Options configures the runner. The zero value runs every job with its
// defaults and logs nothing.
type Options struct {
	Logger *slog.Logger
	// Retention is how long traces, their bodies and rollups are kept
	// (retention.go); a class with no days set is kept forever.
	Retention config.Retention
	// RetentionBatch caps the rows one retention statement changes;
	// 0 means DefaultRetentionBatch.
	RetentionBatch int
	// NoRetention leaves the retention job out (features.retention off):
	// nothing is deleted, however old.
	NoRetention bool
	// NoRollups leaves the rollup queue unworked and TraceSink storing
	// batches without a rollup job (features.analytics off). Rollup jobs
	// already queued wait for a runner that works them.
	NoRollups bool
}

// Start brings River's tables up to date (rivermigrate, idempotent and safe
// to run from several replicas) and starts a client that runs the periodic
// jobs, and the rollup jobs that batches written through TraceSink enqueue,
// until Stop is called (ctx bounds the start only). TTx is the store's
// transaction type, which store/opener fixes when it opens the store.
func Start[TTx any](ctx context.Context, st store.TxStore[TTx], opts Options) (*Runner, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "jobs")
	workers := river.NewWorkers()
	river.AddWorker(workers, &expireKeysWorker{keys: st, logger: logger})
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(
			river.PeriodicInterval(ExpireKeysInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ExpireKeysArgs{}, nil },
			// RunOnStart: a gateway that was down for an hour should not
			// wait another minute to catch up.
			&river.PeriodicJobOpts{ID: "expire_keys", RunOnStart: true},
		),
	}
	if !opts.NoRetention {
		river.AddWorker(workers, newRetentionWorker(st, opts.Retention, opts.RetentionBatch, logger))
		periodic = append(periodic, retentionJob())
	}
	cfg := &river.Config{
		Logger:               riverLogger(logger),
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 2}},
		Workers:              workers,
		RescueStuckJobsAfter: RescueStuckJobsAfter,
		PeriodicJobs:         periodic,
	}
	driver := st.River()
	if !driver.SupportsListener() {
		cfg.FetchPollInterval = pollInterval
		cfg.FetchCooldown = min(pollInterval, river.FetchCooldownDefault)
	}
	if !opts.NoRollups {
		addRollups(cfg, st, logger)
	}
	if err := migrate(ctx, driver, logger); err != nil {
		return nil, err
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	// The client runs until Stop, not until ctx ends: a gateway cancels
	// its context at the start of shutdown, and River would then abandon
	// periodic work mid-transaction (and log it as an error) while the
	// writer is still draining traces whose rollup jobs it could work.
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("jobs: start: %w", err)
	}
	return &Runner{stop: client.Stop, sink: &traceSink[TTx]{store: st, client: client, noRollups: opts.NoRollups}}, nil
}

// migrate brings River's tables up to date.
func migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], logger *slog.Logger) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: riverLogger(logger)})
	if err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate river: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish, or for
// ctx to end.
func (r *Runner) Stop(ctx context.Context) error {
	if err := r.stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// ExpireKeysArgs is the key expiry job. It carries nothing: each run
// expires what is due at the time it runs.
type ExpireKeysArgs struct{}

// Kind names the job in River's tables.
func (ExpireKeysArgs) Kind() string { return "expire_keys" }

type expireKeysWorker struct {
	river.WorkerDefaults[ExpireKeysArgs]
	keys   store.Tenancy
	logger *slog.Logger
}

func (w *expireKeysWorker) Work(ctx context.Context, _ *river.Job[ExpireKeysArgs]) error {
	n, err := w.keys.ExpireKeys(ctx, time.Now())
	if err != nil {
		return err // River retries with backoff
	}
	if n > 0 {
		w.logger.InfoContext(ctx, "expired gateway keys", "changed", n)
	}
	return nil
}
