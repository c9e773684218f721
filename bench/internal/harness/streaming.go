package harness

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ongoingai/gateway/bench/internal/hist"
	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// streamStats summarises one batch of concurrent streams on one target.
type streamStats struct {
	streams, ok int
	firstErr    string
	// ttft runs from sending the request to the first event's arrival.
	ttft *hist.Histogram
	// transit runs from the upstream's flush of an event to its arrival
	// at the client: the time the event spent on the way, which is what
	// the gateway adds to when it sits in between.
	transit *hist.Histogram
	// eventsPerStream is the most common event count, to show the
	// gateway hides the usage chunk it asked for.
	eventsPerStream int
	wall            time.Duration // the longest batch's, over rounds
}

// merge adds o's streams to s, for batches run in rounds.
func (s streamStats) merge(o streamStats) streamStats {
	s.streams += o.streams
	s.ok += o.ok
	if s.firstErr == "" {
		s.firstErr = o.firstErr
	}
	s.ttft.Merge(o.ttft)
	s.transit.Merge(o.transit)
	s.wall = max(s.wall, o.wall)
	return s
}

// runStreams opens n streams of c on t, starting them evenly over spread,
// and matches each event the client read with the moment the upstream sent
// it. The fake flushes once for the headers and once per event, so event j
// left at flush j+1. Only the first events+2 events are matched (the
// opening and content events, and one more): after them the gateway drops
// the usage chunk it injected, which shifts the OpenAI sequence by one.
func (r *gwRun) runStreams(ctx context.Context, t *target, c call, n, events int, spread time.Duration) streamStats {
	marks := r.h.up.Mark(n)
	results := make([]streamResult, n)
	limit := spread + time.Duration(events)*r.h.o.Scale.StreamInterval*4 + 30*time.Second
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(spread * time.Duration(i) / time.Duration(n))
		wg.Go(func() {
			time.Sleep(time.Until(at))
			results[i] = t.stream(ctx, c, i, marks.epoch, events+8)
		})
	}
	wg.Wait()
	st := streamStats{streams: n, ttft: hist.New(), transit: hist.New(), wall: time.Since(start)}
	idleCtx, idleCancel := context.WithTimeout(ctx, 10*time.Second)
	_ = r.h.up.WaitIdle(idleCtx)
	idleCancel()

	counts := map[int]int{}
	for i, res := range results {
		if res.status > 0 && t.name == tGateway {
			r.answered.Add(1)
		}
		if res.err != nil || len(res.arrived) == 0 {
			if st.firstErr == "" {
				if res.err != nil {
					st.firstErr = res.err.Error()
				} else {
					st.firstErr = "no events"
				}
			}
			continue
		}
		st.ok++
		counts[len(res.arrived)]++
		st.ttft.Record(res.arrived[0] - res.start)
		row := &marks.rows[i]
		row.mu.Lock()
		flushes := row.at
		row.mu.Unlock()
		for j := 0; j < len(res.arrived) && j < events+2 && j+1 < len(flushes); j++ {
			st.transit.Record(res.arrived[j] - flushes[j+1])
		}
	}
	best := 0
	for k, v := range counts {
		if v > best {
			best, st.eventsPerStream = v, k
		}
	}
	return st
}

// warmConnections opens n keep-alive connections to t (and, through the
// gateway, from it to the upstream) with one short call each, all at once,
// so the measured streams do not pay for connection set-up.
func (r *gwRun) warmConnections(ctx context.Context, t *target, c call, n int) {
	var wg sync.WaitGroup
	var answered sync.Map
	for i := range n {
		wg.Go(func() {
			status, _, err := t.fetch(ctx, c)
			if err == nil && status > 0 {
				answered.Store(i, true)
			}
		})
	}
	wg.Wait()
	if t.name == tGateway {
		answered.Range(func(any, any) bool { r.answered.Add(1); return true })
	}
}

// streaming is scenario 3: many concurrent streams of paced events, what
// the gateway adds to their first event and to every event after it, and
// how much memory it needs to carry them.
//
// It runs twice: at the size, which decides the memory target and
// reports the delays, and at a tenth of it, for the delays. At full size
// the harness itself, which plays both the client and the upstream of every
// stream, may not keep up on a small shared machine; the direct baseline
// then shows the saturation (its own events arrive late) and the delay
// targets cannot be judged from that batch.
func (r *gwRun) streaming(ctx context.Context) error {
	sc := r.h.o.Scale
	r.h.up.Shape(shape(
		fakeupstream.HeaderEvents, strconv.Itoa(sc.StreamEvents),
		fakeupstream.HeaderInterval, sc.StreamInterval.String(),
	))
	defer r.h.up.Shape(nil)
	calls := []call{openAIChat(true), anthropicMessages(true)}
	if err := r.streamBatch(ctx, sc.Streams, calls, 1, true); err != nil {
		return err
	}
	// A tenth of the streams gives a tenth of the events: three rounds
	// bring the samples back up, so one stall does not make the p99.
	if light := sc.Streams / 10; light >= 1 {
		return r.streamBatch(ctx, light, calls, 3, false)
	}
	return nil
}

// streamBatch runs n concurrent streams of each call kind on every target,
// rounds times with the targets taking turns, and adds the table and the
// checks; when memory is set, also the peak RSS of the relay and the
// gateway and its check.
func (r *gwRun) streamBatch(ctx context.Context, n int, calls []call, rounds int, memory bool) error {
	sc := r.h.o.Scale
	events := sc.StreamEvents
	// Starts are spread over a fifth of a stream's length: all n are open
	// together for most of it, without a thundering herd of n requests in
	// the same millisecond that would measure the accept queue instead.
	spread := time.Duration(events) * sc.StreamInterval / 5
	tb := table{
		Caption: fmt.Sprintf("%d concurrent streams × %d content events at %v; starts spread over %v; %d round(s) per target", n, events, sc.StreamInterval, spread, rounds),
		Head:    []string{"stream", "target", "ok", "events/stream", "first event p50", "p99", "max", "event delay p50", "p99", "p99.9", "max", "wall time"},
	}
	peaks := map[string]int64{}
	peakExact := true
	var gwCPU time.Duration
	var gwEvents int64
	for _, c := range calls {
		warm := openAIChat(false)
		if c.provider == "anthropic" {
			warm = anthropicMessages(false)
		}
		stats := map[string]streamStats{}
		ts := r.targets(n)
		for range rounds {
			for _, t := range ts {
				r.warmConnections(ctx, t, warm, n)
				var st streamStats
				if t.pid == 0 {
					st = r.runStreams(ctx, t, c, n, events, spread)
				} else {
					cpu0, _ := cpuTime(t.pid)
					p, exact, _ := peakDuring(t.pid, func() error {
						st = r.runStreams(ctx, t, c, n, events, spread)
						return nil
					})
					cpu1, _ := cpuTime(t.pid)
					peaks[t.name] = max(peaks[t.name], p)
					peakExact = peakExact && exact
					if t.name == tGateway {
						gwCPU += cpu1 - cpu0
						gwEvents += int64(st.ok * st.eventsPerStream)
					}
				}
				if prev, ok := stats[t.name]; ok {
					st = prev.merge(st)
				}
				stats[t.name] = st
			}
		}
		closeTargets(ts...)
		for _, t := range ts {
			s := stats[t.name]
			tb.Rows = append(tb.Rows, []string{
				c.name, t.name, fmt.Sprintf("%d/%d", s.ok, s.streams), fmt.Sprint(s.eventsPerStream),
				fmtDur(s.ttft.Quantile(0.5)), fmtDur(s.ttft.Quantile(0.99)), fmtDur(s.ttft.Max()),
				fmtDur(s.transit.Quantile(0.5)), fmtDur(s.transit.Quantile(0.99)), fmtDur(s.transit.Quantile(0.999)), fmtDur(s.transit.Max()),
				fmtDur(s.wall),
			})
			if s.firstErr != "" {
				r.h.report.section("3").note(r.drv, fmt.Sprintf("%d × %s via %s: %d failed, first error %q", n, c.name, t.name, s.streams-s.ok, s.firstErr))
			}
		}
		g, d, rl := stats[tGateway], stats[tDirect], stats[tRelay]
		for _, base := range []string{tDirect, tPipe, tRelay} {
			b := stats[base]
			tb.Rows = append(tb.Rows, []string{c.name, "**gateway − " + base + "**", "", "",
				fmtSigned(g.ttft.Quantile(0.5) - b.ttft.Quantile(0.5)), fmtSigned(g.ttft.Quantile(0.99) - b.ttft.Quantile(0.99)), "",
				fmtSigned(g.transit.Quantile(0.5) - b.transit.Quantile(0.5)), fmtSigned(g.transit.Quantile(0.99) - b.transit.Quantile(0.99)),
				fmtSigned(g.transit.Quantile(0.999) - b.transit.Quantile(0.999)), "", ""})
		}
		// The baseline is saturated when its own events, which cross no
		// proxy, arrive an order of magnitude later than the margin the
		// target allows: the harness, not the proxy, is then what the
		// delays measure.
		saturated := d.ok < d.streams || d.transit.Quantile(0.99) > 10*time.Millisecond
		allOK := g.ok == g.streams
		for _, m := range []struct {
			name      string
			g, d, rel *hist.Histogram
		}{{"first-event", g.ttft, d.ttft, rl.ttft}, {"event delay", g.transit, d.transit, rl.transit}} {
			added := m.g.Quantile(0.99) - m.d.Quantile(0.99)
			ck := Check{Scenario: "3", Driver: r.drv, What: fmt.Sprintf("added %s p99, %d × %s", m.name, n, c.name), Target: "≤ 1 ms",
				Got: fmtSigned(added), Own: fmtSigned(m.g.Quantile(0.99) - m.rel.Quantile(0.99)), Met: allOK && added <= time.Millisecond}
			if saturated {
				ck.NA = true
				ck.Got = fmt.Sprintf("%s; baseline saturated (direct event delay p99 %s)", ck.Got, fmtDur(d.transit.Quantile(0.99)))
			}
			r.h.report.add(ck)
		}
	}
	r.h.report.section("3").add(r.drv, tb)
	cpuPerEvent := time.Duration(0)
	if gwEvents > 0 {
		cpuPerEvent = gwCPU / time.Duration(gwEvents)
	}
	r.h.report.section("3").note(r.drv, fmt.Sprintf("Gateway CPU per delivered event at %d streams, stream set-up and trace writing included: %s.", n, fmtDur(cpuPerEvent)))
	if memory {
		how := "VmHWM after resetting it"
		if !peakExact {
			how = "VmRSS sampled every 5 ms"
		}
		r.h.report.section("3").note(r.drv, fmt.Sprintf("Peak RSS at %d streams (largest of the stream kinds): gateway **%s**, relay %s, TCP pipe %s (%s).",
			n, fmtBytes(peaks[tGateway]), fmtBytes(peaks[tRelay]), fmtBytes(peaks[tPipe]), how))
		p := peaks[tGateway]
		r.h.report.add(Check{Scenario: "3", Driver: r.drv, What: fmt.Sprintf("gateway peak RSS, %d streams", n), Target: "≤ 150 MB",
			Got: fmtBytes(p), Own: "relay " + fmtBytes(peaks[tRelay]), Met: p > 0 && p <= 150e6})
	}
	return nil
}

// large is scenario 6: 10 MB answers, plain and streamed, and how much the
// gateway's memory grows while one passes through it.
func (r *gwRun) large(ctx context.Context) error {
	size := r.h.o.Scale.LargeBytes
	sz := strconv.FormatInt(size, 10)
	kinds := []struct {
		name  string
		c     call
		shape http.Header
	}{
		{fmtBytes(size) + " JSON", openAIChat(false), shape(fakeupstream.HeaderContentBytes, sz, fakeupstream.HeaderEncoding, "identity")},
		{fmtBytes(size) + " JSON, gzip", openAIChat(false).withGzip(), shape(fakeupstream.HeaderContentBytes, sz, fakeupstream.HeaderEncoding, "gzip")},
		{fmtBytes(size) + " SSE, 2,000 events", openAIChat(true), shape(fakeupstream.HeaderContentBytes, sz, fakeupstream.HeaderEvents, "2000")},
		{fmtBytes(size) + " SSE, 10 events of " + fmtBytes(size/10), openAIChat(true), shape(fakeupstream.HeaderContentBytes, sz, fakeupstream.HeaderEvents, "10")},
	}
	defer r.h.up.Shape(nil)
	tb := table{
		Caption: "One call at a time; growth = peak RSS during the call − RSS before it, after a warm-up call of a tenth of the size",
		Head:    []string{"body", "direct time", "pipe time", "relay time", "gateway time", "gateway/direct", "bytes direct / gateway", "gateway RSS before", "peak", "growth"},
	}
	for _, k := range kinds {
		ts := r.targets(1)
		warm := k.shape.Clone()
		warm.Set(fakeupstream.HeaderContentBytes, strconv.FormatInt(size/10, 10))
		r.h.up.Shape(warm)
		for _, t := range ts {
			status, _, err := t.fetch(ctx, k.c)
			if t.name == tGateway && status > 0 {
				r.answered.Add(1)
			}
			if err != nil {
				return fmt.Errorf("%s warm-up via %s: %w", k.name, t.name, err)
			}
		}
		r.h.up.Shape(k.shape)

		times := map[string]time.Duration{}
		sizes := map[string]int64{}
		var before memInfo
		var peak int64
		var exact bool
		for _, t := range ts {
			var status int
			fetch := func() error {
				t0 := time.Now()
				var err error
				status, sizes[t.name], err = t.fetch(ctx, k.c)
				times[t.name] = time.Since(t0)
				return err
			}
			var err error
			if t.name == tGateway {
				if before, err = r.g.mem(); err != nil {
					return err
				}
				peak, exact, err = peakDuring(t.pid, fetch)
				if status > 0 {
					r.answered.Add(1)
				}
			} else {
				err = fetch()
			}
			if err != nil || status != http.StatusOK {
				return fmt.Errorf("%s via %s: status %d, %v", k.name, t.name, status, err)
			}
		}
		closeTargets(ts...)
		growth := peak - before.RSS
		peakNote := fmtBytes(peak)
		if !exact {
			peakNote += " (sampled)"
		}
		tb.Rows = append(tb.Rows, []string{k.name, fmtDur(times[tDirect]), fmtDur(times[tPipe]), fmtDur(times[tRelay]), fmtDur(times[tGateway]),
			fmtRatio(float64(times[tGateway]) / float64(times[tDirect])),
			fmt.Sprintf("%d / %d", sizes[tDirect], sizes[tGateway]), fmtBytes(before.RSS), peakNote, fmtBytes(growth)})
		r.h.report.check("6", r.drv, "gateway RSS growth, "+k.name, "< 2 MB", fmtBytes(growth), growth < 2e6)
	}
	r.h.report.section("6").add(r.drv, tb)
	return nil
}
