package harness

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/bench/internal/tracegen"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/trace"
)

// ingestTarget is scenario 4's goal per driver, in traces per second.
var ingestTarget = map[string]float64{"postgres": 50_000, "sqlite": 20_000}

// ingest is scenario 4: how many traces per second the trace writer gets
// into each store without dropping any, through the path the gateway
// writes on: the real writer with the gateway's default settings, writing
// through the jobs runner's sink (internal/jobs TraceSink: each batch
// committed with its rollup_batch River job in one transaction) into the
// real store, while the runner's rollup worker folds the batches into the
// rollups, all in this process: no HTTP stack could produce traces fast
// enough on this machine to find the writer's limit.
//
// Phases, each on a fresh writer over the same database and runner (the
// rollups of one phase are all applied before the next starts):
//
//   - saturation: the producer enqueues as fast as it can but backs off
//     whenever the queue is half full, so nothing is ever dropped; the
//     written rate over the second half of the window is the writer's
//     sustained capacity;
//   - fixed rate: the producer offers exactly the target rate, open loop,
//     and the phase reports what was written, what was dropped and how
//     deep the queue got. Sustaining the target means keeping up: a
//     written rate at the offered rate, a shallow queue, no drops;
//   - saturation again with every header captured (capture_headers: ["*"]),
//     a labelled variant: not the default, and not judged.
//
// Each phase also reports the rollup queue: jobs pending and the oldest
// one's age at the end of the window and at worst, and how long after the
// writer drained the last batch was rolled up.
func (h *harness) ingest(ctx context.Context, drv string) error {
	h.logf("[%s] ingest", drv)
	dir, err := h.driverDir(drv + "-ingest")
	if err != nil {
		return err
	}
	st, err := newStorage(ctx, drv, dir)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.drop(context.Background()); err != nil {
			h.logf("[%s] dropping the ingest database: %v", drv, err)
		}
	}()
	s, err := opener.Open(ctx, config.Storage{Driver: drv, DSN: st.dsn, Path: st.path, ConnectTimeout: time.Hour})
	if err != nil {
		return err
	}
	defer s.Close()
	cfg := config.Default()
	runner, err := s.StartJobs(ctx, jobs.Options{Retention: cfg.Retention})
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := runner.Stop(sctx); err != nil {
			h.logf("[%s] stopping the jobs runner: %v", drv, err)
		}
	}()
	watch, err := openRollupWatch(ctx, st)
	if err != nil {
		return fmt.Errorf("watching the rollup queue: %w", err)
	}
	defer watch.close()
	// The retention job runs at start, as in the gateway (on Postgres it
	// creates the day partitions); let it finish before measuring.
	time.Sleep(500 * time.Millisecond)

	tc := cfg.Tracing
	wopts := trace.WriterOptions{QueueSize: tc.QueueSize, BatchSize: tc.BatchSize, FlushInterval: tc.FlushInterval, Classify: trace.ClassifierOf(s)}
	sink := &countingSink{Sink: runner.TraceSink()}
	newWriter := func() *trace.Writer { return trace.NewWriter(sink, wopts) }
	window := h.o.Scale.IngestWindow
	ph := &ingestPhases{ctx: ctx, watch: watch, sink: sink}

	// What the saturation phase costs in CPU, per trace: this process
	// (writer, sink, rollup worker, River, store, database driver, and for
	// SQLite the database itself) minus the producer's share, plus the
	// Postgres backends serving this database, until the last batch is
	// rolled up. On a machine shared with other work the rate depends on
	// how much CPU the neighbours leave; the cost per trace does not, and
	// says what one core could sustain.
	produce := producerCost(false)
	prof, err := h.startIngestProfile(drv)
	if err != nil {
		return err
	}
	cpu := newCPUMeter(ctx, st)
	sat, err := ph.run(newWriter(), func(w *trace.Writer) ingestResult { return saturate(ctx, w, window, false) })
	profPath := prof()
	if err != nil {
		return err
	}
	own, server := cpu.since(ctx)
	if sat.written > 0 {
		own = max(0, own-produce*time.Duration(sat.enqueued))
		sat.cpuOwn, sat.cpuServer = own/time.Duration(sat.written), server/time.Duration(sat.written)
	}
	target := ingestTarget[drv]
	fixed, err := ph.run(newWriter(), func(w *trace.Writer) ingestResult { return offer(ctx, w, target, window) })
	if err != nil {
		return err
	}
	produceAll := producerCost(true)
	cpu = newCPUMeter(ctx, st)
	all, err := ph.run(newWriter(), func(w *trace.Writer) ingestResult { return saturate(ctx, w, window, true) })
	if err != nil {
		return err
	}
	own, server = cpu.since(ctx)
	if all.written > 0 {
		own = max(0, own-produceAll*time.Duration(all.enqueued))
		all.cpuOwn, all.cpuServer = own/time.Duration(all.written), server/time.Duration(all.written)
	}
	counted, cerr := watch.counted(ctx)
	failedJobs, _ := watch.failed(ctx)

	tb := table{
		Caption: fmt.Sprintf("trace.Writer with the default queue %d, batch %d, flush %v, into the jobs runner's TraceSink (batch and rollup job in one transaction); "+
			"records as the proxy builds them with the default configuration (no headers, request id in the metadata, bodies off) over %d rollup cells; phases of %v",
			tc.QueueSize, tc.BatchSize, tc.FlushInterval, ingestCells, window),
		Head: []string{"phase", "offered/s", "written/s", "dropped", "queue high water", "drain after the window", "batches failed", "CPU per trace"},
	}
	rb := table{
		Caption: "Rollups: rollup_batch jobs (one per committed batch) pending, with the oldest one's age, and how long after the writer drained the last one was applied",
		Head:    []string{"phase", "batches (jobs)", "pending at the end of the window", "most pending during the phase", "oldest pending at worst", "all applied after the writer drained"},
	}
	for _, p := range []struct {
		name, offered string
		r             ingestResult
	}{
		{"saturation (closed loop)", "as fast as accepted", sat},
		{"fixed rate (open loop)", fmtRate(fixed.offeredRate), fixed},
		{"saturation, **all headers captured** (`capture_headers: [\"*\"]`, not the default)", "as fast as accepted", all},
	} {
		cpuCell := ""
		if p.r.cpuOwn > 0 {
			cpuCell = fmtDur(p.r.cpuOwn)
			if drv == "postgres" {
				cpuCell += " + " + fmtDur(p.r.cpuServer) + " server"
			}
		}
		tb.Rows = append(tb.Rows, []string{p.name, p.offered, fmtRate(p.r.writtenRate), fmt.Sprint(p.r.dropped), fmt.Sprint(p.r.highWater), fmtDur(p.r.drain), fmt.Sprint(p.r.failures), cpuCell})
		applied := fmtDur(p.r.rollupDrain)
		if p.r.rollupLeft.pending > 0 {
			applied = fmt.Sprintf("not within %s: %s left", fmtDur(p.r.rollupDrain), p.r.rollupLeft)
		}
		rb.Rows = append(rb.Rows, []string{p.name, fmt.Sprint(p.r.batches), p.r.rollupEnd.String(), fmt.Sprint(p.r.rollupWorst.pending), fmtDur(p.r.rollupWorst.age), applied})
	}
	h.report.section("4").add(drv, tb)
	h.report.section("4").add(drv, rb)
	written := sat.written + fixed.written + all.written
	if cerr == nil {
		h.report.section("4").note(drv, fmt.Sprintf("The hourly rollups count %d requests for the %d traces written in the three phases (%s); rollup jobs retried or given up: %d.",
			counted, written, map[bool]string{true: "exact", false: "**they differ**"}[counted == written], failedJobs))
	}
	if sat.cpuOwn > 0 {
		note := fmt.Sprintf("CPU per trace in the saturation phase: %s in the gateway-side code (writer, sink, rollup worker and River, store, driver%s; the producer's %s per record subtracted)",
			fmtDur(sat.cpuOwn), map[bool]string{true: ", SQLite itself", false: ""}[drv == "sqlite"], fmtDur(produce))
		limit := sat.cpuOwn
		if drv == "postgres" {
			note += fmt.Sprintf(", %s in the Postgres backends of this database", fmtDur(sat.cpuServer))
			limit = max(limit, sat.cpuServer)
		}
		note += fmt.Sprintf(". One core per side would therefore sustain about **%s traces/s**; the measured rate is lower by however much CPU the machine's other work took.", fmtRate(float64(time.Second)/float64(limit)))
		h.report.section("4").note(drv, note)
	}
	if profPath != "" {
		h.report.section("4").note(drv, fmt.Sprintf("CPU profile of this process over the saturation phase (writer, sink, rollup worker, River, store, driver%s, and the producer): `%s`.",
			map[bool]string{true: ", SQLite", false: ""}[drv == "sqlite"], profPath))
		for _, v := range []struct {
			title string
			args  []string
		}{
			{"by flat time", []string{"-nodecount=20"}},
			{"cumulative", []string{"-cum", "-nodecount=30"}},
		} {
			h.report.section("4").note(drv, fmt.Sprintf("<details><summary>%s ingest, saturation: CPU, %s</summary>\n\n```\n%s\n```\n</details>", drv, v.title, pprofTop(profPath, v.args...)))
		}
	}
	h.report.check("4", drv, "sustained traces/s, no drops", fmt.Sprintf("≥ %s", fmtRate(target)), fmtRate(sat.writtenRate), sat.writtenRate >= target && sat.dropped == 0)
	// Keeping up at the target: at most one batch behind at the end, and
	// nothing dropped.
	kept := fixed.dropped == 0 && fixed.writtenRate >= 0.98*fixed.offeredRate
	h.report.check("4", drv, fmt.Sprintf("fixed %s/s offered: dropped, written/s", fmtRate(target)), "0 dropped, keeps up",
		fmt.Sprintf("%d, %s", fixed.dropped, fmtRate(fixed.writtenRate)), kept)
	// The rollups keep up when, at the end of a window of saturation, the
	// oldest batch not yet rolled up is younger than rollupLagLimit, no
	// job failed, and they count every trace.
	h.report.check("4", drv, "rollups keep up at saturation: pending jobs at the end of the window", "oldest ≤ "+fmtDur(rollupLagLimit),
		sat.rollupEnd.String(), sat.rollupEnd.age <= rollupLagLimit && sat.rollupLeft.pending == 0 && failedJobs == 0 && cerr == nil && counted == written)
	return nil
}

// startIngestProfile starts a CPU profile of this process, written to the
// profile directory when one was given (-profile-dir); the returned
// function stops it and returns the file, or "" when none was taken.
func (h *harness) startIngestProfile(drv string) (stop func() string, err error) {
	if h.o.ProfileDir == "" {
		return func() string { return "" }, nil
	}
	if err := os.MkdirAll(h.o.ProfileDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(h.o.ProfileDir, "ingest-"+drv+"-saturation-cpu.pb.gz")
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		h.logf("[%s] ingest: no CPU profile: %v", drv, err)
		return func() string { return "" }, nil
	}
	return func() string {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return ""
		}
		return path
	}, nil
}

// rollupLagLimit is how old the oldest pending rollup job may be at the
// end of a saturation window for the rollups to count as keeping up: a
// second, twenty flush intervals.
const rollupLagLimit = time.Second

// ingestResult is one phase's outcome.
type ingestResult struct {
	offeredRate, writtenRate float64
	enqueued, written        int64
	dropped, highWater       int64
	failures                 int64
	batches                  int64
	drain                    time.Duration
	cpuOwn, cpuServer        time.Duration // per trace, saturation only
	// The rollup queue: at the end of the window, the worst seen during
	// the phase, how long after the writer drained it was empty, and what
	// was left if it did not empty in time.
	rollupEnd, rollupWorst, rollupLeft backlog
	rollupDrain                        time.Duration
}

// ingestPhases runs phases on one database and jobs runner.
type ingestPhases struct {
	ctx   context.Context
	watch *rollupWatch
	sink  *countingSink
}

// countingSink counts the batches committed through the sink it wraps.
type countingSink struct {
	trace.Sink
	batches atomic.Int64
}

func (s *countingSink) InsertTraces(ctx context.Context, batch []trace.Record) error {
	err := s.Sink.InsertTraces(ctx, batch)
	if err == nil {
		s.batches.Add(1)
	}
	return err
}

// run runs one phase: load drives w until the window ends and returns what
// it measured; then the backlog is read, the writer closed (every queued
// record written) and the rollups waited for.
func (p *ingestPhases) run(w *trace.Writer, load func(*trace.Writer) ingestResult) (ingestResult, error) {
	stop := p.watch.sample(p.ctx, 100*time.Millisecond)
	b0 := p.sink.batches.Load()
	res := load(w)
	end, err := p.watch.now(p.ctx)
	if err != nil {
		stop()
		return res, err
	}
	res.rollupEnd = end
	res, err = finishIngest(p.ctx, w, res)
	res.batches = p.sink.batches.Load() - b0
	if err != nil {
		stop()
		return res, err
	}
	res.rollupDrain, res.rollupLeft, err = p.watch.drain(p.ctx, 2*time.Minute)
	res.rollupWorst = stop()
	res.rollupWorst.pending = max(res.rollupWorst.pending, res.rollupEnd.pending)
	res.rollupWorst.age = max(res.rollupWorst.age, res.rollupEnd.age)
	return res, err
}

// saturate keeps the writer's queue between a quarter and a half full, so
// the writer always has a full batch waiting and nothing is ever dropped,
// and measures the written rate over the second half of the window, once
// the queue has reached its working depth. The producer sleeps whenever
// the queue is deep enough, so it takes little CPU from the writer.
func saturate(ctx context.Context, w *trace.Writer, window time.Duration, allHeaders bool) ingestResult {
	var res ingestResult
	capacity := w.Stats().Capacity
	start := time.Now()
	half := start.Add(window / 2)
	end := start.Add(window)
	var w0 int64
	var t0 time.Time
	var n uint64
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
			w.Enqueue(ingestRecord(now, n, allHeaders))
			n++
		}
	}
	if !t0.IsZero() {
		res.writtenRate = float64(w.Stats().Written-w0) / time.Since(t0).Seconds()
	}
	return res
}

// offer enqueues at rate per second for window, in 1 ms slices, and
// measures what was written meanwhile.
func offer(ctx context.Context, w *trace.Writer, rate float64, window time.Duration) ingestResult {
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
			w.Enqueue(ingestRecord(start.Add(el), uint64(sent), false))
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	res.offeredRate = float64(sent) / el.Seconds()
	res.writtenRate = float64(w.Stats().Written) / el.Seconds()
	return res
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

// The ingest records spread over ingestCells rollup cells (the rollup key
// less the hour: model, provider key, status class), as the traffic of a
// gateway serving a few teams does: four models over two providers, eight
// provider keys, one call in fifty rate-limited. A batch of 1,000 then
// folds into up to that many rollup rows; records that all shared one cell
// would make the rollup work per batch as small as it can be.
var ingestModels = []struct{ provider, requestModel, model, path, finish string }{
	{"openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "/openai/v1/chat/completions", "stop"},
	{"openai", "gpt-4.1", "gpt-4.1-2025-04-14", "/openai/v1/chat/completions", "stop"},
	{"anthropic", "claude-sonnet-4-20250514", "claude-sonnet-4-20250514", "/anthropic/v1/messages", "end_turn"},
	{"anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", "/anthropic/v1/messages", "end_turn"},
}

var ingestKeyHashes = func() []string {
	out := make([]string, 8)
	for i := range out {
		out[i] = fmt.Sprintf("%02x%s", i, "0a5be0b1bbbd1f5a4a0bbf77c1a0d1e1b5c9f9f0e3a1c2d3e4f5a6b7c8d9e0")
	}
	return out
}()

const ingestCells = 4 * 8 * 2

// ingestRecord is record number i of a phase, started at start.
func ingestRecord(start time.Time, i uint64, allHeaders bool) *trace.Record {
	r := tracegen.Record(start)
	m := &ingestModels[i%uint64(len(ingestModels))]
	r.Provider, r.RequestModel, r.Model, r.RequestPath = m.provider, m.requestModel, m.model, m.path
	r.APIKeyHash = ingestKeyHashes[(i/4)%uint64(len(ingestKeyHashes))]
	if i%50 == 49 {
		r.ResponseStatus, r.Outcome = 429, trace.OutcomeUpstreamError
		r.InputTokens, r.OutputTokens, r.TotalTokens, r.CostNanoUSD, r.EstimatedCostUSD = 0, 0, 0, 0, 0
		r.Metadata = tracegen.Metadata()
	} else if m.finish != "stop" {
		r.Metadata = tracegen.Metadata(m.finish)
	}
	if allHeaders {
		tracegen.WithAllHeaders(r)
	}
	return r
}

// producerCost is the CPU time one ingest record costs this process, to
// take the producer's share out of the writer's.
func producerCost(allHeaders bool) time.Duration {
	const n = 20_000
	c0, _ := cpuTime(os.Getpid())
	now := time.Now()
	for i := range uint64(n) {
		_ = ingestRecord(now, i, allHeaders)
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
