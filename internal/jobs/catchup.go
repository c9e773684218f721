package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/internal/store"
)

// Catching up: a tool that reads the rollups while no gateway works their
// jobs (ongoingai report on a stopped gateway's database) would miss every
// batch whose rollup job was committed but not yet run. CatchUpRollups
// works those jobs first, with a River client that runs nothing else: no
// periodic job, no other queue.

// CatchUpResult is what CatchUpRollups did with the rollup jobs that were
// unfinished when it was called.
type CatchUpResult struct {
	// Applied is how many of them this call worked to completion (others
	// may have been completed meanwhile by a gateway's runner).
	Applied int
	// Left is how many were still unfinished when it returned: jobs that
	// failed again after one immediate retry (their batches are missing
	// from the rollups until a later attempt succeeds), jobs another runner
	// took and has not finished within CatchUpStuckAfter (a process that
	// died mid-job: River hands those out again RescueStuckJobsAfter after
	// they started), and, when ctx ended first, those not reached.
	Left int
	// Stuck is how many of Left another runner holds (running there when
	// this call stopped waiting).
	Stuck int
	// LastError is the latest error recorded on one of the jobs left, if
	// any.
	LastError string
	// Discarded counts the rollup jobs River gave up on after their last
	// attempt and still keeps (a week by default), up to listLimit: batches
	// that are in the traces but never reached the rollups.
	Discarded int
}

// CatchUpStuckAfter is how long a rollup job may stay with another runner
// before CatchUpRollups stops waiting for it. Applying one takes
// milliseconds.
const CatchUpStuckAfter = 30 * time.Second

// catchUpPoll is how often CatchUpRollups looks at the queue.
const catchUpPoll = 25 * time.Millisecond

// listLimit bounds the jobs one look at the queue reads (with their rows).
const listLimit = 1000

// CatchUpRollups works the rollup jobs that are unfinished in st's database
// when it is called, and returns once each of them has completed or is
// counted in Left; jobs enqueued meanwhile (a live gateway's) are not
// waited for, so it ends even under traffic. A failed job waiting for a
// retry is retried at once, once. Nothing is started when nothing is
// pending. It brings River's tables up to date first, like Start, and runs
// no other job.
//
// When ctx ends it stops waiting and returns what it did with ctx's error;
// whatever it applied stays applied (each job commits on its own).
func CatchUpRollups[TTx any](ctx context.Context, st store.TxStore[TTx], logger *slog.Logger) (CatchUpResult, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "jobs")
	var res CatchUpResult
	driver := st.River()
	if err := migrate(ctx, driver, logger); err != nil {
		return res, err
	}

	worked := &countWorked{}
	cfg := &river.Config{
		Logger:     riverLogger(logger),
		Workers:    river.NewWorkers(),
		Middleware: []rivertype.Middleware{worked},
		// Work through a backlog as fast as the store applies it; polling
		// is what SQLite has instead of LISTEN/NOTIFY.
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: 50 * time.Millisecond,
		// As a gateway's runner: this client may be elected leader and
		// rescue jobs too.
		RescueStuckJobsAfter: RescueStuckJobsAfter,
	}
	addRollups(cfg, st, logger) // the only queue and worker
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return res, fmt.Errorf("jobs: %w", err)
	}
	c := &catchUpClient[TTx]{client: client, retried: map[int64]bool{}}

	discarded, err := c.list(ctx, listLimit, river.SortOrderAsc, rivertype.JobStateDiscarded)
	if err != nil {
		return res, err
	}
	res.Discarded = len(discarded)
	// The jobs to wait for are the unfinished ones up to the newest now:
	// River's IDs only grow.
	newest, err := c.list(ctx, 1, river.SortOrderDesc, unfinished...)
	if err != nil || len(newest) == 0 {
		return res, err
	}
	c.last = newest[0].ID

	runCtx, cancelRun := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRun()
	if err := client.Start(runCtx); err != nil {
		return res, fmt.Errorf("jobs: start: %w", err)
	}
	// finish stops the client, letting a job it is working complete, and
	// counts what is left.
	finish := func(waitErr error) (CatchUpResult, error) {
		endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		stopErr := client.Stop(endCtx)
		res.Applied = int(worked.n.Load())
		var countErr error
		res.Left, res.Stuck, res.LastError, countErr = c.left(endCtx)
		if waitErr != nil {
			return res, waitErr
		}
		if stopErr != nil {
			return res, fmt.Errorf("jobs: stop: %w", stopErr)
		}
		return res, countErr
	}

	tick := time.NewTicker(catchUpPoll)
	defer tick.Stop()
	for {
		busy, err := c.busy(ctx)
		if ctx.Err() != nil {
			return finish(ctx.Err()) // whatever the driver made of it
		}
		if err != nil || !busy {
			return finish(err)
		}
		select {
		case <-ctx.Done():
			return finish(ctx.Err())
		case <-tick.C:
		}
	}
}

// countWorked counts the jobs a client worked without error.
type countWorked struct {
	river.MiddlewareDefaults
	n atomic.Int64
}

func (m *countWorked) Work(ctx context.Context, _ *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if err == nil {
		m.n.Add(1)
	}
	return err
}

// unfinished are the states of a job that has yet to complete.
var unfinished = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}

// catchUpClient is a River client working the rollup queue alone, and the
// ID of the newest job it has to wait for.
type catchUpClient[TTx any] struct {
	client  *river.Client[TTx]
	last    int64
	retried map[int64]bool // jobs given their one immediate retry
}

func (c *catchUpClient[TTx]) list(ctx context.Context, limit int, order river.SortOrder, states ...rivertype.JobState) ([]*rivertype.JobRow, error) {
	p := river.NewJobListParams().Queues(RollupQueue).States(states...).
		OrderBy(river.JobListOrderByID, order).First(limit)
	r, err := c.client.JobList(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("jobs: list rollup jobs: %w", err)
	}
	return r.Jobs, nil
}

// busy says whether a job up to last can still complete soon: one is
// available, or running here, or running elsewhere for less than
// CatchUpStuckAfter, or waiting for a retry it has not had from this call
// (which it then gets).
func (c *catchUpClient[TTx]) busy(ctx context.Context) (bool, error) {
	avail, err := c.list(ctx, 1, river.SortOrderAsc, rivertype.JobStateAvailable)
	if err != nil {
		return false, err
	}
	if len(avail) > 0 && avail[0].ID <= c.last {
		return true, nil
	}
	running, err := c.list(ctx, listLimit, river.SortOrderAsc, rivertype.JobStateRunning)
	if err != nil {
		return false, err
	}
	for _, j := range running {
		if j.ID > c.last {
			break
		}
		mine := len(j.AttemptedBy) > 0 && j.AttemptedBy[len(j.AttemptedBy)-1] == c.client.ID()
		if mine || j.AttemptedAt == nil || time.Since(*j.AttemptedAt) < CatchUpStuckAfter {
			return true, nil
		}
	}
	waiting, err := c.list(ctx, listLimit, river.SortOrderAsc, rivertype.JobStateRetryable, rivertype.JobStateScheduled)
	if err != nil {
		return false, err
	}
	busy := false
	for _, j := range waiting {
		if j.ID > c.last {
			break
		}
		if !c.retried[j.ID] {
			// Between the listing above and this retry a gateway's
			// runner may have worked and completed the job, and
			// JobRetry makes a completed job available again. River has
			// no retry-only-if-still-waiting, so that race stays; it is
			// harmless: the job's batch is in the applied-batch ledger,
			// so the extra run completes it without adding anything.
			c.retried[j.ID] = true
			if _, err := c.client.JobRetry(ctx, j.ID); err != nil {
				return false, fmt.Errorf("jobs: retry rollup job %d: %w", j.ID, err)
			}
			busy = true
		}
	}
	return busy, nil
}

// left counts the unfinished jobs up to last (at most listLimit), those
// of them running elsewhere (the client has stopped) and finds the latest
// error recorded on them.
func (c *catchUpClient[TTx]) left(ctx context.Context) (n, stuck int, lastErr string, err error) {
	jobs, err := c.list(ctx, listLimit, river.SortOrderAsc, unfinished...)
	if err != nil {
		return 0, 0, "", err
	}
	var at time.Time
	for _, j := range jobs {
		if j.ID > c.last {
			break
		}
		n++
		if j.State == rivertype.JobStateRunning {
			stuck++
		}
		if k := len(j.Errors); k > 0 && j.Errors[k-1].At.After(at) {
			at, lastErr = j.Errors[k-1].At, j.Errors[k-1].Error
		}
	}
	return n, stuck, lastErr, nil
}
