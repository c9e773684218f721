package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/bench/internal/sqlconn"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// Every trace batch commits with a rollup_batch River job (internal/jobs
// TraceSink), which the jobs runner's worker folds into the hourly and
// daily rollups afterwards. rollupWatch reads that queue from a connection
// of its own, so the harness can tell whether the rollups keep up with the
// traces: how many jobs wait, and how old the oldest is.

// rollupPendingStates are the states of a job not yet worked.
const rollupPendingStates = "'available', 'running', 'retryable', 'scheduled', 'pending'"

type rollupWatch struct {
	query func(ctx context.Context, q string, dest ...any) error
	list  func(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error)
	close func()
}

// openRollupWatch connects to st's database: a store of its own, opened
// as the gateway opens one, for River's job list, and a connection apart
// (read-only on SQLite) for the counts.
func openRollupWatch(ctx context.Context, st *storage) (*rollupWatch, error) {
	db, err := opener.Open(ctx, config.Storage{Driver: st.driver, DSN: st.dsn, Path: st.path, ConnectTimeout: time.Hour})
	if err != nil {
		return nil, err
	}
	dsn := st.dsn
	if st.driver == "sqlite" {
		dsn = st.path
	}
	conn, err := sqlconn.Open(st.driver, dsn)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &rollupWatch{
		query: func(ctx context.Context, q string, dest ...any) error {
			return conn.QueryRowContext(ctx, q).Scan(dest...)
		},
		list: db.JobList,
		close: func() {
			conn.Close()
			db.Close()
		},
	}, nil
}

// backlog is the rollup queue at one moment.
type backlog struct {
	pending int64         // rollup jobs not yet completed
	age     time.Duration // of the oldest of them; 0 when none
}

func (b backlog) String() string {
	if b.pending == 0 {
		return "0"
	}
	return fmt.Sprintf("%d, oldest %s", b.pending, fmtDur(b.age))
}

// now reads the backlog.
func (w *rollupWatch) now(ctx context.Context) (backlog, error) {
	var b backlog
	if err := w.query(ctx, "SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND state IN ("+rollupPendingStates+")", &b.pending); err != nil {
		return b, fmt.Errorf("count rollup jobs: %w", err)
	}
	if b.pending == 0 {
		return b, nil
	}
	res, err := w.list(ctx, river.NewJobListParams().
		Kinds(jobs.RollupArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStatePending).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).
		First(1))
	if err != nil {
		return b, fmt.Errorf("list rollup jobs: %w", err)
	}
	if len(res.Jobs) > 0 {
		b.age = max(0, time.Since(res.Jobs[0].CreatedAt))
	}
	return b, nil
}

// failed counts rollup jobs that failed at least once or were given up on.
func (w *rollupWatch) failed(ctx context.Context) (int64, error) {
	var n int64
	err := w.query(ctx, "SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND (attempt > 1 OR state IN ('discarded', 'cancelled', 'retryable'))", &n)
	return n, err
}

// counted is how many requests the hourly rollups count in all.
func (w *rollupWatch) counted(ctx context.Context) (int64, error) {
	var n int64
	err := w.query(ctx, "SELECT coalesce(sum(requests), 0) FROM trace_rollups", &n)
	return n, err
}

// drain waits until no rollup job is pending, up to limit, and returns how
// long that took and the backlog it stopped at.
func (w *rollupWatch) drain(ctx context.Context, limit time.Duration) (time.Duration, backlog, error) {
	start := time.Now()
	for {
		b, err := w.now(ctx)
		if err != nil || b.pending == 0 || time.Since(start) > limit {
			return time.Since(start), b, err
		}
		select {
		case <-ctx.Done():
			return time.Since(start), b, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sample reads the backlog every period until stop is called, and keeps
// the largest it saw.
func (w *rollupWatch) sample(ctx context.Context, every time.Duration) (stop func() backlog) {
	var (
		mu       sync.Mutex
		worst    backlog
		done     = make(chan struct{})
		finished = make(chan struct{})
	)
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			b, err := w.now(ctx)
			if err != nil {
				continue
			}
			mu.Lock()
			worst.pending = max(worst.pending, b.pending)
			worst.age = max(worst.age, b.age)
			mu.Unlock()
		}
	}()
	return func() backlog {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return worst
	}
}
