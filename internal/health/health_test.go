package health

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ongoingai/gateway/internal/trace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor polls the probe's report until ok says it is the one wanted.
func waitFor(t *testing.T, p *Probe, what string, ok func(Report) bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !ok(p.Report()); {
		if time.Now().After(deadline) {
			t.Fatalf("probe never reported %s: %+v", what, p.Report())
		}
		time.Sleep(time.Millisecond)
	}
}

// The probe follows the store and the writer both ways; the end-to-end
// tests drive it with a real stopped and frozen Postgres.
func TestProbeFollowsStoreAndWriter(t *testing.T) {
	var down atomic.Bool
	var stats atomic.Pointer[trace.Stats]
	stats.Store(&trace.Stats{})
	p := Start(Options{
		Ping: func(context.Context) error {
			if down.Load() {
				return errors.New("connection refused")
			}
			return nil
		},
		Stats:    func() trace.Stats { return *stats.Load() },
		Interval: time.Millisecond,
	})
	defer p.Stop()
	if r := p.Report(); !r.OK() || r.CheckedAt.IsZero() {
		t.Fatalf("initial report %+v, want ok", r)
	}
	down.Store(true)
	waitFor(t, p, "store unreachable", func(r Report) bool { return !r.StoreReachable && !r.OK() })
	down.Store(false)
	waitFor(t, p, "store reachable", func(r Report) bool { return r.OK() })

	// Failures and nothing written over an interval: failing.
	failing := func() {
		for i := int64(1); ; i++ {
			stats.Store(&trace.Stats{WriteFailures: i})
			if p.Report().WriterFailing {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	failing()
	// Written again, no new failure: recovered.
	stats.Store(&trace.Stats{WriteFailures: stats.Load().WriteFailures, Written: 1})
	waitFor(t, p, "writer writing", func(r Report) bool { return r.OK() })
}

// A ping hung on a frozen store does not hold up Stop.
func TestProbeStopDoesNotWaitForAHungPing(t *testing.T) {
	pinging := make(chan struct{}, 1)
	p := Start(Options{
		Ping: func(ctx context.Context) error {
			select {
			case pinging <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		},
		Interval: time.Millisecond,
		Timeout:  time.Hour,
	})
	<-pinging
	p.Stop()
	if !p.Report().StoreReachable {
		t.Fatal("stopping the probe was reported as the store's failure")
	}
}
