// Command seed fills a store with N synthetic traces for the analytics scale
// benchmark (bench/cmd/analyticsbench), through the gateway's real write
// path: trace.Writer with the default batching, into the jobs runner's
// TraceSink, which commits each batch together with its rollup_batch River
// job; the runner's worker then folds the batches into the hourly rollups
// exactly as in production.
//
//	go run ./cmd/seed -driver sqlite -dsn /tmp/scale.db -n 1000000 -days 30
//	createdb -h 127.0.0.1 -U postgres ongoingai_scale
//	go run ./cmd/seed -driver postgres -dsn postgres://postgres@127.0.0.1:5432/ongoingai_scale -n 10000000 -days 30
//
// Traces are spread over the last -days days (whole UTC hours, ending at the
// start of the current hour) in time order, with a daily and weekly rhythm
// and the tenant/model/key/status mix described in gen.go. The tool creates
// the orgs, workspaces and gateway keys the traces name, and on Postgres the
// day partitions of the window (as the retention job would have, day by
// day). It reports progress and the achieved traces/s, then waits until no
// rollup_batch job is left to work and reports how far the rollups lagged
// behind the traces, the rollup row count, and whether the rollups add up
// to the traces written.
package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/bench/internal/harness"
	"github.com/ongoingai/gateway/bench/internal/sqlconn"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/trace"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run() error {
	driver := flag.String("driver", "sqlite", "store: sqlite or postgres")
	dsn := flag.String("dsn", "", "Postgres DSN, or the SQLite file path")
	n := flag.Int64("n", 1_000_000, "traces to write")
	days := flag.Int("days", 30, "spread the traces over this many days, ending at the start of the current hour")
	seed := flag.Uint64("seed", 1, "random seed (the same seed and window give the same traffic)")
	progress := flag.Duration("progress", 5*time.Second, "progress report interval")
	verify := flag.Bool("verify", true, "after the rollups drained, check that they count exactly the traces written")
	vacuumEvery := flag.Duration("vacuum-every", 30*time.Second, "Postgres with autovacuum off: VACUUM (ANALYZE) the rollup tables this often")
	flag.Parse()
	if *dsn == "" {
		return errors.New("-dsn is required")
	}
	if *n <= 0 || *days <= 0 {
		return errors.New("-n and -days must be positive")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	storage := config.Storage{Driver: *driver, DSN: *dsn, Path: *dsn, ConnectTimeout: time.Hour}
	if *driver != "postgres" && *driver != "sqlite" {
		return fmt.Errorf("-driver: unknown driver %q", *driver)
	}
	db, err := opener.Open(ctx, storage)
	if err != nil {
		return err
	}
	defer db.Close()
	st := db.Store // the driver's own store: TracePartitions is Postgres's alone
	// The tool's own SQL (the queue's counts, the totals, the stand-in
	// vacuum) runs on a connection apart from the store's.
	conn, err := sqlconn.Open(*driver, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	pg := *driver == "postgres"

	end := time.Now().UTC().Truncate(time.Hour)
	hours := *days * 24
	start := end.Add(-time.Duration(hours) * time.Hour)
	fmt.Printf("seed: %s, %d traces over %s .. %s (%d hours), seed %d, GOMAXPROCS %d, load average %s\n",
		*driver, *n, start.Format(time.RFC3339), end.Format(time.RFC3339), hours, *seed, runtime.GOMAXPROCS(0), harness.LoadAverage())

	gen := newGenerator(*seed, start, hours, *n)
	if err := createTenancy(ctx, st, gen); err != nil {
		return err
	}
	if tp, ok := st.(store.TracePartitions); ok {
		// A gateway that has run for the whole window has had the retention
		// job create each day's partition ahead of time; without them every
		// seeded trace would land in DEFAULT.
		created, err := tp.EnsureTracePartitions(ctx, start, end.AddDate(0, 0, jobs.PartitionDaysAhead))
		if err != nil {
			return err
		}
		fmt.Printf("seed: %d day partitions created\n", len(created))
	}

	mon := &monitor{
		pg: pg,
		query: func(ctx context.Context, q string, dest ...any) error {
			return conn.QueryRowContext(ctx, q).Scan(dest...)
		},
		list: db.JobList,
	}
	// A Postgres server without autovacuum (a test server's setting) would
	// let the dead versions the rollup job leaves behind pile up and leave
	// the planner without statistics: stand in for it.
	stopVacuum := func() {}
	if pg {
		var av string
		if err := conn.QueryRowContext(ctx, "SHOW autovacuum").Scan(&av); err != nil {
			return err
		}
		if av != "on" {
			fmt.Printf("seed: autovacuum is %s on this server: vacuuming and analyzing the rollup tables every %s instead\n", av, *vacuumEvery)
			stopVacuum = standInVacuum(ctx, conn, *vacuumEvery)
		}
	}
	// The real runner: the rollup worker runs while seeding, as in
	// production. No retention (nothing expires), so the seeded window
	// stays whole.
	runner, err := db.StartJobs(ctx, jobs.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer runner.Stop(context.Background())
	tc := config.Default().Tracing
	w := trace.NewWriter(runner.TraceSink(), trace.WriterOptions{
		QueueSize:     tc.QueueSize,
		BatchSize:     tc.BatchSize,
		FlushInterval: tc.FlushInterval,
		Classify:      trace.ClassifierOf(st),
		Logger:        logger,
	})

	// Produce, keeping the writer's queue between a quarter and a half
	// full: the writer always has a full batch waiting and nothing is
	// dropped.
	t0 := time.Now()
	capacity := w.Stats().Capacity
	nextReport := t0.Add(*progress)
	var lastWritten int64
	lastAt := t0
	var maxLag time.Duration
	var maxPending int64
	report := func(now time.Time) error {
		s := w.Stats()
		pending, oldest, err := mon.pending(ctx)
		if err != nil {
			return err
		}
		lag := time.Duration(0)
		if !oldest.IsZero() {
			lag = now.Sub(oldest)
		}
		maxLag, maxPending = max(maxLag, lag), max(maxPending, pending)
		fmt.Printf("  %7s  written %10d (%5.1f%%)  %7.0f/s now  %7.0f/s overall  queue %5d  rollup jobs pending %5d, oldest %s\n",
			now.Sub(t0).Round(time.Second), s.Written, 100*float64(s.Written)/float64(*n),
			float64(s.Written-lastWritten)/now.Sub(lastAt).Seconds(), float64(s.Written)/now.Sub(t0).Seconds(),
			s.Depth, pending, lag.Round(100*time.Millisecond))
		lastWritten, lastAt = s.Written, now
		return nil
	}
	var produced int64
	for ctx.Err() == nil {
		if now := time.Now(); now.After(nextReport) {
			if err := report(now); err != nil {
				return err
			}
			nextReport = now.Add(*progress)
		}
		if w.Stats().Depth > capacity/2 {
			for w.Stats().Depth > capacity/4 && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		done := false
		for range 1024 {
			r := gen.next()
			if r == nil {
				done = true
				break
			}
			if !w.Enqueue(r) {
				return errors.New("the writer dropped a record") // cannot happen with the backpressure above
			}
			produced++
		}
		if done {
			break
		}
	}
	if err := w.Close(context.Background()); err != nil {
		return err
	}
	writeDur := time.Since(t0)
	s := w.Stats()
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted after %d traces", s.Written)
	}
	if s.Written != *n || s.Dropped != 0 || s.Lost != 0 {
		return fmt.Errorf("written %d of %d (dropped %d, lost %d)", s.Written, *n, s.Dropped, s.Lost)
	}
	fmt.Printf("seed: %d traces written in %s: %.0f traces/s (%d write failures retried)\n",
		s.Written, writeDur.Round(100*time.Millisecond), float64(s.Written)/writeDur.Seconds(), s.WriteFailures)

	// Wait for the rollups to catch up.
	drainStart := time.Now()
	for {
		pending, oldest, err := mon.pending(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		if !oldest.IsZero() {
			maxLag = max(maxLag, now.Sub(oldest))
		}
		maxPending = max(maxPending, pending)
		if pending == 0 {
			break
		}
		if now.After(nextReport) {
			fmt.Printf("  %7s  writer drained; rollup jobs pending %5d, oldest %s\n",
				now.Sub(t0).Round(time.Second), pending, now.Sub(oldest).Round(100*time.Millisecond))
			nextReport = now.Add(*progress)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	drain := time.Since(drainStart)
	total := time.Since(t0)
	stopVacuum()
	failed, err := mon.failed(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("seed: rollups drained %s after the last trace was committed (%s after the start); max rollup lag (oldest pending job's age) %s; max jobs pending %d; jobs retried or discarded %d\n",
		drain.Round(100*time.Millisecond), total.Round(100*time.Millisecond), maxLag.Round(100*time.Millisecond), maxPending, failed)

	rows, hoursSeen, err := mon.rollupRows(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("seed: trace_rollups holds %d rows over %d hours (%.0f rows per hour, %.1f traces per row)\n",
		rows, hoursSeen, float64(rows)/float64(max(hoursSeen, 1)), float64(*n)/float64(max(rows, 1)))
	var dailyRows, dailyDays int64
	if err := mon.query(ctx, "SELECT count(*), count(DISTINCT day) FROM trace_rollups_daily", &dailyRows, &dailyDays); err == nil {
		fmt.Printf("seed: trace_rollups_daily holds %d rows over %d days (%.0f rows per day)\n",
			dailyRows, dailyDays, float64(dailyRows)/float64(max(dailyDays, 1)))
	}
	if *verify {
		traces, counted, err := mon.totals(ctx, start, end)
		if err != nil {
			return err
		}
		ok := "exact"
		if traces != counted {
			ok = "MISMATCH"
		}
		fmt.Printf("seed: traces in the window %d, requests counted by the rollups %d: %s\n", traces, counted, ok)
		if traces != counted {
			return errors.New("rollups do not add up to the traces")
		}
	}
	fmt.Printf("seed: done; load average %s\n", harness.LoadAverage())
	return nil
}

// standInVacuum runs VACUUM (ANALYZE) on the rollup tables every interval,
// and ANALYZE on traces at the end, until the returned stop is called
// (which waits for the last run): what autovacuum would have done.
func standInVacuum(ctx context.Context, pg *sql.DB, every time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	vacuum := func(ctx context.Context) {
		if _, err := pg.ExecContext(ctx, "VACUUM (ANALYZE) trace_rollups, trace_rollups_daily"); err != nil && ctx.Err() == nil {
			fmt.Fprintln(os.Stderr, "seed: vacuum:", err)
		}
	}
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				vacuum(ctx)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		vacuum(context.Background())
		if _, err := pg.ExecContext(context.Background(), "ANALYZE traces"); err != nil {
			fmt.Fprintln(os.Stderr, "seed: analyze traces:", err)
		}
	}
}

// createTenancy creates the orgs, workspaces and gateway keys the traces
// name, skipping those that exist (a second seed run into the same store).
func createTenancy(ctx context.Context, st store.Tenancy, g *generator) error {
	now := time.Now().UTC()
	ignore := func(err error) error {
		if errors.Is(err, store.ErrConflict) {
			return nil
		}
		return err
	}
	orgs := map[string]bool{}
	for _, ws := range workspaces {
		if !orgs[ws.org] {
			orgs[ws.org] = true
			if err := ignore(st.CreateOrg(ctx, store.Org{ID: ws.org, Name: ws.org, CreatedAt: now})); err != nil {
				return fmt.Errorf("create org %s: %w", ws.org, err)
			}
		}
		if err := ignore(st.CreateWorkspace(ctx, store.Workspace{ID: ws.id, OrgID: ws.org, Name: ws.id, CreatedAt: now})); err != nil {
			return fmt.Errorf("create workspace %s: %w", ws.id, err)
		}
	}
	for _, k := range g.keys {
		token := "ogw_seed_" + k.id
		sum := sha256.Sum256([]byte(token))
		err := st.CreateKey(ctx, store.GatewayKey{
			ID: k.id, OrgID: k.org, WorkspaceID: k.workspace, Name: k.id, Role: "developer",
			TokenHash: hex.EncodeToString(sum[:]), TokenLast4: token[len(token)-4:],
			Status: store.KeyActive, CreatedBy: "cli", CreatedAt: now,
		})
		if err := ignore(err); err != nil {
			return fmt.Errorf("create key %s: %w", k.id, err)
		}
	}
	return nil
}

// monitor reads River's job table and the rollups: River's job list
// through the store (opener.DB.JobList), counts and sums on the tool's own
// connection, apart from the writer's.
type monitor struct {
	pg    bool
	query func(ctx context.Context, q string, dest ...any) error
	list  func(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
}

// pendingStates are the states of a job not yet worked.
const pendingStates = "'available', 'running', 'retryable', 'scheduled', 'pending'"

// pending counts rollup jobs not yet completed, and when the oldest was
// created (zero when none).
func (m *monitor) pending(ctx context.Context) (int64, time.Time, error) {
	var n int64
	if err := m.query(ctx, "SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND state IN ("+pendingStates+")", &n); err != nil {
		return 0, time.Time{}, fmt.Errorf("count rollup jobs: %w", err)
	}
	if n == 0 {
		return 0, time.Time{}, nil
	}
	res, err := m.list(ctx, river.NewJobListParams().
		Kinds(jobs.RollupArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStatePending).
		OrderBy(river.JobListOrderByID, river.SortOrderAsc).
		First(1))
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("list rollup jobs: %w", err)
	}
	if len(res.Jobs) == 0 {
		return n, time.Time{}, nil
	}
	return n, res.Jobs[0].CreatedAt, nil
}

// failed counts rollup jobs that failed at least once (retried) or were
// given up on.
func (m *monitor) failed(ctx context.Context) (int64, error) {
	var n int64
	err := m.query(ctx, "SELECT count(*) FROM river_job WHERE kind = 'rollup_batch' AND (attempt > 1 OR state IN ('discarded', 'cancelled', 'retryable'))", &n)
	return n, err
}

// rollupRows is the rollup table's size: rows and distinct hours.
func (m *monitor) rollupRows(ctx context.Context) (rows, hours int64, err error) {
	err = m.query(ctx, "SELECT count(*), count(DISTINCT hour) FROM trace_rollups", &rows, &hours)
	return rows, hours, err
}

// totals counts the traces in [from, to) and the requests the rollups
// counted for those hours.
func (m *monitor) totals(ctx context.Context, from, to time.Time) (traces, counted int64, err error) {
	// Bounds are literals: the two engines spell parameters differently,
	// and store times differently (timestamptz; unix microseconds).
	var tq, rq string
	if m.pg {
		f, t := from.Format(time.RFC3339), to.Format(time.RFC3339)
		tq = fmt.Sprintf("SELECT count(*) FROM traces WHERE started_at >= '%s' AND started_at < '%s'", f, t)
		rq = fmt.Sprintf("SELECT coalesce(sum(requests), 0)::bigint FROM trace_rollups WHERE hour >= '%s' AND hour < '%s'", f, t)
	} else {
		f, t := from.UnixMicro(), to.UnixMicro()
		tq = fmt.Sprintf("SELECT count(*) FROM traces WHERE started_at >= %d AND started_at < %d", f, t)
		rq = fmt.Sprintf("SELECT coalesce(sum(requests), 0) FROM trace_rollups WHERE hour >= %d AND hour < %d", f, t)
	}
	if err := m.query(ctx, tq, &traces); err != nil {
		return 0, 0, fmt.Errorf("count traces: %w", err)
	}
	if err := m.query(ctx, rq, &counted); err != nil {
		return 0, 0, fmt.Errorf("sum rollups: %w", err)
	}
	return traces, counted, nil
}
