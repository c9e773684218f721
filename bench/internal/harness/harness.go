// Package harness runs the gateway's benchmark scenarios and writes their
// report. Each scenario measures the same traffic twice in one run, straight
// to a fake upstream (the baseline) and through a gateway process in front of
// it, and reports the gateway next to the baseline: on a shared machine
// absolute numbers drift with the neighbours' load, while the difference and
// the ratio between two interleaved measurements mostly do not.
//
// Everything runs on loopback: the fake upstream in this process, the
// gateway as a child process (so its memory and CPU can be read apart),
// the databases on this machine. Every loop is bounded in calls and time.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/testdb"
)

// Scenario names, as -scenarios takes them.
const (
	ScenarioLatency    = "latency"    // 1: added latency at concurrency 1
	ScenarioThroughput = "throughput" // 2: requests/s at 16 and 64, zero lost traces
	ScenarioStreaming  = "streaming"  // 3: many concurrent streams
	ScenarioIngest     = "ingest"     // 4: trace writer throughput per store
	ScenarioFootprint  = "footprint"  // 5: idle RSS, stored bytes per trace
	ScenarioLarge      = "large"      // 6: 10 MB bodies, bounded memory
	ScenarioProfile    = "profile"    // CPU, allocation and contention profiles
)

// AllScenarios lists every scenario in the order they run.
var AllScenarios = []string{ScenarioFootprint, ScenarioLarge, ScenarioLatency, ScenarioThroughput, ScenarioStreaming, ScenarioIngest, ScenarioProfile}

// Scale holds every count and duration of a run, so a run can be sized to
// the machine and the report can say exactly what was run.
type Scale struct {
	// Scenario 1: interleaved direct/gateway rounds per call kind, each
	// bounded by time and calls.
	LatencyRounds   int
	LatencyRound    time.Duration
	LatencyRequests int64
	// FixedRate is the open-loop arrival rate of scenario 1's second
	// mode, in calls per second.
	FixedRate float64
	// Scenario 2: rounds per concurrency level, each this long per target.
	ThroughputRounds int
	ThroughputRound  time.Duration
	// Scenario 3: concurrent streams (a second batch runs a tenth of
	// them), events per stream, pause between.
	Streams        int
	StreamEvents   int
	StreamInterval time.Duration
	// Scenario 6: size of the large bodies.
	LargeBytes int64
	// Scenario 4: how long each ingestion phase runs.
	IngestWindow time.Duration
	// Scenario 5: traces to add when the run wrote fewer, so bytes per
	// trace is not dominated by empty pages.
	FootprintMinTraces int64
	// Profiles: load window per profile and streams for the SSE profile.
	ProfileWindow  time.Duration
	ProfileStreams int
}

// FullScale is the default run: about six minutes on two busy cores for
// both drivers, once the gateway binary is in the build cache.
func FullScale() Scale {
	return Scale{
		LatencyRounds:      3,
		LatencyRound:       time.Second,
		LatencyRequests:    50_000,
		FixedRate:          500,
		ThroughputRounds:   2,
		ThroughputRound:    1500 * time.Millisecond,
		Streams:            1000,
		StreamEvents:       64,
		StreamInterval:     20 * time.Millisecond,
		LargeBytes:         10_000_000,
		IngestWindow:       5 * time.Second,
		FootprintMinTraces: 20_000,
		ProfileWindow:      8 * time.Second,
		ProfileStreams:     300,
	}
}

// QuickScale is the run a developer makes before a commit that touches
// the request path (`go run ./cmd/bench -quick`): with QuickScenarios on
// SQLite it takes under two minutes on two busy cores. Its samples are
// fewer than a full run's, so its tails are rougher, but its p50s and
// ratios against the relay and the pipe, measured in the same interleaved
// rounds, show a regression of the gateway's own work.
func QuickScale() Scale {
	return Scale{
		LatencyRounds:      2,
		LatencyRound:       500 * time.Millisecond,
		LatencyRequests:    5_000,
		FixedRate:          500,
		ThroughputRounds:   1,
		ThroughputRound:    time.Second,
		Streams:            100,
		StreamEvents:       16,
		StreamInterval:     20 * time.Millisecond,
		LargeBytes:         10_000_000,
		IngestWindow:       time.Second,
		FootprintMinTraces: 2_000,
		ProfileWindow:      2 * time.Second,
		ProfileStreams:     50,
	}
}

// QuickScenarios are what -quick runs unless told otherwise: the request
// path's scenarios, each against the direct, pipe and relay floors.
var QuickScenarios = []string{ScenarioLarge, ScenarioLatency, ScenarioThroughput, ScenarioStreaming}

// Options configures a run.
type Options struct {
	Scenarios []string // empty: all
	Drivers   []string // "sqlite", "postgres"; empty: both
	Scale     Scale
	Quick     bool // recorded in the report; Scale and Scenarios carry what it means
	// Gateway is "build" (compile ./cmd/ongoingai; the default) or
	// "self" (re-execute this binary in the gateway role).
	Gateway string
	// ProfileDriver is the store behind the profiled gateway.
	ProfileDriver string
	// ProfileDir keeps the profile files (.pb.gz) for `go tool pprof`;
	// empty: inside WorkDir.
	ProfileDir string
	// WorkDir holds databases, logs and profiles; empty: a new
	// temporary directory, removed at the end unless KeepWorkDir.
	WorkDir     string
	KeepWorkDir bool
	// Command is the command line that reproduces the run, for the report.
	Command string
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// harness is one run's state.
type harness struct {
	o       Options
	log     io.Writer
	work    string
	root    string // module root
	binary  string // built gateway, "" for the self role
	up      *upstream
	relay   *gateway // bare reverse proxy process: the control
	pipe    *gateway // TCP pipe process: the floor under the relay
	report  *Report
	started time.Time
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "%s  "+format+"\n", append([]any{time.Since(h.started).Truncate(100 * time.Millisecond)}, args...)...)
}

func (h *harness) selected(name string) bool {
	return len(h.o.Scenarios) == 0 || slices.Contains(h.o.Scenarios, name)
}

// Run executes the selected scenarios and returns the report. A scenario
// that fails is reported as failed and the others still run; the error
// joins every failure.
func Run(ctx context.Context, o Options) (*Report, error) {
	if len(o.Drivers) == 0 {
		o.Drivers = []string{"sqlite", "postgres"}
	}
	if o.Gateway == "" {
		o.Gateway = "build"
	}
	if o.ProfileDriver == "" {
		o.ProfileDriver = o.Drivers[0]
	}
	if o.Scale.Streams == 0 {
		o.Scale = FullScale()
	}
	for _, s := range o.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return nil, fmt.Errorf("unknown scenario %q (want one of %s, or all)", s, strings.Join(AllScenarios, ", "))
		}
	}
	h := &harness{o: o, log: o.Log, started: time.Now()}
	if h.log == nil {
		h.log = io.Discard
	}
	var err error
	if h.work = o.WorkDir; h.work == "" {
		if h.work, err = os.MkdirTemp("", "ongoingai-bench-"); err != nil {
			return nil, err
		}
		if !o.KeepWorkDir {
			defer os.RemoveAll(h.work)
		}
	} else if err := os.MkdirAll(h.work, 0o755); err != nil {
		return nil, err
	}
	if h.root, err = moduleRoot(); err != nil {
		return nil, err
	}
	limit, err := raiseFileLimit()
	if err != nil {
		h.logf("could not raise the open-files limit: %v", err)
	}
	h.report = newReport(o, limit)
	h.report.Machine = DescribeMachine(ctx, testdb.AdminDSN(), slices.Contains(o.Drivers, "postgres"))
	h.report.Commit = describeCommit(ctx, h.root)

	if h.up, err = startUpstream(); err != nil {
		return nil, err
	}
	defer h.up.Close()
	if h.relay, err = startRelay(ctx, h.up.url, h.work); err != nil {
		return nil, err
	}
	defer h.relay.stop()
	if h.pipe, err = startPipe(ctx, h.up.url, h.work); err != nil {
		return nil, err
	}
	defer h.pipe.stop()

	var errs []error
	needGateway := h.selected(ScenarioFootprint) || h.selected(ScenarioLarge) || h.selected(ScenarioLatency) ||
		h.selected(ScenarioThroughput) || h.selected(ScenarioStreaming)
	if needGateway && o.Gateway == "build" {
		h.logf("building ./cmd/ongoingai")
		if h.binary, err = buildGateway(ctx, h.root, h.work); err != nil {
			return h.finish(), err
		}
	}
	if needGateway {
		for _, drv := range o.Drivers {
			if err := h.gatewayScenarios(ctx, drv); err != nil {
				h.logf("[%s] failed: %v", drv, err)
				h.report.fail(drv, err)
				errs = append(errs, fmt.Errorf("%s: %w", drv, err))
			}
			if ctx.Err() != nil {
				return h.finish(), ctx.Err()
			}
		}
	}
	if h.selected(ScenarioIngest) {
		for _, drv := range o.Drivers {
			if err := h.ingest(ctx, drv); err != nil {
				h.logf("[%s] ingest failed: %v", drv, err)
				h.report.fail(drv+" ingest", err)
				errs = append(errs, fmt.Errorf("%s ingest: %w", drv, err))
			}
			if ctx.Err() != nil {
				return h.finish(), ctx.Err()
			}
		}
	}
	if h.selected(ScenarioProfile) {
		if err := h.profile(ctx); err != nil {
			h.logf("profile failed: %v", err)
			h.report.fail("profile", err)
			errs = append(errs, fmt.Errorf("profile: %w", err))
		}
	}
	return h.finish(), errors.Join(errs...)
}

func (h *harness) finish() *Report {
	h.report.Finished = time.Now()
	h.report.LoadEnd = LoadAverage()
	return h.report
}

// driverDir is a fresh directory for one driver's gateway.
func (h *harness) driverDir(name string) (string, error) {
	dir := filepath.Join(h.work, name)
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}
