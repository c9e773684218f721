package harness

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/bench/internal/tracegen"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/trace"
)

// ingestTarget is scenario 4's goal per driver, in traces per second.
var ingestTarget = map[string]float64{"postgres": 50_000, "sqlite": 20_000}

// ingest is scenario 4: how many traces per second the trace writer gets
// into each store without dropping any. It runs the real writer with the
// gateway's default settings over the real store, in this process: no HTTP
// stack could produce traces fast enough on this machine to find the
// writer's limit.
//
// Two phases, each on a fresh writer over the same database:
//
//   - saturation: the producer enqueues as fast as it can but backs off
//     whenever the queue is half full, so nothing is ever dropped; the
//     written rate over the second half of the window is the writer's
//     sustained capacity;
//   - fixed rate: the producer offers exactly the target rate, open loop,
//     and the phase reports what was written, what was dropped and how
//     deep the queue got. Sustaining the target means keeping up: a
//     written rate at the offered rate, a shallow queue, no drops.
func (h *harness) ingest(ctx context.Context, drv string) error {
	h.logf("[%s] ingest", drv)
	dir, err := h.driverDir(drv + "-ingest")
	if err != nil {
		return err
	}
	st, err := newStorage(ctx, drv, dir, h.o.PostgresAdminDSN)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.drop(context.Background()); err != nil {
			h.logf("[%s] dropping the ingest database: %v", drv, err)
		}
	}()
	var s store.Store
	if drv == "postgres" {
		s, err = postgres.Open(ctx, st.dsn)
	} else {
		s, err = sqlite.Open(ctx, st.path)
	}
	if err != nil {
		return err
	}
	defer s.Close()

	tc := config.Default().Tracing
	wopts := trace.WriterOptions{QueueSize: tc.QueueSize, BatchSize: tc.BatchSize, FlushInterval: tc.FlushInterval}
	window := h.o.Scale.IngestWindow

	// What the saturation phase costs in CPU, per trace: this process
	// (writer, store, database driver, and for SQLite the database
	// itself) minus the producer's share, plus the Postgres backends
	// serving this database. On a machine shared with other work the
	// rate depends on how much CPU the neighbours leave; the cost per
	// trace does not, and says what one core could sustain.
	produce := producerCost()
	cpu := newCPUMeter(ctx, st)
	sat, err := saturate(ctx, trace.NewWriter(s, wopts), window)
	if err != nil {
		return err
	}
	own, server := cpu.since(ctx)
	if sat.written > 0 {
		own = max(0, own-produce*time.Duration(sat.enqueued))
		sat.cpuOwn, sat.cpuServer = own/time.Duration(sat.written), server/time.Duration(sat.written)
	}
	target := ingestTarget[drv]
	fixed, err := offer(ctx, trace.NewWriter(s, wopts), target, window)
	if err != nil {
		return err
	}

	tb := table{
		Caption: fmt.Sprintf("trace.Writer with the default queue %d, batch %d, flush %v; records as the proxy builds them (header snapshot, bodies off); phases of %v",
			tc.QueueSize, tc.BatchSize, tc.FlushInterval, window),
		Head: []string{"phase", "offered/s", "written/s", "dropped", "queue high water", "drain after the window", "batches failed"},
	}
	tb.Rows = append(tb.Rows,
		[]string{"saturation (closed loop)", "as fast as accepted", fmtRate(sat.writtenRate), fmt.Sprint(sat.dropped), fmt.Sprint(sat.highWater), fmtDur(sat.drain), fmt.Sprint(sat.failures)},
		[]string{"fixed rate (open loop)", fmtRate(fixed.offeredRate), fmtRate(fixed.writtenRate), fmt.Sprint(fixed.dropped), fmt.Sprint(fixed.highWater), fmtDur(fixed.drain), fmt.Sprint(fixed.failures)},
	)
	h.report.section("4").add(drv, tb)
	if sat.cpuOwn > 0 {
		note := fmt.Sprintf("CPU per trace in the saturation phase: %s in the gateway-side code (writer, store, driver%s; the producer's %s per record subtracted)",
			fmtDur(sat.cpuOwn), map[bool]string{true: ", SQLite itself", false: ""}[drv == "sqlite"], fmtDur(produce))
		limit := sat.cpuOwn
		if drv == "postgres" {
			note += fmt.Sprintf(", %s in the Postgres backends of this database", fmtDur(sat.cpuServer))
			limit = max(limit, sat.cpuServer)
		}
		note += fmt.Sprintf(". One core per side would therefore sustain about **%s traces/s**; the measured rate is lower by however much CPU the machine's other work took.", fmtRate(float64(time.Second)/float64(limit)))
		h.report.section("4").note(drv, note)
	}
	h.report.check("4", drv, "sustained traces/s, no drops", fmt.Sprintf("≥ %s", fmtRate(target)), fmtRate(sat.writtenRate), sat.writtenRate >= target && sat.dropped == 0)
	// Keeping up at the target: at most one batch behind at the end, and
	// nothing dropped.
	kept := fixed.dropped == 0 && fixed.writtenRate >= 0.98*fixed.offeredRate
	h.report.check("4", drv, fmt.Sprintf("fixed %s/s offered: dropped, written/s", fmtRate(target)), "0 dropped, keeps up",
		fmt.Sprintf("%d, %s", fixed.dropped, fmtRate(fixed.writtenRate)), kept)
	return nil
}

// ingestResult is one phase's outcome.
type ingestResult struct {
	offeredRate, writtenRate float64
	enqueued, written        int64
	dropped, highWater       int64
	failures                 int64
	drain                    time.Duration
	cpuOwn, cpuServer        time.Duration // per trace, saturation only
}

// saturate keeps the writer's queue between a quarter and a half full, so
// the writer always has a full batch waiting and nothing is ever dropped,
// and measures the written rate over the second half of the window, once
// the queue has reached its working depth. The producer sleeps whenever
// the queue is deep enough, so it takes little CPU from the writer.
func saturate(ctx context.Context, w *trace.Writer, window time.Duration) (ingestResult, error) {
	var res ingestResult
	capacity := w.Stats().Capacity
	start := time.Now()
	half := start.Add(window / 2)
	end := start.Add(window)
	var w0 int64
	var t0 time.Time
	for now := start; now.Before(end) && ctx.Err() == nil; now = time.Now() {
		if t0.IsZero() && now.After(half) {
			t0, w0 = now, w.Stats().Written
		}
		if w.Stats().Depth > capacity/2 {
			for w.Stats().Depth > capacity/4 && time.Now().Before(end) {
				time.Sleep(time.Millisecond)
			}
			continue
		}
		for range 1024 {
			w.Enqueue(tracegen.Record(now))
		}
	}
	if !t0.IsZero() {
		res.writtenRate = float64(w.Stats().Written-w0) / time.Since(t0).Seconds()
	}
	return finishIngest(ctx, w, res)
}

// offer enqueues at rate per second for window, in 1 ms slices, and
// measures what was written meanwhile.
func offer(ctx context.Context, w *trace.Writer, rate float64, window time.Duration) (ingestResult, error) {
	var res ingestResult
	start := time.Now()
	var sent int64
	for {
		el := time.Since(start)
		if el >= window || ctx.Err() != nil {
			break
		}
		due := int64(rate * el.Seconds())
		for ; sent < due; sent++ {
			w.Enqueue(tracegen.Record(start.Add(el)))
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	res.offeredRate = float64(sent) / el.Seconds()
	res.writtenRate = float64(w.Stats().Written) / el.Seconds()
	return finishIngest(ctx, w, res)
}

// finishIngest closes the writer, timing how long the queued records take
// to land, and collects the counters.
func finishIngest(ctx context.Context, w *trace.Writer, res ingestResult) (ingestResult, error) {
	t := time.Now()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	err := w.Close(cctx)
	res.drain = time.Since(t)
	s := w.Stats()
	res.enqueued, res.written = s.Enqueued, s.Written
	res.dropped, res.highWater, res.failures = s.Dropped, s.HighWater, s.WriteFailures
	return res, err
}

// producerCost is the CPU time one tracegen.Record costs this process, to
// take the producer's share out of the writer's.
func producerCost() time.Duration {
	const n = 20_000
	c0, _ := cpuTime(os.Getpid())
	now := time.Now()
	for range n {
		_ = tracegen.Record(now)
	}
	c1, _ := cpuTime(os.Getpid())
	return (c1 - c0) / n
}

// cpuMeter reads this process's CPU and, on Postgres, that of the server
// processes (backends) connected to the bench database.
type cpuMeter struct {
	st      *storage
	own0    time.Duration
	server0 map[int]time.Duration
}

func newCPUMeter(ctx context.Context, st *storage) *cpuMeter {
	m := &cpuMeter{st: st}
	m.own0, _ = cpuTime(os.Getpid())
	m.server0 = m.backends(ctx)
	return m
}

// since returns the CPU used since the meter started: this process's, and
// the backends'. A backend that connected meanwhile started from zero.
func (m *cpuMeter) since(ctx context.Context) (own, server time.Duration) {
	own1, _ := cpuTime(os.Getpid())
	for pid, c := range m.backends(ctx) {
		server += c - m.server0[pid]
	}
	return own1 - m.own0, server
}

func (m *cpuMeter) backends(ctx context.Context) map[int]time.Duration {
	out := map[int]time.Duration{}
	if m.st.driver != "postgres" {
		return out
	}
	conn, err := pgx.Connect(ctx, m.st.dsn)
	if err != nil {
		return out
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	if err != nil {
		return out
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int32])
	for _, pid := range pids {
		if c, err := cpuTime(int(pid)); err == nil {
			out[int(pid)] = c
		}
	}
	return out
}
