package tenancy

import (
	"context"
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

// AuditSink is where audit batches go; store.Audit satisfies it.
type AuditSink interface {
	InsertAudit(ctx context.Context, batch []store.AuditEvent) error
}

// AuditOptions tunes an AuditLog. Zero values take the defaults.
type AuditOptions struct {
	QueueSize     int           // events held before drops; default 8192
	BatchSize     int           // events per insert; default 256
	FlushInterval time.Duration // a partial batch waits at most this long; default 100ms
	Logger        *slog.Logger
}

// AuditStats counts what happened to audit events.
type AuditStats struct {
	Written int64
	Dropped int64 // queue full or log closed
	Lost    int64 // given up at shutdown after failed writes
}

// AuditLog writes audit events asynchronously, in the manner of
// trace.Writer: Record hands an event to a bounded queue without blocking
// (a flood of refused requests must not slow the gateway down or grow its
// memory), and one goroutine batches events into the store, retrying a
// failed batch until it lands or shutdown gives up. Drops are counted and
// logged, never silent.
type AuditLog struct {
	sink  AuditSink
	opts  AuditOptions
	queue chan store.AuditEvent
	log   *slog.Logger

	written, dropped, lost atomic.Int64
	lastDropLog            atomic.Int64 // unix seconds; drops are logged at most once a second

	closing  chan struct{}
	deadline chan struct{}
	done     chan struct{}
	once     sync.Once
}

// NewAuditLog starts an audit log writing to sink.
func NewAuditLog(sink AuditSink, opts AuditOptions) *AuditLog {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 8192
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	l := &AuditLog{
		sink: sink, opts: opts, log: opts.Logger,
		queue:    make(chan store.AuditEvent, opts.QueueSize),
		closing:  make(chan struct{}),
		deadline: make(chan struct{}),
		done:     make(chan struct{}),
	}
	go l.run()
	return l
}

// Record queues ev, filling in its id and time when empty. It never blocks.
func (l *AuditLog) Record(ev store.AuditEvent) {
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
	select {
	case l.queue <- ev:
	default:
		l.drop(ev)
	}
}

func (l *AuditLog) drop(ev store.AuditEvent) {
	l.dropped.Add(1)
	now := time.Now().Unix()
	if last := l.lastDropLog.Load(); now > last && l.lastDropLog.CompareAndSwap(last, now) {
		l.log.Warn("audit event dropped: queue full or log closed", "action", ev.Action, "dropped_total", l.dropped.Load())
	}
}

// Stats returns the counters.
func (l *AuditLog) Stats() AuditStats {
	return AuditStats{Written: l.written.Load(), Dropped: l.dropped.Load(), Lost: l.lost.Load()}
}

// Close stops accepting events and writes everything queued. If ctx ends
// first, retries stop and what remains is counted as lost.
func (l *AuditLog) Close(ctx context.Context) error {
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

func (l *AuditLog) run() {
	defer close(l.done)
	batch := make([]store.AuditEvent, 0, l.opts.BatchSize)
	ticker := time.NewTicker(l.opts.FlushInterval)
	defer ticker.Stop()
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
func (l *AuditLog) flush(batch []store.AuditEvent) []store.AuditEvent {
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
