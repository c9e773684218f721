package harness

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Report is everything a run measured, rendered as bench/RESULTS.md.
type Report struct {
	Options  Options
	Machine  string // CPU, cores, memory, kernel, Go and Postgres versions
	Commit   string // the code measured
	Started  time.Time
	Finished time.Time
	// LoadStart and LoadEnd are the machine's load averages: how much
	// other work shared it, which the absolute figures depend on.
	LoadStart, LoadEnd string
	FileLimit          uint64 // open-files limit the run had

	mu       sync.Mutex
	sections map[string]*section
	checks   []Check
	failures []string
	profile  []string // markdown lines of the profile section
}

// Check is one target and whether the run met it.
type Check struct {
	Scenario, Driver, What, Target, Got string
	// Own is the same figure against the relay instead of direct, where
	// measured: the part of the result due to the gateway's own work.
	Own string
	Met bool
	// NA marks a target this run could not judge (Got says why); it
	// counts as neither met nor missed.
	NA bool
}

// section is one scenario's part of the report: per driver, tables and
// notes in the order they were added.
type section struct {
	id, title, about string
	drivers          []string
	parts            map[string][]any // table or string
}

// The scenarios as the issue states them; about says how each is
// measured, so the report can be read without the code.
var sectionDefs = []struct{ id, title, about string }{
	{"1", "Added latency, one call at a time, non-streaming",
		"Closed loop at concurrency 1: the next call starts when the last one ends. Each call kind runs rounds in which direct, pipe, relay and gateway take turns (after a warm-up of each), and the histograms of all rounds are merged. *gateway − direct* at the same percentile is the figure the target applies to; the two floors under it are the pipe, a TCP pipe in its own process that copies bytes without parsing HTTP (the extra process and loopback hop alone, which no proxy can avoid), and the relay, a bare `httputil.ReverseProxy` in its own process (what any Go HTTP proxy costs); *gateway − relay* is what the gateway's own work adds. The fake upstream answers at once (no model latency), so everything above the baseline is the proxy. The gzip rows ask for `Accept-Encoding: gzip`, as Go's transport and so the official SDKs do by default; the upstream then compresses and the gateway decodes a copy to read usage. The fixed-rate row is open loop: arrivals are scheduled regardless of answers and latency runs from the scheduled start, so queueing is not hidden."},
	{"2", "Throughput at concurrency 16 and 64, and zero lost traces",
		"Closed loop with 16 and 64 workers, rounds alternating between direct, pipe, relay and gateway. *vs direct* is requests/s over direct requests/s in the same run. *CPU per call* is the serving process's CPU time (all threads; for the gateway that includes the trace writer and the database driver) divided by its calls: the pipe's is the floor for any process in between, the relay's the floor for any Go HTTP proxy, the difference is the gateway's own work. The direct target's upstream shares the harness process with the load generator, so the direct rate is itself limited by the harness on two cores. After each level the harness waits for the trace writer and compares the traces written (from `/api/health`) with the calls the gateway answered; the lifetime table counts the rows actually in the database after the gateway stopped."},
	{"3", "Streaming: many concurrent streams",
		"OpenAI chat and Anthropic messages streams, the client not asking for usage (so on OpenAI the gateway injects `stream_options.include_usage` and hides the extra chunk, its most expensive path). *first event* runs from sending the request to the first event's arrival. *event delay* is exact: the fake upstream timestamps every event as it flushes it, the client timestamps it as it reads it, both in this process, and the delay is the difference; *gateway − direct* is what the targets apply to; *gateway − pipe* and *gateway − relay* separate the gateway's own work from the cost of the extra hop (pipe) and of any Go HTTP proxy (relay). Before each measured batch every connection is warmed with one short call, so the streams do not pay for TCP set-up. The first batch has the issue's size and decides the memory target; the harness plays both the client and the upstream of every stream, and when it cannot keep up, the direct baseline's own events arrive late: when the baseline's p99 event delay exceeds 10 ms (ten times the margin being judged) the delay targets of that batch are marked n/a, and the second batch, a tenth of the size, is the one that judges them. Peak RSS is `VmHWM` after a reset through `/proc/PID/clear_refs`, for the relay and the pipe as well, whose figures are the floors any Go proxy, and any process in between, needs for as many connections."},
	{"4", "Ingestion: traces per second into each store",
		"The gateway's write path without the HTTP stack in front (none on this machine can produce traces fast enough to find the writer's limit), in the harness process: the real `trace.Writer` with the gateway's default queue, batch and flush settings, writing through the jobs runner's `TraceSink` as `app.New` wires it (each batch committed together with its `rollup_batch` River job in one transaction) into a fresh database, while the runner's rollup worker folds the committed batches into the hourly and daily rollups. The records are what the proxy builds with the default configuration: no headers, the request id in the metadata, bodies off. The saturation phase offers records as fast as the queue takes them without ever filling it, and measures the written rate over its second half; the fixed-rate phase offers exactly the target rate, open loop; a last saturation phase, labelled and not judged, has every header captured. The rollup table says whether the rollups keep up: the rollup jobs still pending at the end of each window with the oldest one's age, the worst seen during the phase (sampled every 100 ms), and how long after the writer had drained the last one was applied. With no baseline to divide by, the CPU time per trace (until the last rollup is applied) is the load-independent figure: what one core could sustain."},
	{"5", "Footprint: idle memory and stored bytes per trace",
		"RSS (`VmRSS`) of the gateway process one second after it first answered `/api/health`, before any traffic, and again two seconds after the last scenario. Bytes per trace, with the gateway's default configuration (body capture off, header capture off: `tracing.capture_headers` is empty unless configured), for the traffic of this run, the SDK-shaped calls of every scenario: the traces table with all its indexes divided by its rows, the figure the target applies to and the one earlier runs reported, then split by part (rows and each index). The rollup tables (hourly and daily tiers with their indexes, and the ledger of applied batches) and River's job table are sized apart and amortised over the same traces, after every batch was rolled up. A second table per driver is a labelled variant, not judged: a separate gateway configured with `capture_headers: [\"*\"]` (every header, credentials redacted), filled with OpenAI chat calls."},
	{"6", "Large bodies: 10 MB answers with bounded memory",
		"One call at a time through a warm gateway: a JSON answer padded to the size, the same gzip-encoded, and streams of many small and of a few huge events (larger than the SSE framer's 256 KiB limit). Growth is the gateway's peak RSS during the call minus its RSS just before (peak from `VmHWM` after resetting it through `/proc/PID/clear_refs`). The direct, pipe and relay times are the baselines for the transfer time."},
}

func newReport(o Options, fileLimit uint64) *Report {
	r := &Report{Options: o, Started: time.Now(), LoadStart: LoadAverage(), FileLimit: fileLimit, sections: map[string]*section{}}
	for _, d := range sectionDefs {
		r.sections[d.id] = &section{id: d.id, title: d.title, about: d.about, parts: map[string][]any{}}
	}
	return r
}

func (r *Report) section(id string) *sectionHandle { return &sectionHandle{r: r, s: r.sections[id]} }

// sectionHandle adds to a section under the report's lock.
type sectionHandle struct {
	r *Report
	s *section
}

func (h *sectionHandle) add(driver string, t table) { h.put(driver, t) }

func (h *sectionHandle) note(driver, text string) { h.put(driver, text) }

func (h *sectionHandle) put(driver string, part any) {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	if !slices.Contains(h.s.drivers, driver) {
		h.s.drivers = append(h.s.drivers, driver)
	}
	h.s.parts[driver] = append(h.s.parts[driver], part)
}

func (r *Report) check(scenario, driver, what, target, got string, met bool) {
	r.add(Check{Scenario: scenario, Driver: driver, What: what, Target: target, Got: got, Met: met})
}

func (r *Report) add(c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, c)
}

func (r *Report) fail(where string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf("%s: %v", where, err))
}

// Checks returns every target check of the run.
func (r *Report) Checks() []Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.checks)
}

// Failures lists what could not be measured at all.
func (r *Report) Failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.failures)
}

// table is a markdown table.
type table struct {
	Caption string
	Head    []string
	Rows    [][]string
}

func (t table) markdown(b *strings.Builder) {
	if t.Caption != "" {
		fmt.Fprintf(b, "*%s*\n\n", t.Caption)
	}
	b.WriteString("| " + strings.Join(t.Head, " | ") + " |\n|")
	for range t.Head {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range t.Rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// Markdown renders the report.
func (r *Report) Markdown() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	o := r.Options
	b.WriteString(GeneratedStart + "\n")
	b.WriteString("# Gateway benchmark results\n\n")
	b.WriteString("Everything between the `bench:generated` markers is written by the benchmark harness (`go run ./cmd/bench` in bench/) and replaced on each run; the sections after the end marker are written by hand, and the harness keeps them.\n\n")
	fmt.Fprintf(&b, "- **Machine:** %s; load average (1, 5, 15 min: other work on the machine) %s at the start of the run, %s at the end\n", r.Machine, r.LoadStart, r.LoadEnd)
	fmt.Fprintf(&b, "- **Commit:** %s\n", r.Commit)
	mode := "full"
	if o.Quick {
		mode = "quick (fewer samples than a full run: compare own work against the relay and the pipe with a full run's, not the tails)"
	}
	fmt.Fprintf(&b, "- **Run:** %s, %s, mode %s, drivers %s, gateway launched by %q\n", r.Started.UTC().Format("2006-01-02 15:04 MST"),
		r.Finished.Sub(r.Started).Round(time.Second), mode, strings.Join(o.Drivers, ", "), o.Gateway)
	if o.Command != "" {
		fmt.Fprintf(&b, "- **Reproduce:** `%s`\n", o.Command)
	}
	b.WriteString("\nThe fake upstream (internal/fakeupstream) runs in the harness process and the gateway (`ongoingai serve`, tracing on) in its own, both on 127.0.0.1. " +
		"Absolute figures on a shared machine move with the neighbours' load; the differences and ratios against the direct baseline, measured in the same run and interleaved, are the result.\n\n")

	b.WriteString("## Targets\n\n")
	b.WriteString("*result* is gateway against direct, as the targets are stated; *own work* is the same figure against the relay (a bare reverse proxy in its own process), i.e. without the cost of the extra hop that any proxy pays on this machine.\n\n")
	tb := table{Head: []string{"#", "driver", "measure", "target", "result", "own work", "met"}}
	for _, c := range r.checks {
		met := "yes"
		switch {
		case c.NA:
			met = "n/a"
		case !c.Met:
			met = "**no**"
		}
		tb.Rows = append(tb.Rows, []string{c.Scenario, c.Driver, c.What, c.Target, c.Got, c.Own, met})
	}
	slices.SortStableFunc(tb.Rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	tb.markdown(&b)
	if len(r.failures) > 0 {
		b.WriteString("**Could not be measured:**\n\n")
		for _, f := range r.failures {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(f, "\n", " "))
		}
		b.WriteString("\n")
	}

	for _, d := range sectionDefs {
		s := r.sections[d.id]
		if len(s.drivers) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s. %s\n\n%s\n\n", s.id, s.title, s.about)
		for _, drv := range s.drivers {
			fmt.Fprintf(&b, "### %s\n\n", drv)
			for _, p := range s.parts[drv] {
				switch p := p.(type) {
				case table:
					p.markdown(&b)
				case string:
					b.WriteString(p + "\n\n")
				}
			}
		}
	}
	if len(r.profile) > 0 {
		b.WriteString(strings.Join(r.profile, "\n"))
		b.WriteString("\n")
	}

	sc := o.Scale
	b.WriteString("## Scale of this run\n\n")
	fmt.Fprintf(&b, "- Scenario 1: %d rounds of %v (at most %d calls) per target and call kind; fixed rate %.0f/s for %v per round.\n",
		sc.LatencyRounds, sc.LatencyRound, sc.LatencyRequests, sc.FixedRate, 2*sc.LatencyRound)
	fmt.Fprintf(&b, "- Scenario 2: %d rounds of %v per target and level.\n", sc.ThroughputRounds, sc.ThroughputRound)
	fmt.Fprintf(&b, "- Scenario 3: %d and %d streams × %d events at %v.\n", sc.Streams, sc.Streams/10, sc.StreamEvents, sc.StreamInterval)
	fmt.Fprintf(&b, "- Scenario 4: phases of %v.\n", sc.IngestWindow)
	fmt.Fprintf(&b, "- Scenario 5: at least %d traces stored.\n", sc.FootprintMinTraces)
	fmt.Fprintf(&b, "- Scenario 6: bodies of %s.\n", fmtBytes(sc.LargeBytes))
	fmt.Fprintf(&b, "- Profiles: windows of %v, %d streams.\n", sc.ProfileWindow, sc.ProfileStreams)
	fmt.Fprintf(&b, "- Open-files limit: %d.\n", r.FileLimit)
	b.WriteString("\n" + GeneratedEnd + "\n")
	return b.String()
}

// WriteFile writes the report into the file at path, replacing only the
// part an earlier run generated (see Merge) and keeping the rest.
func (r *Report) WriteFile(path string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.WriteFile(path, []byte(Merge(string(old), r.Markdown())), 0o644)
}

// The markers around the part of RESULTS.md the harness writes. Whatever
// is outside them, hand-written sections such as before/after figures of
// optimisations, is kept from run to run.
const (
	GeneratedStart = "<!-- bench:generated:start (written by bench/cmd/bench and replaced on each run; edit outside the markers) -->"
	GeneratedEnd   = "<!-- bench:generated:end -->"

	startPrefix = "<!-- bench:generated:start"
	endPrefix   = "<!-- bench:generated:end"
)

// Merge returns existing with its generated part replaced by generated (a
// Markdown result, markers included). A file without markers keeps all of
// its text, after the generated part; an empty one gives generated alone.
func Merge(existing, generated string) string {
	generated = strings.TrimRight(generated, "\n") + "\n"
	if strings.TrimSpace(existing) == "" {
		return generated
	}
	if i := strings.Index(existing, startPrefix); i >= 0 {
		if j := strings.Index(existing[i:], endPrefix); j >= 0 {
			j += i
			end := j + len(endPrefix)
			if k := strings.Index(existing[end:], "\n"); k >= 0 {
				end += k + 1
			} else {
				end = len(existing)
			}
			return existing[:i] + generated + existing[end:]
		}
	}
	return generated + "\n" + existing
}

func latencyTable() table {
	return table{Head: []string{"calls", "target", "n", "p50", "p90", "p99", "p99.9", "max", "errors"}}
}

// addLatencyRows adds one row per target and the differences that matter:
// gateway − direct (the target), gateway − pipe (everything above the
// bare process and loopback hop) and gateway − relay (the gateway's own
// work, beyond what any Go HTTP proxy costs).
func addLatencyRows(t *table, label string, cmp comparison) {
	qs := []float64{0.5, 0.9, 0.99, 0.999}
	first := true
	for _, name := range targetNames {
		m, ok := cmp[name]
		if !ok {
			continue
		}
		l := m.res.Latency
		row := []string{"", name, fmt.Sprint(l.Count())}
		for _, q := range qs {
			row = append(row, fmtDur(l.Quantile(q)))
		}
		row = append(row, fmtDur(l.Max()), fmt.Sprint(m.res.Errors))
		if first {
			row[0], first = label, false
		}
		t.Rows = append(t.Rows, row)
	}
	for _, base := range []string{tDirect, tPipe, tRelay} {
		b, g := cmp[base], cmp[tGateway]
		if b == nil || g == nil {
			continue
		}
		row := []string{"", "**gateway − " + base + "**", ""}
		for _, q := range qs {
			row = append(row, fmtSigned(g.res.Latency.Quantile(q)-b.res.Latency.Quantile(q)))
		}
		t.Rows = append(t.Rows, append(row, fmtSigned(g.res.Latency.Max()-b.res.Latency.Max()), ""))
	}
	for _, name := range targetNames {
		if m, ok := cmp[name]; ok && m.res.FirstError != "" {
			t.Rows = append(t.Rows, []string{"", "first error, " + name, "", m.res.FirstError, "", "", "", "", ""})
		}
	}
}

func fmtDur(d time.Duration) string {
	switch {
	case d < 0:
		return "−" + fmtDur(-d)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtSigned(d time.Duration) string {
	if d >= 0 {
		return "+" + fmtDur(d)
	}
	return fmtDur(d)
}

func fmtRate(r float64) string {
	switch {
	case r >= 10_000:
		return fmt.Sprintf("%.1fk", r/1000)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

func fmtRatio(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) }

// fmtBytes uses decimal units, as the targets are stated (1 MB = 10^6 B).
func fmtBytes(n int64) string {
	neg := ""
	if n < 0 {
		neg, n = "−", -n
	}
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%s%.1f MB", neg, float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%s%.0f kB", neg, float64(n)/1e3)
	default:
		return fmt.Sprintf("%s%d B", neg, n)
	}
}
