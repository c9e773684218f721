package keyauth

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// usageResolution is how finely last-used times are kept. Recording at most
// one change per key per second keeps a busy key's entry from bouncing
// between CPU caches on every request.
const usageResolution = time.Second

// usageEntry is one key's last use. last is written on the request path;
// flushed only by the flusher, under UsageTracker.flushMu.
type usageEntry struct {
	last    atomic.Int64 // unix nanoseconds
	flushed int64
}

// TouchSink is where last-used times go; store.Tenancy satisfies it.
type TouchSink interface {
	TouchKeys(ctx context.Context, lastUsed map[string]time.Time) error
}

// UsageTracker remembers when each key was last used, in memory, and writes
// the times to the store in the background: a database write per request
// would cost more than the request's whole authentication.
type UsageTracker struct {
	sink    TouchSink
	every   time.Duration
	log     *slog.Logger
	entries sync.Map // key id -> *usageEntry
	flushMu sync.Mutex
}

// NewUsageTracker returns a tracker that Run flushes to sink every interval
// (default 5s).
func NewUsageTracker(sink TouchSink, every time.Duration, logger *slog.Logger) *UsageTracker {
	if every <= 0 {
		every = 5 * time.Second
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &UsageTracker{sink: sink, every: every, log: logger}
}

// Touch records that key id was used at t. It never blocks and, once a key
// has been seen, never allocates.
func (u *UsageTracker) Touch(id string, t time.Time) {
	ns := t.UnixNano()
	v, ok := u.entries.Load(id)
	if !ok {
		v, _ = u.entries.LoadOrStore(id, &usageEntry{})
	}
	e := v.(*usageEntry)
	// A racy maximum is fine: two requests in the same second agree.
	if ns-e.last.Load() >= int64(usageResolution) {
		e.last.Store(ns)
	}
}

// LastUsed returns the most recent use of key id this process has seen, so
// listings can be fresher than the last flush.
func (u *UsageTracker) LastUsed(id string) (time.Time, bool) {
	v, ok := u.entries.Load(id)
	if !ok {
		return time.Time{}, false
	}
	ns := v.(*usageEntry).last.Load()
	if ns == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, ns).UTC(), true
}

// Flush writes every last-used time that changed since the previous flush.
// On failure the times stay pending for the next attempt.
func (u *UsageTracker) Flush(ctx context.Context) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	pending := map[string]time.Time{}
	seen := map[*usageEntry]int64{}
	u.entries.Range(func(k, v any) bool {
		e := v.(*usageEntry)
		if ns := e.last.Load(); ns > e.flushed {
			pending[k.(string)] = time.Unix(0, ns).UTC()
			seen[e] = ns
		}
		return true
	})
	if len(pending) == 0 {
		return nil
	}
	if err := u.sink.TouchKeys(ctx, pending); err != nil {
		return err
	}
	for e, ns := range seen {
		e.flushed = ns
	}
	return nil
}

// Run flushes every interval until ctx ends. The caller flushes once more
// at shutdown, after the last request.
func (u *UsageTracker) Run(ctx context.Context) {
	t := time.NewTicker(u.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := u.Flush(ctx); err != nil && ctx.Err() == nil {
				u.log.Warn("writing gateway key last-used times failed; will retry", "err", err)
			}
		}
	}
}
