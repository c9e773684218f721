// Package health keeps the gateway's view of its own health in memory, so
// that /api/health can be probed as often as a load balancer likes without
// a database round trip per call: a background probe pings the store every
// interval and reads the trace writer's counters, and the API serves the
// last result. The answer is therefore at most interval + timeout old.
package health

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// Report is the probe's last finding.
type Report struct {
	// StoreReachable is false when the last ping failed or did not answer
	// within the timeout.
	StoreReachable bool
	// CheckedAt is when the store was last probed (or opened).
	CheckedAt time.Time
	// WriterFailing is true when, over the last interval, the trace writer
	// failed to write and wrote nothing: traces are piling up in its queue.
	WriterFailing bool
}

// OK reports whether nothing is wrong: the gateway is ready for traffic
// that must be recorded.
func (r Report) OK() bool { return r.StoreReachable && !r.WriterFailing }

// Options configures a Probe.
type Options struct {
	// Ping checks that the store answers (store.Store's Ping).
	Ping func(context.Context) error
	// Stats reads the trace writer's counters; nil means no writer check.
	Stats func() trace.Stats
	// Interval between probes; Timeout bounds each ping.
	Interval, Timeout time.Duration
	Logger            *slog.Logger
}

// Probe is the background checker. Its zero value is not usable; call
// Start.
type Probe struct {
	opts  Options
	state atomic.Pointer[Report]
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
}

// Start starts probing. The first report says the store is reachable as of
// now: it is called right after the store was opened, which is proof
// enough, and it spares startup a second round trip.
func Start(opts Options) *Probe {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = opts.Interval
	}
	p := &Probe{opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	p.state.Store(&Report{StoreReachable: true, CheckedAt: time.Now()})
	go p.run()
	return p
}

// Report returns the last finding; it never touches the store.
func (p *Probe) Report() Report { return *p.state.Load() }

// Stop ends the probe and waits for it.
func (p *Probe) Stop() {
	p.once.Do(func() { close(p.stop) })
	<-p.done
}

func (p *Probe) run() {
	defer close(p.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// A ping stuck on a frozen store must not hold up Stop.
		select {
		case <-p.stop:
			cancel()
		case <-p.done:
		}
	}()
	var prev trace.Stats
	if p.opts.Stats != nil {
		prev = p.opts.Stats()
	}
	ticker := time.NewTicker(p.opts.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ticker.C:
		}
		next := Report{CheckedAt: time.Now()}
		pctx, pcancel := context.WithTimeout(ctx, p.opts.Timeout)
		err := p.opts.Ping(pctx)
		pcancel()
		if ctx.Err() != nil {
			return // stopped mid-ping: that failure is ours, not the store's
		}
		next.StoreReachable = err == nil
		if p.opts.Stats != nil {
			s := p.opts.Stats()
			next.WriterFailing = s.WriteFailures > prev.WriteFailures && s.Written == prev.Written
			prev = s
		}
		last := p.state.Swap(&next)
		p.logChange(*last, next, err)
	}
}

// logChange logs transitions only, so a long outage is one line, not one
// per interval. The error text goes to the log, never to API clients.
func (p *Probe) logChange(last, next Report, err error) {
	log := p.opts.Logger
	switch {
	case last.StoreReachable && !next.StoreReachable:
		log.Warn("store unreachable: /api/health reports degraded", "err", err)
	case !last.StoreReachable && next.StoreReachable:
		log.Info("store reachable again")
	}
	switch {
	case !last.WriterFailing && next.WriterFailing:
		log.Warn("trace writer failing: /api/health reports degraded")
	case last.WriterFailing && !next.WriterFailing:
		log.Info("trace writer writing again")
	}
}
