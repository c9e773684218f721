package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ongoingai/gateway/bench/internal/load"
	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// profile runs the hot paths under a gateway that serves pprof on its
// debug.pprof_addr listener (in the self role, which also samples mutex and
// block events) and reports what the profiles show: CPU, allocations per call and
// per streamed event, lock contention, and system calls per event.
func (h *harness) profile(ctx context.Context) error {
	drv := h.o.ProfileDriver
	h.logf("[%s] profile", drv)
	dir, err := h.driverDir("profile-" + drv)
	if err != nil {
		return err
	}
	profDir := h.o.ProfileDir
	if profDir == "" {
		profDir = filepath.Join(dir, "profiles")
	}
	if err := os.MkdirAll(profDir, 0o755); err != nil {
		return err
	}
	st, err := newStorage(ctx, drv, dir)
	if err != nil {
		return err
	}
	defer st.drop(context.Background())
	g, err := startGateway(ctx, gatewaySpec{driver: drv, path: st.path, dsn: st.dsn, upstream: h.up.url, dir: dir, pprof: true})
	if err != nil {
		return err
	}
	defer g.stop()
	r := &gwRun{h: h, drv: drv, g: g, st: st}
	p := &profiler{g: g, dir: profDir}
	secs := max(1, int(h.o.Scale.ProfileWindow/time.Second))

	// Plain calls at concurrency 16: enough to keep the gateway busy, few
	// enough that the proxy, not the scheduler, dominates.
	h.up.Shape(nil)
	gt := r.gatewayTarget(16)
	c := openAIChat(false)
	if _, err := load.Run(ctx, load.Options{Concurrency: 16, Requests: 2000, Duration: 10 * time.Second}, gt.op(c)); err != nil {
		return err
	}
	var calls int64
	plain, err := p.capture(ctx, "plain", secs, func(deadline time.Time) error {
		res, err := load.Run(ctx, load.Options{Concurrency: 16, Requests: 10_000_000, Duration: time.Until(deadline)}, gt.op(c))
		if res != nil {
			calls = res.Completed
		}
		return err
	})
	closeTargets(gt)
	if err != nil {
		return err
	}
	plain.per = calls

	// Streams: batches of paced streams until the window is over.
	sc := h.o.Scale
	h.up.Shape(shape(fakeupstream.HeaderEvents, strconv.Itoa(sc.StreamEvents), fakeupstream.HeaderInterval, sc.StreamInterval.String()))
	defer h.up.Shape(nil)
	n := sc.ProfileStreams
	spread := time.Duration(sc.StreamEvents) * sc.StreamInterval / 5
	sc1 := openAIChat(true)
	st1 := r.gatewayTarget(n)
	r.warmConnections(ctx, st1, c, n)
	var events int64
	stream, err := p.capture(ctx, "stream", secs, func(deadline time.Time) error {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			s := r.runStreams(ctx, st1, sc1, n, sc.StreamEvents, spread)
			events += int64(s.ok) * int64(s.eventsPerStream)
		}
		return nil
	})
	if err != nil {
		return err
	}
	stream.per = events

	// System calls of every kind for one batch, if strace may attach:
	// /proc/PID/io only counts reads and writes.
	straceTop := p.strace(ctx, func() int64 {
		s := r.runStreams(ctx, st1, sc1, n, sc.StreamEvents, spread)
		return int64(s.ok) * int64(s.eventsPerStream)
	})
	closeTargets(st1)

	h.report.mu.Lock()
	defer h.report.mu.Unlock()
	h.report.profile = p.render(drv, plain, stream, straceTop, secs, n)
	return nil
}

// profiler fetches profiles from the gateway's pprof listener.
type profiler struct {
	g   *gateway
	dir string
}

// phase is one profiled load: counters before and after, profile files.
type phase struct {
	name        string
	per         int64 // calls or events the counters are divided by
	mallocs     uint64
	bytes       uint64
	gcs         uint32
	cpu         time.Duration
	io          ioCounts
	files       map[string]string // kind → path
	wall        time.Duration
	fetchErrors []string
}

// capture runs load for secs seconds (plus a margin on both sides) while
// collecting CPU, allocation, mutex and block profiles over the same
// seconds, and the process counters around them.
func (p *profiler) capture(ctx context.Context, name string, secs int, run func(deadline time.Time) error) (*phase, error) {
	ph := &phase{name: name, files: map[string]string{}}
	// Reading the counters allocates in the gateway (the allocs profile's
	// text form is built to carry them); two readings back to back say
	// how much, to take out of the phase's difference.
	mA, err := p.g.memStats(ctx)
	if err != nil {
		return nil, err
	}
	m0, err := p.g.memStats(ctx)
	if err != nil {
		return nil, err
	}
	readCost := memStats{Mallocs: m0.Mallocs - mA.Mallocs, TotalAlloc: m0.TotalAlloc - mA.TotalAlloc}
	start := time.Now()
	deadline := start.Add(time.Duration(secs)*time.Second + 700*time.Millisecond)
	loadErr := make(chan error, 1)
	io0, _ := readIO(p.g.pid)
	cpu0, _ := cpuTime(p.g.pid)
	go func() { loadErr <- run(deadline) }()
	time.Sleep(200 * time.Millisecond) // let the load reach its level

	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, kind := range []string{"profile", "allocs", "mutex", "block"} {
		wg.Go(func() {
			path := filepath.Join(p.dir, fmt.Sprintf("%s-%s.pb.gz", name, kind))
			if err := p.fetch(ctx, kind, secs, path); err != nil {
				mu.Lock()
				ph.fetchErrors = append(ph.fetchErrors, kind+": "+err.Error())
				mu.Unlock()
				return
			}
			mu.Lock()
			ph.files[kind] = path
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := <-loadErr; err != nil {
		return nil, err
	}
	m1, err := p.g.memStats(ctx)
	if err != nil {
		return nil, err
	}
	io1, _ := readIO(p.g.pid)
	cpu1, _ := cpuTime(p.g.pid)
	ph.wall = time.Since(start)
	ph.mallocs = m1.Mallocs - m0.Mallocs - min(readCost.Mallocs, m1.Mallocs-m0.Mallocs)
	ph.bytes = m1.TotalAlloc - m0.TotalAlloc - min(readCost.TotalAlloc, m1.TotalAlloc-m0.TotalAlloc)
	ph.gcs = m1.NumGC - m0.NumGC
	ph.cpu = cpu1 - cpu0
	ph.io = ioCounts{Reads: io1.Reads - io0.Reads, Writes: io1.Writes - io0.Writes}
	return ph, nil
}

// fetch saves one profile; for allocs, mutex and block, seconds=N asks for
// the difference over those seconds rather than everything since start.
func (p *profiler) fetch(ctx context.Context, kind string, secs int, path string) error {
	url := fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", p.g.pprofURL, kind, secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := (&http.Client{Timeout: time.Duration(secs+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// strace attaches `strace -c -f` to the gateway while run runs and returns
// its summary table, or a line saying why there is none. ptrace slows the
// gateway down a lot; only the counts are used.
func (p *profiler) strace(ctx context.Context, run func() int64) []string {
	path, err := exec.LookPath("strace")
	if err != nil {
		return []string{"(strace not installed: only read/write counts from /proc/PID/io)"}
	}
	out := filepath.Join(p.dir, "stream-strace.txt")
	cmd := exec.CommandContext(ctx, path, "-c", "-f", "-o", out, "-p", strconv.Itoa(p.g.pid))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return []string{"(strace failed to start: " + err.Error() + ")"}
	}
	time.Sleep(500 * time.Millisecond) // attaching to every thread takes a moment
	events := run()
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	b, err := os.ReadFile(out)
	if err != nil || len(b) == 0 {
		return []string{"(strace could not attach: " + strings.TrimSpace(stderr.String()) + ")"}
	}
	lines := []string{fmt.Sprintf("strace -c -f over one batch (%d events delivered; the counts include the batch's connection and request handling):", events), "```"}
	n := 0
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if n < 14 || strings.Contains(l, "total") {
			lines = append(lines, l)
		}
		n++
	}
	return append(lines, "```")
}

// pprofTop runs `go tool pprof -top` on a profile and returns its table
// without the preamble.
func pprofTop(path string, args ...string) string {
	cmd := exec.Command("go", append(append([]string{"tool", "pprof", "-top"}, args...), path)...)
	out, err := cmd.Output()
	if err != nil {
		return "(go tool pprof failed: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "flat ") {
			return strings.Join(lines[max(0, i-1):], "\n")
		}
	}
	return strings.Join(lines, "\n")
}

func (p *profiler) render(drv string, plain, stream *phase, straceTop []string, secs, streams int) []string {
	per := func(x float64, n int64) string {
		if n == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f", x/float64(n))
	}
	perDur := func(d time.Duration, n int64) string {
		if n == 0 {
			return "n/a"
		}
		return fmtDur(d / time.Duration(n))
	}
	out := []string{
		"## Profile of the hot path",
		"",
		fmt.Sprintf("A gateway serving pprof on its own loopback listener (`debug.pprof_addr`, set through `ONGOINGAI_PPROF_ADDR`), default configuration otherwise, store %s, "+
			"started in the harness's self role: the same `app.Run` as `ongoingai serve`, plus sampling of mutex contention and blocking, which `ongoingai serve` leaves off. "+
			"Profiled over %d s of each load: plain OpenAI chat calls at concurrency 16, then batches of %d concurrent OpenAI streams. The counters are the gateway process's own "+
			"(Go runtime allocation counters, from the `runtime.MemStats` in the allocs profile's text form; read and write system calls from /proc/PID/io; CPU from schedstat) divided by calls or by events delivered; "+
			"they include the trace writer, the rollup jobs and the database driver, which are part of what a call costs. Profile files: `%s`.", drv, secs, streams, p.dir),
		"",
	}
	tb := table{Head: []string{"load", "divided by", "allocs", "bytes allocated", "CPU", "read syscalls", "write syscalls", "GCs in window"}}
	for _, ph := range []*phase{plain, stream} {
		unit := "calls"
		if ph.name == "stream" {
			unit = "events"
		}
		tb.Rows = append(tb.Rows, []string{ph.name, fmt.Sprintf("%d %s", ph.per, unit),
			per(float64(ph.mallocs), ph.per), per(float64(ph.bytes), ph.per), perDur(ph.cpu, ph.per),
			per(float64(ph.io.Reads), ph.per), per(float64(ph.io.Writes), ph.per), fmt.Sprint(ph.gcs)})
	}
	var b strings.Builder
	tb.markdown(&b)
	out = append(out, b.String())
	out = append(out, straceTop...)
	out = append(out, "")
	for _, ph := range []*phase{plain, stream} {
		if len(ph.fetchErrors) > 0 {
			out = append(out, fmt.Sprintf("Profiles that could not be fetched (%s): %s", ph.name, strings.Join(ph.fetchErrors, "; ")), "")
		}
		views := []struct{ title, kind string }{
			{"CPU, by flat time", "profile"},
			{"CPU, cumulative (request path)", "profile"},
			{"Allocations, by count", "allocs"},
			{"Allocations, by bytes", "allocs"},
			{"Mutex contention (sampled 1 in 20)", "mutex"},
			{"Blocking (events ≥ 10 µs)", "block"},
		}
		args := [][]string{
			{"-nodecount=25"},
			{"-cum", "-nodecount=35"},
			{"-sample_index=alloc_objects", "-nodecount=25"},
			{"-sample_index=alloc_space", "-nodecount=15"},
			{"-nodecount=12"},
			{"-nodecount=12"},
		}
		for i, v := range views {
			path, ok := ph.files[v.kind]
			if !ok {
				continue
			}
			out = append(out, fmt.Sprintf("<details><summary>%s load: %s</summary>", ph.name, v.title), "", "```", pprofTop(path, args[i]...), "```", "</details>", "")
		}
	}
	return out
}
