package limits

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/store"
)

// DefaultSyncInterval is how often Sync runs: this replica's totals are
// written, every replica's are read back and overrides are reloaded. A
// call settled on one replica is counted by every other within two
// intervals (its writer's and the reader's) plus the store's latency.
const DefaultSyncInterval = 500 * time.Millisecond

// How long rows are kept after their period ends: days and months a day,
// minutes (read only while current or previous) two minutes, deleted every
// cleanupEvery.
const (
	counterRetention = 24 * time.Hour
	minuteRetention  = 2 * time.Minute
	cleanupEvery     = 30 * time.Second
)

// Syncer makes a Limiter's day and month totals durable and shared: in the
// background, never on the request path, it writes this replica's own
// totals (settled spend plus the reservations of its calls in flight),
// reads every other replica's (and earlier runs', a restarted gateway
// being a new replica) as the counters' base, and reloads the overrides.
type Syncer struct {
	l        *Limiter
	st       store.Limits
	replica  string
	every    time.Duration
	log      *slog.Logger
	cleanup  time.Time // when old periods were last deleted
	now      func() time.Time
	failures int
}

// SyncOptions tunes a Syncer; zero values take the defaults.
type SyncOptions struct {
	Interval time.Duration // default DefaultSyncInterval
	Logger   *slog.Logger
	Now      func() time.Time // the clock; default time.Now
}

// NewSyncer returns a Syncer for l on st, as a new replica.
func NewSyncer(l *Limiter, st store.Limits, opts SyncOptions) *Syncer {
	if opts.Interval <= 0 {
		opts.Interval = DefaultSyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Syncer{l: l, st: st, replica: uuid.NewString(), every: opts.Interval, log: opts.Logger, now: opts.Now}
}

// Sync writes this replica's changed totals, then reads every total of
// the current periods and the overrides. It is what Run does each
// interval, and what the gateway does once at start, before serving, so
// that a restart remembers today's spend.
func (s *Syncer) Sync(ctx context.Context) error {
	now := s.now()
	if err := s.flush(ctx, now); err != nil {
		return err
	}
	// Periods still current, and the minute before this one.
	rows, err := s.st.LimitCounters(ctx, now.Add(-time.Minute))
	if err != nil {
		return err
	}
	s.applyBases(rows, periodsAt(now))
	ovs, err := s.st.LimitOverrides(ctx)
	if err != nil {
		return err
	}
	s.l.SetOverrides(OverridesFrom(ovs))
	if now.Sub(s.cleanup) > cleanupEvery {
		if _, err := s.st.DeleteLimitCounters(ctx, now.Add(-counterRetention), now.Add(-minuteRetention)); err != nil {
			return err
		}
		s.cleanup = now
	}
	return nil
}

// Flush writes this replica's changed totals; the gateway calls it once
// more at shutdown, after the last call settled.
func (s *Syncer) Flush(ctx context.Context) error { return s.flush(ctx, s.now()) }

// Run syncs every interval until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sync(ctx); err != nil && ctx.Err() == nil {
				// Counting goes on in memory; only sharing and durability wait.
				if s.failures++; s.failures == 1 || s.failures%120 == 0 {
					s.log.Warn("syncing limit counters with the store failed; will retry", "err", err, "failures", s.failures)
				}
			} else {
				s.failures = 0
			}
		}
	}
}

func dayPeriod(day int64) (string, time.Time) {
	return dayStart(day).Format(time.DateOnly), dayStart(day + 1)
}

func monthPeriod(month int64) (string, time.Time) {
	return monthStart(month).Format("2006-01"), monthStart(month + 1)
}

func minutePeriod(minute int64) (string, time.Time) {
	start := time.Unix(minute*windowSeconds, 0).UTC()
	return start.Format("2006-01-02T15:04"), start.Add(time.Minute)
}

// flush hands every changed counter's totals to the store. A counter whose
// write failed is marked changed again.
func (s *Syncer) flush(ctx context.Context, now time.Time) error {
	p := periodsAt(now)
	var (
		batch []store.LimitCounter
		sent  []*counter
	)
	s.l.mu.RLock()
	for k, c := range s.l.counters {
		c.mu.Lock()
		if c.dirty {
			c.roll(p)
			subject := k.String()
			day, dayEnd := dayPeriod(c.day)
			month, monthEnd := monthPeriod(c.month)
			m := floorDiv(p.second, windowSeconds)
			c.rollMinute(m)
			// The previous minute too: calls of its last moments, and
			// settlements of its calls, came after its last write.
			for j := range 2 {
				minute, minuteEnd := minutePeriod(m - int64(j))
				batch = append(batch, store.LimitCounter{Replica: s.replica, Subject: subject, Period: minute, PeriodEnd: minuteEnd,
					Requests: c.ownMinReqs[j], Tokens: c.ownMinToks[j], UpdatedAt: now})
			}
			batch = append(batch,
				store.LimitCounter{Replica: s.replica, Subject: subject, Period: day, PeriodEnd: dayEnd,
					Tokens: c.dayTokens + c.dayResTokens, NanoUSD: c.dayNano + c.dayResNano, UpdatedAt: now},
				store.LimitCounter{Replica: s.replica, Subject: subject, Period: month, PeriodEnd: monthEnd,
					NanoUSD: c.monthNano + c.monthResNano, UpdatedAt: now})
			c.dirty = false
			sent = append(sent, c)
		}
		c.mu.Unlock()
	}
	s.l.mu.RUnlock()
	if len(batch) == 0 {
		return nil
	}
	if err := s.st.SaveLimitCounters(ctx, batch); err != nil {
		for _, c := range sent {
			c.mu.Lock()
			c.dirty = true
			c.mu.Unlock()
		}
		return err
	}
	return nil
}

// applyBases makes the other replicas' totals of the current periods each
// counter's base, creating counters for subjects only others have used.
func (s *Syncer) applyBases(rows []store.LimitCounter, p periods) {
	type base struct {
		dayTokens, dayNano, monthNano    int64
		reqCur, tokCur, reqPrev, tokPrev int64
	}
	day, _ := dayPeriod(p.day)
	month, _ := monthPeriod(p.month)
	m := floorDiv(p.second, windowSeconds)
	cur, _ := minutePeriod(m)
	prev, _ := minutePeriod(m - 1)
	bases := map[subjectKey]base{}
	for _, r := range rows {
		if r.Replica == s.replica {
			continue
		}
		k, ok := parseSubject(r.Subject)
		if !ok {
			continue
		}
		b := bases[k]
		switch r.Period {
		case day:
			b.dayTokens += r.Tokens
			b.dayNano += r.NanoUSD
		case month:
			b.monthNano += r.NanoUSD
		case cur:
			b.reqCur += r.Requests
			b.tokCur += r.Tokens
		case prev:
			b.reqPrev += r.Requests
			b.tokPrev += r.Tokens
		default:
			continue
		}
		bases[k] = b
	}
	for k := range bases {
		s.l.counter(k) // subjects known only from the store
	}
	s.l.mu.RLock()
	defer s.l.mu.RUnlock()
	for k, c := range s.l.counters {
		b := bases[k]
		c.mu.Lock()
		c.roll(p)
		c.dayBaseTokens, c.dayBaseNano, c.monthBaseNano = b.dayTokens, b.dayNano, b.monthNano
		c.baseMinute = m
		c.baseReqCur, c.baseTokCur, c.baseReqPrev, c.baseTokPrev = b.reqCur, b.tokCur, b.reqPrev, b.tokPrev
		c.mu.Unlock()
	}
}

// OverridesFrom converts stored overrides for SetOverrides.
func OverridesFrom(ovs []store.LimitOverride) map[string]Override {
	out := make(map[string]Override, len(ovs))
	for _, o := range ovs {
		var v Override
		for k, p := range [NumKinds]*int64{o.RequestsPerMinute, o.TokensPerMinute, o.TokensPerDay, o.NanoUSDPerDay, o.NanoUSDPerMonth} {
			if p != nil {
				v.Has[k], v.Values[k] = true, *p
			}
		}
		out[o.Subject] = v
	}
	return out
}

// StoredOverride converts an override for the store.
func StoredOverride(subject string, o Override) store.LimitOverride {
	out := store.LimitOverride{Subject: subject}
	fields := [NumKinds]**int64{&out.RequestsPerMinute, &out.TokensPerMinute, &out.TokensPerDay, &out.NanoUSDPerDay, &out.NanoUSDPerMonth}
	for k := range NumKinds {
		if o.Has[k] {
			v := o.Values[k]
			*fields[k] = &v
		}
	}
	return out
}
