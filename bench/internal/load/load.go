// Package load is the harness's load generator: it drives an operation
// (usually one HTTP call) either from a fixed number of workers that each
// start the next call when the last one ends (closed loop, for "how fast can
// it go") or at a fixed arrival rate regardless of how fast answers come
// (open loop, for "how slow does it get under this load"). Every run is
// bounded both in calls and in time, and records latencies into a
// histogram; errors are counted, never hidden in the latency figures.
package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/bench/internal/hist"
)

// Options bounds and shapes one run.
type Options struct {
	// Concurrency is the number of workers: each keeps one call in
	// flight in closed-loop mode; in fixed-rate mode it caps the calls in
	// flight, and arrivals that find every worker busy wait for one (their
	// wait counts in their latency).
	Concurrency int
	// Rate, when positive, selects fixed-rate mode: calls start at this
	// many per second. Zero selects closed-loop mode.
	Rate float64
	// Requests caps the calls started. Required.
	Requests int64
	// Duration caps the time during which calls are started; calls in
	// flight at the end are let finish. Required.
	Duration time.Duration
}

// Op performs one call on behalf of worker (0 ≤ worker < Concurrency) and
// returns the HTTP status it got, zero when there was no response, and an
// error when the call failed. It must honour ctx.
type Op func(ctx context.Context, worker int) (status int, err error)

// Result is what one run observed.
type Result struct {
	// Completed counts calls that returned, whatever the outcome.
	Completed int64
	// Answered counts calls that got an HTTP response (any status).
	Answered int64
	// Errors counts calls that failed or got a status ≥ 400.
	Errors int64
	// Status counts calls by HTTP status (0: no response).
	Status map[int]int64
	// FirstError describes the first failure, for the report.
	FirstError string
	// Latency holds successful calls only: from the call's start in
	// closed-loop mode, from its scheduled start in fixed-rate mode, so a
	// stall shows up in every call it delayed (no coordinated omission).
	Latency *hist.Histogram
	// Elapsed runs from the first call's start to the last call's end.
	Elapsed time.Duration
}

// Throughput is successful calls per second over the run.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Completed-r.Errors) / r.Elapsed.Seconds()
}

// Merge adds o's counts and samples to r, for runs split into interleaved
// rounds; elapsed times add up, so Throughput stays the mean rate.
func (r *Result) Merge(o *Result) {
	r.Completed += o.Completed
	r.Answered += o.Answered
	r.Errors += o.Errors
	if r.Status == nil {
		r.Status = map[int]int64{}
	}
	for k, v := range o.Status {
		r.Status[k] += v
	}
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	if r.Latency == nil {
		r.Latency = hist.New()
	}
	r.Latency.Merge(o.Latency)
	r.Elapsed += o.Elapsed
}

// workerStats is one worker's tally, merged at the end so that workers
// never share a counter on the hot path.
type workerStats struct {
	completed, answered, errors int64
	status                      map[int]int64
	firstErr                    string
}

func (s *workerStats) note(status int, err error) bool {
	s.completed++
	if status > 0 {
		s.answered++
	}
	s.status[status]++
	ok := err == nil && status > 0 && status < 400
	if !ok {
		s.errors++
		if s.firstErr == "" {
			if err != nil {
				s.firstErr = err.Error()
			} else {
				s.firstErr = fmt.Sprintf("HTTP %d", status)
			}
		}
	}
	return ok
}

// Run drives op under o until o.Requests calls have started, o.Duration has
// passed or ctx ends, whichever comes first, and waits for the calls in
// flight.
func Run(ctx context.Context, o Options, op Op) (*Result, error) {
	if o.Concurrency < 1 {
		return nil, errors.New("load: concurrency must be at least 1")
	}
	if o.Requests < 1 || o.Duration <= 0 {
		return nil, errors.New("load: a run needs both a request bound and a time bound")
	}
	if o.Rate < 0 {
		return nil, errors.New("load: rate must not be negative")
	}
	lat := hist.New()
	stats := make([]workerStats, o.Concurrency)
	for i := range stats {
		stats[i].status = map[int]int64{}
	}
	start := time.Now()
	deadline := start.Add(o.Duration)
	var wg sync.WaitGroup

	if o.Rate == 0 {
		var started atomic.Int64
		for w := range o.Concurrency {
			wg.Go(func() {
				st := &stats[w]
				for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= o.Requests {
					t0 := time.Now()
					status, err := op(ctx, w)
					if st.note(status, err) {
						lat.Record(time.Since(t0))
					}
				}
			})
		}
	} else {
		// Tickets carry each call's scheduled start. The buffer holds one
		// per worker; beyond that the dispatcher waits, and the calls it
		// then releases late still measure from their schedule.
		tickets := make(chan time.Time, o.Concurrency)
		for w := range o.Concurrency {
			wg.Go(func() {
				st := &stats[w]
				for due := range tickets {
					status, err := op(ctx, w)
					if st.note(status, err) {
						lat.Record(time.Since(due))
					}
				}
			})
		}
		interval := time.Duration(float64(time.Second) / o.Rate)
		timer := time.NewTimer(0)
		<-timer.C
	dispatch:
		for i := int64(0); i < o.Requests; i++ {
			due := start.Add(time.Duration(i) * interval)
			if !due.Before(deadline) {
				break
			}
			if wait := time.Until(due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					break dispatch
				}
			}
			select {
			case tickets <- due:
			case <-ctx.Done():
				break dispatch
			}
		}
		timer.Stop()
		close(tickets)
	}
	wg.Wait()

	res := &Result{Status: map[int]int64{}, Latency: lat, Elapsed: time.Since(start)}
	for i := range stats {
		s := &stats[i]
		res.Completed += s.completed
		res.Answered += s.answered
		res.Errors += s.errors
		for k, v := range s.status {
			res.Status[k] += v
		}
		if res.FirstError == "" {
			res.FirstError = s.firstErr
		}
	}
	return res, ctx.Err()
}
