package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

// Exactly-once rollups, in two transactions:
//
//  1. The trace sink commits a batch of traces and, in the same
//     transaction, a rollup_batch job carrying the rows folded from the
//     traces that were new. Either both land or neither does; a retried
//     batch inserts no new traces and so enqueues nothing.
//  2. The job's worker adds those rows to the rollup tables and marks
//     itself completed in one transaction (JobCompleteTx), so a crash
//     anywhere before that commit leaves the job to run again and a crash
//     after it leaves nothing to redo.
//
// Completing the job does not stop it from being applied twice: River can
// run a job again after it completed (an operator's JobRetry, CatchUpRollups
// retrying a job a live gateway completes meanwhile) or run it twice at
// once (rescuing a run it took for stalled), and JobCompleteTx on a job
// that is already completed succeeds. So each batch carries an id, made
// when it is enqueued, and the store enters it in an applied-batch ledger
// in the same transaction as the rows (ApplyRollupsTx): a run that finds
// its id there adds nothing and just completes the job. Retention prunes
// the ledger long after River could still run the job (retention.go).
//
// A process that dies between the two simply leaves the job queued, for
// whichever replica's runner starts next.

// RollupQueue is the River queue rollup jobs run on, apart from the
// periodic jobs so that neither waits behind the other.
const RollupQueue = "rollups"

// rollupWorkers is how many rollup jobs one runner works at once. Applying
// is serialized anyway (an advisory lock on Postgres, the single writer
// connection on SQLite), so more would only wait, each holding a
// connection.
const rollupWorkers = 1

// rollupFetchCooldown is the least time between two fetches of the rollup
// queue. With one worker, River fetches one job per fetch, so the
// cooldown caps the rate: River's default (100 ms) would allow ten batches
// a second, fewer than a busy writer flushes (up to twenty), and rollups
// would fall ever further behind. 5 ms allows two hundred.
const rollupFetchCooldown = 5 * time.Millisecond

// RollupArgs is the job that folds one committed trace batch into the
// hourly rollups. It carries the batch already folded, which is all the
// worker needs: it never reads the traces back, and rows are far fewer and
// smaller than the traces they sum.
type RollupArgs struct {
	// BatchID names the batch in the applied-batch ledger: a UUID made
	// when the batch is enqueued.
	BatchID string       `json:"batch_id"`
	Rows    []rollup.Row `json:"rows"`
}

// Kind names the job in River's tables.
func (RollupArgs) Kind() string { return "rollup_batch" }

// rollupMaxAttempts is how many times a rollup job is tried before River
// discards it, and so its batch never reaches the rollups though its traces
// are stored. With retries at most rollupMaxRetryDelay apart that is about
// a week of failures (a database outage, a full disk), far longer than any
// outage should last: a batch is not to be lost to one. (Each failed
// attempt adds an entry to the job's errors, so a job failing that long
// grows; it is the lesser harm.)
const rollupMaxAttempts = 10000

// rollupMaxRetryDelay caps the wait between two attempts of a rollup job:
// River's default backoff (attempt⁴ seconds) would soon leave batches
// unapplied for hours after the database is back.
const rollupMaxRetryDelay = time.Minute

// InsertOpts puts rollup jobs on their own queue, with attempts enough to
// outlast an outage (rollupMaxAttempts).
func (RollupArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: RollupQueue, MaxAttempts: rollupMaxAttempts}
}

// rollupStore is what rollups need from a store, in its transaction type
// TTx: transactions, and the trace and rollup writes that join them.
type rollupStore[TTx any] interface {
	InTx(ctx context.Context, fn func(tx TTx) error) error
	InsertTracesTx(ctx context.Context, tx TTx, batch []trace.Record) ([]trace.Record, error)
	ApplyRollupsTx(ctx context.Context, tx TTx, batchID string, rows []rollup.Row) (applied bool, err error)
}

// addRollups registers the rollup worker and its queue in cfg.
func addRollups[TTx any](cfg *river.Config, rs rollupStore[TTx], logger *slog.Logger) {
	river.AddWorker(cfg.Workers, &rollupWorker[TTx]{store: rs, logger: logger})
	if cfg.Queues == nil {
		cfg.Queues = map[string]river.QueueConfig{}
	}
	cfg.Queues[RollupQueue] = river.QueueConfig{MaxWorkers: rollupWorkers, FetchCooldown: rollupFetchCooldown}
	if cfg.CompletedJobRetentionPeriod == 0 {
		cfg.CompletedJobRetentionPeriod = completedJobRetention
	}
}

// completedJobRetention is how long River keeps a completed job. Its
// default, a day, would keep every batch's rows (a job per flush, up to
// twenty a second) long after they were applied; nothing reads them then.
const completedJobRetention = 10 * time.Minute

// rollupWorker applies a batch's rows.
type rollupWorker[TTx any] struct {
	river.WorkerDefaults[RollupArgs]
	store  rollupStore[TTx]
	logger *slog.Logger
}

// NextRetry waits River's usual attempt⁴ seconds before the next attempt,
// but never more than rollupMaxRetryDelay.
func (w *rollupWorker[TTx]) NextRetry(job *river.Job[RollupArgs]) time.Time {
	return time.Now().Add(rollupRetryDelay(job.Attempt))
}

func rollupRetryDelay(attempt int) time.Duration {
	if attempt >= 8 { // 8⁴ s is over an hour already; and no overflow
		return rollupMaxRetryDelay
	}
	a := time.Duration(max(attempt, 1))
	return min(a*a*a*a*time.Second, rollupMaxRetryDelay)
}

func (w *rollupWorker[TTx]) Work(ctx context.Context, job *river.Job[RollupArgs]) error {
	var applied bool
	err := w.store.InTx(ctx, func(tx TTx) error {
		// Completing the job does not keep a second run of it from
		// applying the batch again: JobCompleteTx succeeds on a job that
		// is already completed. The ledger does (ApplyRollupsTx): a
		// second run, or one concurrent with this, finds the batch's id
		// recorded and adds nothing.
		// JobCompleteTx wants River's driver type only as a constraint; the
		// interface itself satisfies it.
		if _, err := river.JobCompleteTx[riverdriver.Driver[TTx]](ctx, tx, job); err != nil {
			return err
		}
		var err error
		applied, err = w.store.ApplyRollupsTx(ctx, tx, job.Args.BatchID, job.Args.Rows)
		return err
	})
	if errors.Is(err, rivertype.ErrNotFound) {
		// The job's row is gone: completed (and applied) long enough ago
		// for River to have deleted it.
		w.logger.InfoContext(ctx, "rollup job no longer exists", "job_id", job.ID)
		return nil
	}
	if err == nil && !applied {
		w.logger.InfoContext(ctx, "rollup batch already applied; job completed without applying it again",
			"job_id", job.ID, "batch_id", job.Args.BatchID)
	}
	return err // River retries with backoff; nothing of this attempt was kept
}

// traceSink is the trace writer's sink when rollups are on: each batch
// commits together with the job that rolls it up.
type traceSink[TTx any] struct {
	store  rollupStore[TTx]
	client *river.Client[TTx]
	// noRollups stores batches without their rollup job (analytics off).
	noRollups bool
}

// InsertTraces writes batch and enqueues its rollup job in one
// transaction. The writer retries a failed batch; a retry after a commit
// whose acknowledgement was lost inserts nothing and enqueues nothing.
func (s *traceSink[TTx]) InsertTraces(ctx context.Context, batch []trace.Record) error {
	if len(batch) == 0 {
		return nil
	}
	return s.store.InTx(ctx, func(tx TTx) error {
		inserted, err := s.store.InsertTracesTx(ctx, tx, batch)
		if err != nil {
			return err
		}
		if len(inserted) == 0 || s.noRollups {
			return nil
		}
		args := RollupArgs{BatchID: uuid.NewString(), Rows: rollup.Fold(inserted)}
		if _, err := s.client.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("jobs: enqueue rollup: %w", err)
		}
		return nil
	})
}

// TraceSink is where the trace writer should send its batches: into the
// store, each batch with its rollup job, so that every stored trace is
// counted in the rollups exactly once.
func (r *Runner) TraceSink() trace.Sink { return r.sink }

// NewInsertOnlySink returns a sink like Runner.TraceSink whose rollup jobs
// wait for a runner (this process's later, or any replica's) to work them:
// for tools that write traces without running jobs, such as a seed tool.
// It brings River's tables up to date first. Nothing needs stopping.
func NewInsertOnlySink[TTx any](ctx context.Context, st store.TxStore[TTx], logger *slog.Logger) (trace.Sink, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	driver := st.River()
	if err := migrate(ctx, driver, logger); err != nil {
		return nil, err
	}
	// No Queues and no Start: River's insert-only client. No Workers
	// either, so it does not check kinds against workers it will never run.
	client, err := river.NewClient(driver, &river.Config{Logger: riverLogger(logger)})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &traceSink[TTx]{store: st, client: client}, nil
}

// RepriceTraces writes new costs for stored traces (ongoingai pricing
// reprice) and corrects the rollups that count them exactly once, the way
// a trace batch is rolled up: in one transaction the traces are updated
// and a rollup_batch job carrying the correction rows (rollup.Repriced) of
// the updates actually written is enqueued; the job applies them through
// the applied-batch ledger like any batch. A runner (a gateway's, or
// CatchUpRollups) then works the job. It returns the changes written.
func RepriceTraces[TTx any](ctx context.Context, st store.TxStore[TTx], changes []store.Reprice, logger *slog.Logger) ([]store.Reprice, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	driver := st.River()
	if err := migrate(ctx, driver, logger); err != nil {
		return nil, err
	}
	client, err := river.NewClient(driver, &river.Config{Logger: riverLogger(logger)})
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	var written []store.Reprice
	err = st.InTx(ctx, func(tx TTx) error {
		var err error
		if written, err = st.RepriceTracesTx(ctx, tx, changes); err != nil || len(written) == 0 {
			return err
		}
		rows := make([]rollup.Row, len(written))
		for i := range written {
			c := &written[i]
			rows[i] = rollup.Repriced(&c.Trace, c.CostNanoUSD, c.Priced)
		}
		args := RollupArgs{BatchID: uuid.NewString(), Rows: rows}
		if _, err := client.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("jobs: enqueue rollup correction: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}
