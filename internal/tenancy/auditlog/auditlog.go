// Package auditlog keeps the audit log of gateway keys, organizations and
// workspaces: the actions and outcomes it records, and Log, the writer that
// takes events from the request path without blocking and batches them
// into the store, aggregating floods of authentication failures so they
// cannot grow it without bound. keyauth records the denials, the tenancy
// service the changes.
package auditlog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/store"
)

// Audit actions.
const (
	ActionAuthDeny        = "auth.deny"
	ActionKeyCreate       = "key.create"
	ActionKeyRotate       = "key.rotate"
	ActionKeyRevoke       = "key.revoke"
	ActionOrgCreate       = "org.create"
	ActionOrgRename       = "org.rename"
	ActionOrgDelete       = "org.delete"
	ActionWorkspaceCreate = "workspace.create"
	ActionWorkspaceRename = "workspace.rename"
	ActionWorkspaceDelete = "workspace.delete"
	// ActionPIIBlock is a request pii.mode block refused (internal/pii):
	// the route, the policy and the types found, never a value.
	ActionPIIBlock = "pii.block"
	// Limit overrides set (internal/limits); the reason lists them.
	ActionKeyLimits       = "key.limits"
	ActionWorkspaceLimits = "workspace.limits"
	// ActionPricingReprice is ongoingai pricing reprice: stored trace
	// costs recomputed, and their rollups corrected.
	ActionPricingReprice = "pricing.reprice"
)

// Audit outcomes.
const (
	OutcomeOK     = "ok"     // the change was made
	OutcomeDenied = "denied" // refused: authentication, permission or scope
	OutcomeError  = "error"  // attempted and failed: invalid, conflict or a store error
)

// Auditor receives audit events. Record must not block.
type Auditor interface {
	Record(ev store.AuditEvent)
}

// Sink is where audit batches go; store.Audit satisfies it.
type Sink interface {
	InsertAudit(ctx context.Context, batch []store.AuditEvent) error
}

// Options tunes a Log. Zero values take the defaults.
type Options struct {
	QueueSize     int           // events held before drops; default 8192
	BatchSize     int           // events per insert; default 256
	FlushInterval time.Duration // a partial batch waits at most this long; default 100ms
	// DenialWindow is the period over which identical authentication
	// failures are aggregated into one event; default one minute.
	DenialWindow time.Duration
	// DenialFlush is how often an aggregated event's grown count is
	// written; default one second.
	DenialFlush time.Duration
	// MaxDenials bounds the distinct aggregated denials per window;
	// further ones fold into a single overflow event. Default 256.
	MaxDenials int
	Logger     *slog.Logger
}

// DenialOverflowSource is the client_ip of the event that counts the
// denials of a window beyond Options.MaxDenials distinct ones.
const DenialOverflowSource = "*"

// denialKey says which denials aggregate into one event: the same source,
// actor, route and reason within one window.
type denialKey struct {
	window                                        int64 // unix nanoseconds of its start
	clientIP, actorKeyID, org, ws, target, reason string
}

// overflow reports whether k is a window's overflow event (a real client
// IP is never "*").
func (k denialKey) overflow() bool { return k.clientIP == DenialOverflowSource }

// denial is one aggregated event: the first denial of its kind in the
// window, its count so far, and the count last handed to the writer.
type denial struct {
	ev      store.AuditEvent
	written int64
}

// Stats counts what happened to audit events.
type Stats struct {
	Written int64
	Dropped int64 // queue full or log closed
	Lost    int64 // given up at shutdown after failed writes
}

// Log writes audit events asynchronously, in the manner of
// trace.Writer: Record hands an event to a bounded queue without blocking
// (a flood of refused requests must not slow the gateway down or grow its
// memory), and one goroutine batches events into the store, retrying a
// failed batch until it lands or shutdown gives up. Drops are counted and
// logged, never silent.
//
// Authentication failures (auth.deny) are aggregated, so that a flood of
// bad keys cannot grow the store without bound: the denials from one
// source (client IP) by one actor, on one route for one reason, within one
// window (a minute) are one event whose count says how many there were.
// The first is written at once, with count 1, so it is visible as soon as
// any event; its count is rewritten (same id) as more arrive, at most every
// DenialFlush, and is exact once its window has ended or the log closed.
// At most MaxDenials such events are kept per window; the denials beyond
// them are counted in one overflow event (client_ip "*"). Memory and rows
// per window are thus bounded whatever the traffic.
type Log struct {
	sink  Sink
	opts  Options
	queue chan store.AuditEvent
	log   *slog.Logger

	written, dropped, lost atomic.Int64
	lastDropLog            atomic.Int64 // unix seconds; drops are logged at most once a second

	denialMu  sync.Mutex
	denials   map[denialKey]*denial
	perWindow map[int64]int // distinct denials per window, for MaxDenials
	denialEnd bool          // the final counts are taken: later denials are drops

	closing  chan struct{}
	deadline chan struct{}
	done     chan struct{}
	once     sync.Once
}

// New starts an audit log writing to sink.
func New(sink Sink, opts Options) *Log {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.DenialWindow <= 0 {
		opts.DenialWindow = time.Minute
	}
	if opts.DenialFlush <= 0 {
		opts.DenialFlush = time.Second
	}
	if opts.MaxDenials <= 0 {
		opts.MaxDenials = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &Log{
		sink: sink, opts: opts, log: opts.Logger,
		denials: map[denialKey]*denial{}, perWindow: map[int64]int{},
		queue:    make(chan store.AuditEvent, opts.QueueSize),
		closing:  make(chan struct{}),
		deadline: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go l.run()
	return l
}

// Record queues ev, filling in its id and time when empty. It never blocks.
func (l *Log) Record(ev store.AuditEvent) {
	if ev.ID == "" {
		if id, err := uuid.NewV7(); err == nil {
			ev.ID = id.String()
		} else {
			ev.ID = uuid.NewString()
		}
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	sanitize(&ev)
	select {
	case <-l.closing:
		l.drop(ev)
		return
	default:
	}
	if ev.Action == ActionAuthDeny {
		l.recordDenial(ev)
		return
	}
	select {
	case l.queue <- ev:
	default:
		l.drop(ev)
	}
}

// recordDenial counts ev into its aggregated event, handing that event to
// the queue when it is new. Should the queue be full, the event is not
// lost: the run loop writes every event whose count it has not yet written.
func (l *Log) recordDenial(ev store.AuditEvent) {
	window := ev.Time.Truncate(l.opts.DenialWindow).UnixNano()
	k := denialKey{window: window, clientIP: ev.ClientIP, actorKeyID: ev.ActorKeyID,
		org: ev.OrgID, ws: ev.WorkspaceID, target: ev.Target, reason: ev.Reason}
	l.denialMu.Lock()
	defer l.denialMu.Unlock()
	if l.denialEnd {
		l.drop(ev)
		return
	}
	d := l.denials[k]
	if d == nil && l.perWindow[window] >= l.opts.MaxDenials {
		k = denialKey{window: window, clientIP: DenialOverflowSource}
		d = l.denials[k]
		if d == nil {
			ev = store.AuditEvent{
				ID: ev.ID, Time: ev.Time, Action: ActionAuthDeny, Outcome: OutcomeDenied,
				Reason:   fmt.Sprintf("denials beyond the first %d distinct ones of this period, from any source", l.opts.MaxDenials),
				ClientIP: DenialOverflowSource,
			}
		}
	}
	if d != nil {
		d.ev.Count++
		return
	}
	ev.Count = 1
	d = &denial{ev: ev}
	l.denials[k] = d
	if !k.overflow() {
		l.perWindow[window]++
	}
	select {
	case l.queue <- ev:
		d.written = 1
	default:
	}
}

// dueDenials returns the aggregated events whose count grew since it was
// last written, and forgets those whose window ended before now and whose
// count is written (all of them when final).
func (l *Log) dueDenials(now time.Time, final bool) []store.AuditEvent {
	l.denialMu.Lock()
	defer l.denialMu.Unlock()
	var due []store.AuditEvent
	for k, d := range l.denials {
		if d.ev.Count != d.written {
			due = append(due, d.ev)
			d.written = d.ev.Count
		}
		if final || time.Unix(0, k.window).Add(l.opts.DenialWindow).Before(now) {
			delete(l.denials, k)
			if !k.overflow() {
				if l.perWindow[k.window]--; l.perWindow[k.window] <= 0 {
					delete(l.perWindow, k.window)
				}
			}
		}
	}
	l.denialEnd = l.denialEnd || final
	return due
}

func (l *Log) drop(ev store.AuditEvent) {
	l.dropped.Add(1)
	now := time.Now().Unix()
	if last := l.lastDropLog.Load(); now > last && l.lastDropLog.CompareAndSwap(last, now) {
		l.log.Warn("audit event dropped: queue full or log closed", "action", ev.Action, "dropped_total", l.dropped.Load())
	}
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	return Stats{Written: l.written.Load(), Dropped: l.dropped.Load(), Lost: l.lost.Load()}
}

// Close stops accepting events and writes everything queued. If ctx ends
// first, retries stop and what remains is counted as lost.
func (l *Log) Close(ctx context.Context) error {
	l.once.Do(func() { close(l.closing) })
	select {
	case <-l.done:
		return nil
	case <-ctx.Done():
		close(l.deadline)
		<-l.done
		return ctx.Err()
	}
}

func (l *Log) run() {
	defer close(l.done)
	batch := make([]store.AuditEvent, 0, l.opts.BatchSize)
	ticker := time.NewTicker(l.opts.FlushInterval)
	defer ticker.Stop()
	denialTicker := time.NewTicker(l.opts.DenialFlush)
	defer denialTicker.Stop()
	for {
		select {
		case ev := <-l.queue:
			if batch = append(batch, ev); len(batch) >= l.opts.BatchSize {
				batch = l.flush(batch)
			}
		case <-ticker.C:
			if len(batch) > 0 {
				batch = l.flush(batch)
			}
		case now := <-denialTicker.C:
			for _, ev := range l.dueDenials(now, false) {
				if batch = append(batch, ev); len(batch) >= l.opts.BatchSize {
					batch = l.flush(batch)
				}
			}
		case <-l.closing:
			for {
				select {
				case ev := <-l.queue:
					if batch = append(batch, ev); len(batch) >= l.opts.BatchSize {
						batch = l.flush(batch)
					}
					continue
				default:
				}
				break
			}
			// Every aggregated count, exact: no denial is recorded once
			// closing is closed.
			for _, ev := range l.dueDenials(time.Now(), true) {
				if batch = append(batch, ev); len(batch) >= l.opts.BatchSize {
					batch = l.flush(batch)
				}
			}
			if len(batch) > 0 {
				l.flush(batch)
			}
			return
		}
	}
}

// flush writes one batch, retrying with backoff until it lands or the
// shutdown deadline passes (the store ignores duplicate ids, so a retry of
// a batch that did land is harmless).
func (l *Log) flush(batch []store.AuditEvent) []store.AuditEvent {
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := l.sink.InsertAudit(ctx, batch)
		cancel()
		if err == nil {
			l.written.Add(int64(len(batch)))
			return batch[:0]
		}
		l.log.Error("audit batch write failed; retrying", "attempt", attempt, "events", len(batch), "err", err)
		select {
		case <-l.deadline:
			l.lost.Add(int64(len(batch)))
			l.log.Error("audit events lost at shutdown", "events", len(batch), "err", err)
			return batch[:0]
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
}

// maxAuditField bounds every text field of an event.
const maxAuditField = 512

// sanitize makes an event safe to store whatever a client sent: fields
// such as the target carry request paths and ids, which may hold invalid
// UTF-8 or NUL bytes (from percent-decoding) that Postgres refuses. A batch
// the store refuses would be retried forever and block every later event.
func sanitize(ev *store.AuditEvent) {
	for _, f := range []*string{&ev.OrgID, &ev.WorkspaceID, &ev.ActorKeyID, &ev.Action, &ev.Target,
		&ev.Outcome, &ev.Reason, &ev.ClientIP, &ev.RequestID} {
		*f = cleanText(*f, maxAuditField)
	}
}

// cleanText replaces invalid UTF-8 and control characters with U+FFFD and
// cuts s to at most n bytes on a character boundary.
func cleanText(s string, n int) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f {
			clean = false
			break
		}
	}
	if !clean {
		s = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return utf8.RuneError
			}
			return r
		}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
