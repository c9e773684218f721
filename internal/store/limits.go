package store

import (
	"context"
	"time"
)

// LimitCounter is one replica's own running totals for one subject in one
// UTC period (see internal/limits): absolute values, not deltas, so that
// saving the same totals twice changes nothing.
type LimitCounter struct {
	Replica   string
	Subject   string // key:ID, workspace:ORG/ID or org:ID
	Period    string // YYYY-MM-DD, YYYY-MM or YYYY-MM-DDTHH:MM
	PeriodEnd time.Time
	Requests  int64 // minutes only
	Tokens    int64
	NanoUSD   int64
	UpdatedAt time.Time
}

// LimitOverride replaces some default limits for one key or workspace. A
// nil limit keeps the default; 0 lifts it. Dollar limits are nano-USD.
type LimitOverride struct {
	Subject           string
	RequestsPerMinute *int64
	TokensPerMinute   *int64
	TokensPerDay      *int64
	NanoUSDPerDay     *int64
	NanoUSDPerMonth   *int64
	UpdatedAt         time.Time
	UpdatedBy         string // actor key id, or "cli"
}

// Empty reports whether o sets no limit at all.
func (o LimitOverride) Empty() bool {
	return o.RequestsPerMinute == nil && o.TokensPerMinute == nil && o.TokensPerDay == nil &&
		o.NanoUSDPerDay == nil && o.NanoUSDPerMonth == nil
}

// Limits keeps the limits' counters and overrides. Nothing here is read on
// the request path: the limiter syncs with it in the background.
type Limits interface {
	// SaveLimitCounters upserts a batch of one replica's totals.
	SaveLimitCounters(ctx context.Context, batch []LimitCounter) error
	// LimitCounters returns every replica's totals of periods ending
	// after t.
	LimitCounters(ctx context.Context, endingAfter time.Time) ([]LimitCounter, error)
	// DeleteLimitCounters deletes the totals of periods that ended before
	// endedBefore, and of minutes that ended before minutesEndedBefore, and
	// returns how many rows went.
	DeleteLimitCounters(ctx context.Context, endedBefore, minutesEndedBefore time.Time) (int64, error)
	// PutLimitOverride stores o, replacing the subject's previous
	// override; an Empty override deletes it.
	PutLimitOverride(ctx context.Context, o LimitOverride) error
	// LimitOverrides returns every override, by subject.
	LimitOverrides(ctx context.Context) ([]LimitOverride, error)
}
