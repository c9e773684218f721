// Package limits enforces rate limits and budgets per gateway key,
// workspace and organization, in memory, on the request path.
//
// Before a call is forwarded, Admit reserves its worst case (see Estimate)
// against every limit that applies, and admits it only if what is spent
// plus what is reserved plus this reservation stays within each limit. When
// the call ends, Settle replaces the reservation with the exact usage and
// cost of its trace (zero for a call that failed). Concurrent calls
// therefore see each other's reservations: a burst against a small budget
// admits only what the budget can pay for.
//
// Minutes are sliding windows of one-second buckets; days and months are
// UTC calendar periods. The totals (per day and month, and per fixed
// minute for the other replicas' share of a sliding minute) are made
// durable and shared between replicas in the background (see Syncer),
// never on the request path.
package limits

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

// Scope is who a limit applies to.
type Scope uint8

// The scopes, in the order a call's limits are checked.
const (
	ScopeKey Scope = iota
	ScopeWorkspace
	ScopeOrg
	numScopes
)

var scopeNames = [numScopes]string{"key", "workspace", "org"}

// String is the scope's name in answers, metrics and the API: key,
// workspace or org.
func (s Scope) String() string { return scopeNames[s] }

// Kind is what a limit bounds.
type Kind uint8

// The kinds, in the order a scope's limits are checked.
const (
	RequestsPerMinute Kind = iota
	TokensPerMinute
	TokensPerDay
	USDPerDay
	USDPerMonth
	NumKinds
)

var kindNames = [NumKinds]string{"requests_per_minute", "tokens_per_minute", "tokens_per_day", "usd_per_day", "usd_per_month"}

// String is the kind's name as configured: requests_per_minute, ...
func (k Kind) String() string { return kindNames[k] }

// IsUSD reports whether the kind's values are nano-USD.
func (k Kind) IsUSD() bool { return k == USDPerDay || k == USDPerMonth }

// KindByName returns the kind named as in the configuration.
func KindByName(name string) (Kind, bool) {
	for k, n := range kindNames {
		if n == name {
			return Kind(k), true
		}
	}
	return 0, false
}

// Set is one subject's limits, indexed by Kind; 0 means no limit. Dollar
// limits are in nano-USD, the unit of trace costs.
type Set [NumKinds]int64

// nanoPerUSD converts dollars to the nano-USD of trace costs.
const nanoPerUSD = 1e9

// USDToNano converts a dollar amount to nano-USD, rounding to the nearest.
func USDToNano(usd float64) int64 { return int64(usd*nanoPerUSD + 0.5) }

// FormatValue writes a limit's value in its unit: a count, or dollars
// with as many decimals as needed.
func FormatValue(k Kind, v int64) string {
	if !k.IsUSD() {
		return strconv.FormatInt(v, 10)
	}
	return strconv.FormatFloat(float64(v)/nanoPerUSD, 'f', -1, 64)
}

// SetFromConfig converts one scope's configured limits.
func SetFromConfig(c config.LimitSet) Set {
	return Set{
		RequestsPerMinute: c.RequestsPerMinute,
		TokensPerMinute:   c.TokensPerMinute,
		TokensPerDay:      c.TokensPerDay,
		USDPerDay:         USDToNano(c.USDPerDay),
		USDPerMonth:       USDToNano(c.USDPerMonth),
	}
}

// Override replaces some of a scope's default limits for one key or
// workspace: each kind whose Has bit is set takes its value from Values (0
// lifting the limit); the others keep the default.
type Override struct {
	Values Set
	Has    [NumKinds]bool
}

// Apply returns def with o's values in place.
func (o Override) Apply(def Set) Set {
	for k := range NumKinds {
		if o.Has[k] {
			def[k] = o.Values[k]
		}
	}
	return def
}

// Subject is the caller a call is charged to. An empty id leaves its
// scope out (a gateway without auth has no subjects and no limits).
type Subject struct {
	OrgID, WorkspaceID, KeyID string
}

// subjectKey names one counter. Keys are addressed by id alone (key ids
// are unique in the installation); workspaces by org and id.
type subjectKey struct {
	scope Scope
	a, b  string
}

func keyOf(scope Scope, s Subject) (subjectKey, bool) {
	switch scope {
	case ScopeKey:
		return subjectKey{ScopeKey, s.KeyID, ""}, s.KeyID != ""
	case ScopeWorkspace:
		return subjectKey{ScopeWorkspace, s.OrgID, s.WorkspaceID}, s.OrgID != "" && s.WorkspaceID != ""
	default:
		return subjectKey{ScopeOrg, s.OrgID, ""}, s.OrgID != ""
	}
}

// String is the subject as stored: key:ID, workspace:ORG/ID or org:ID.
// Ids never contain ":" or "/" (tenancy.ValidID).
func (k subjectKey) String() string {
	switch k.scope {
	case ScopeWorkspace:
		return "workspace:" + k.a + "/" + k.b
	default:
		return k.scope.String() + ":" + k.a
	}
}

func parseSubject(s string) (subjectKey, bool) {
	for sc := range numScopes {
		p := sc.String() + ":"
		if len(s) <= len(p) || s[:len(p)] != p {
			continue
		}
		rest := s[len(p):]
		if sc != ScopeWorkspace {
			return subjectKey{sc, rest, ""}, true
		}
		for i := 0; i < len(rest); i++ {
			if rest[i] == '/' && i > 0 && i < len(rest)-1 {
				return subjectKey{sc, rest[:i], rest[i+1:]}, true
			}
		}
		return subjectKey{}, false
	}
	return subjectKey{}, false
}

// KeySubject, WorkspaceSubject and OrgSubject name one subject for
// overrides and status reads.
func KeySubject(keyID string) string { return subjectKey{ScopeKey, keyID, ""}.String() }
func WorkspaceSubject(orgID, wsID string) string {
	return subjectKey{ScopeWorkspace, orgID, wsID}.String()
}
func OrgSubject(orgID string) string { return subjectKey{ScopeOrg, orgID, ""}.String() }

// Cost is what a call spends: tokens and nano-USD.
type Cost struct {
	Tokens  int64
	NanoUSD int64
}

// Limiter holds the counters and the limits in force. Its methods are
// safe for concurrent use.
type Limiter struct {
	defaults [numScopes]Set
	// overrides is replaced whole (SetOverrides), never modified.
	overrides atomic.Pointer[map[subjectKey]Override]
	// on is false while no default and no override sets any limit: Admit
	// then does nothing at all.
	on atomic.Bool

	mu       sync.RWMutex
	counters map[subjectKey]*counter

	// refusals counts the calls refused, by scope and kind, for metrics.
	refusals [numScopes][NumKinds]atomic.Int64
}

// New returns a Limiter with the configured defaults.
func New(cfg config.Limits) *Limiter {
	l := &Limiter{counters: map[subjectKey]*counter{}}
	l.defaults = [numScopes]Set{SetFromConfig(cfg.PerKey), SetFromConfig(cfg.PerWorkspace), SetFromConfig(cfg.PerOrg)}
	empty := map[subjectKey]Override{}
	l.overrides.Store(&empty)
	l.on.Store(l.defaults != [numScopes]Set{})
	return l
}

// Enabled reports whether any limit is set, by default or override.
func (l *Limiter) Enabled() bool { return l.on.Load() }

// SetOverrides replaces every override (subject as KeySubject or
// WorkspaceSubject returns it); subjects it cannot parse are skipped.
func (l *Limiter) SetOverrides(bySubject map[string]Override) {
	m := make(map[subjectKey]Override, len(bySubject))
	for s, o := range bySubject {
		if k, ok := parseSubject(s); ok {
			m[k] = o
		}
	}
	l.overrides.Store(&m)
	l.on.Store(l.defaults != [numScopes]Set{} || len(m) > 0)
}

// limitsOf is the limits in force for one subject.
func (l *Limiter) limitsOf(k subjectKey) Set {
	def := l.defaults[k.scope]
	if o, ok := (*l.overrides.Load())[k]; ok {
		return o.Apply(def)
	}
	return def
}

// counter returns the subject's counter, creating it on first use.
func (l *Limiter) counter(k subjectKey) *counter {
	l.mu.RLock()
	c := l.counters[k]
	l.mu.RUnlock()
	if c != nil {
		return c
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c = l.counters[k]; c == nil {
		c = &counter{}
		l.counters[k] = c
	}
	return c
}

// Status is one limit's state: its value, what is left of it and when
// that changes. For a refusal, Remaining is what was left before the call.
type Status struct {
	Kind      Kind
	Scope     Scope
	Limit     int64
	Used      int64
	Remaining int64
	ResetsAt  time.Time
}

// Reservation is an admitted call's hold on its counters. The zero value
// holds nothing; Settle must be called exactly once on any other.
type Reservation struct {
	counters [numScopes]*counter
	want     Cost
	second   int64 // the unix second whose bucket holds the reservation
	// Tightest is the admitted limit with the least left (relative to its
	// value), for the X-RateLimit headers; Tightest.Limit is 0 when no
	// limit applied.
	Tightest Status
}

// Admit reserves want against every limit that applies to sub at now. It
// returns the reservation, or ok false and the first limit the call would
// exceed (scopes key, workspace, org; kinds in Kind order).
func (l *Limiter) Admit(sub Subject, want Cost, now time.Time) (res Reservation, refused Status, ok bool) {
	if !l.on.Load() {
		return Reservation{}, Status{}, true
	}
	var (
		keys   [numScopes]subjectKey
		sets   [numScopes]Set
		active [numScopes]bool
	)
	for sc := range numScopes {
		k, present := keyOf(sc, sub)
		if !present {
			continue
		}
		keys[sc], sets[sc] = k, l.limitsOf(k)
		active[sc] = sets[sc] != Set{}
	}
	if active == [numScopes]bool{} {
		return Reservation{}, Status{}, true
	}
	p := periodsAt(now)
	// Counters are locked in scope order, the same for every call, so two
	// calls never wait for each other's second lock.
	// The counters are all found (l.mu) before any is locked: Sync locks
	// counters while holding l.mu.
	var held [numScopes]*counter
	for sc := range numScopes {
		if active[sc] {
			held[sc] = l.counter(keys[sc])
		}
	}
	for _, c := range held {
		if c != nil {
			c.mu.Lock()
		}
	}
	defer func() {
		for _, c := range held {
			if c != nil {
				c.mu.Unlock()
			}
		}
	}()
	bestFree := 2.0 // the tightest limit's share left; every share is ≤ 1
	for sc, c := range held {
		if c == nil {
			continue
		}
		c.roll(p)
		for k := range NumKinds {
			limit := sets[sc][k]
			if limit <= 0 {
				continue
			}
			used := c.used(k, p)
			need := want.of(k)
			if used+need > limit {
				l.refusals[sc][k].Add(1)
				// Nothing was reserved yet: the counters are unchanged.
				return Reservation{}, Status{
					Kind: k, Scope: Scope(sc), Limit: limit, Used: used, Remaining: max(limit-used, 0),
					ResetsAt: c.resetsAt(k, p, limit, need),
				}, false
			}
			left := limit - used - need
			if free := float64(left) / float64(limit); free < bestFree {
				bestFree = free
				res.Tightest = Status{Kind: k, Scope: Scope(sc), Limit: limit, Used: used + need, Remaining: left}
			}
		}
	}
	for _, c := range held {
		if c != nil {
			c.reserve(want, p)
		}
	}
	if t := &res.Tightest; t.Limit > 0 {
		t.ResetsAt = held[t.Scope].nextChange(t.Kind, p)
	}
	res.counters = held
	res.want, res.second = want, p.second
	return res, Status{}, true
}

// Settle replaces the reservation with what the call actually cost (zero
// tokens and cost for a call that failed before any output). The request
// itself stays counted in its minute.
func (r *Reservation) Settle(actual Cost, now time.Time) {
	if r.counters == [numScopes]*counter{} {
		return
	}
	p := periodsAt(now)
	for _, c := range r.counters {
		if c == nil {
			continue
		}
		c.mu.Lock()
		c.roll(p)
		c.settle(r.want, actual, r.second, p)
		c.mu.Unlock()
	}
	*r = Reservation{}
}

func (c Cost) of(k Kind) int64 {
	switch k {
	case RequestsPerMinute:
		return 1
	case TokensPerMinute, TokensPerDay:
		return c.Tokens
	default:
		return c.NanoUSD
	}
}

// Usage is the state of every limit of one subject (KeySubject,
// WorkspaceSubject or OrgSubject) at now, indexed by Kind: the limit in
// force (0: none), what counts against it (reservations of calls in
// flight included) and when that next goes down.
func (l *Limiter) Usage(subject string, now time.Time) ([NumKinds]Status, bool) {
	var out [NumKinds]Status
	k, ok := parseSubject(subject)
	if !ok {
		return out, false
	}
	set := l.limitsOf(k)
	p := periodsAt(now)
	c := l.counter(k)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.roll(p)
	for kind := range NumKinds {
		used := c.used(kind, p)
		out[kind] = Status{
			Kind: kind, Scope: k.scope, Limit: set[kind], Used: used,
			Remaining: max(set[kind]-used, 0), ResetsAt: c.nextChange(kind, p),
		}
	}
	return out, true
}

// Refusals calls yield with the number of calls refused so far for each
// limit kind and scope, every pair included (zeros too, so that a rate
// exists before the first refusal).
func (l *Limiter) Refusals(yield func(limit, scope string, n int64)) {
	for sc := range numScopes {
		for k := range NumKinds {
			yield(k.String(), sc.String(), l.refusals[sc][k].Load())
		}
	}
}
