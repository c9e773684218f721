// Package analytics answers the gateway's usage, cost, latency and error
// questions from the hourly rollups (store.Rollups), never from a scan of
// the traces table, so an answer costs the same at ten traces and at ten
// million. It owns the meaning of a query (the effective time window, the
// dimensions and buckets allowed) and the shape of each answer; the API
// parses parameters into a Query and serves these answers as JSON.
//
// Rollups are hourly, so every window is widened to whole UTC hours and
// echoed back in each answer (from, to): a caller always knows exactly
// which traces were counted.
package analytics

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
)

// DefaultWindow is the span of a query that names no from: the last 30
// days, ending at the end of the current hour.
const DefaultWindow = 30 * 24 * time.Hour

// GroupBys are the dimensions an answer can be split by, in the order the
// API's error messages list them.
var GroupBys = []store.GroupBy{
	store.GroupProvider, store.GroupModel, store.GroupGatewayKey,
	store.GroupAPIKey, store.GroupWorkspace, store.GroupStatusClass,
}

// Buckets are the time buckets usage and cost can be split by (UTC; weeks
// start on Monday).
var Buckets = []store.Bucket{store.BucketHour, store.BucketDay, store.BucketWeek}

// Window returns the effective window of a request: a zero to means the
// end of the current hour (so the hour in progress counts), a zero from
// means DefaultWindow before to, and then from is rounded down and to up
// to whole UTC hours, the finest grain rollups know. From is inclusive, to
// exclusive. The caller checks that from is still before to.
func Window(from, to, now time.Time) (time.Time, time.Time) {
	if to.IsZero() {
		to = now.UTC().Truncate(time.Hour).Add(time.Hour)
	}
	if from.IsZero() {
		from = to.Add(-DefaultWindow)
	}
	return floorHour(from), ceilHour(to)
}

// ErrTimeFormat is ParseTime's error: the one rule every from/to follows.
var ErrTimeFormat = errors.New("must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999")

// ParseTime reads a from/to bound as the API and the report command accept
// it: an RFC3339 timestamp, or a YYYY-MM-DD date meaning UTC midnight. With
// endOfDay (a "to" bound) a date means the midnight after it, so that the
// whole day is included. An empty v is the zero time (no bound).
func ParseTime(v string, endOfDay bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err == nil {
		t = t.UTC()
	} else if t, err = time.Parse(time.DateOnly, v); err == nil && endOfDay {
		t = t.AddDate(0, 0, 1)
	}
	// Widened to whole hours or days, a bound in 9999 could end in the year
	// 10000, which RFC3339 (and so every answer's from/to) cannot write.
	if err != nil || t.Year() >= 9999 {
		return time.Time{}, ErrTimeFormat
	}
	return t, nil
}

func floorHour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

func ceilHour(t time.Time) time.Time {
	h := floorHour(t)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// Query is one analytics request. From and To are as Window returns them
// (a window that is not on whole hours is widened the same way); GroupBy
// and Bucket are empty or one of GroupBys and Buckets. Each answer uses
// the fields its doc names and ignores the rest.
type Query struct {
	Tenant          store.Tenant
	From, To        time.Time
	Provider, Model string
	GroupBy         store.GroupBy
	Bucket          store.Bucket
}

// Service answers queries from rollups.
type Service struct {
	rollups store.Rollups
}

// New returns a Service reading r.
func New(r store.Rollups) *Service { return &Service{rollups: r} }

// Range is the effective window every answer echoes.
type Range struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// rollupQuery is q as the store takes it, with the grouping and bucketing
// given (an answer decides those, not always the caller).
func (q Query) rollupQuery(groupBy store.GroupBy, bucket store.Bucket) store.RollupQuery {
	return store.RollupQuery{
		Tenant:   q.Tenant,
		From:     floorHour(q.From),
		To:       ceilHour(q.To),
		Provider: q.Provider,
		Model:    q.Model,
		GroupBy:  groupBy,
		Bucket:   bucket,
	}
}

func (q Query) window() Range { return Range{From: floorHour(q.From), To: ceilHour(q.To)} }

// aggregate runs an aggregate query. When the query neither groups nor
// buckets it always answers exactly one row, zero when nothing matched:
// "the totals" exist even for an empty window.
func (s *Service) aggregate(ctx context.Context, q Query, groupBy store.GroupBy, bucket store.Bucket) ([]rollup.Totals, error) {
	rows, err := s.rollups.AggregateRollups(ctx, q.rollupQuery(groupBy, bucket))
	if err != nil {
		return nil, err
	}
	if groupBy == store.GroupNone && bucket == store.BucketNone && len(rows) == 0 {
		rows = []rollup.Totals{{}}
	}
	return rows, nil
}

// optional is nil for "", so an answer says null where it was not grouped
// or bucketed (a grouped answer's group may itself be "", meaning none:
// traffic without a gateway key, say).
func optional[T ~string](v T) *string {
	if v == "" {
		return nil
	}
	s := string(v)
	return &s
}

// group is a row's group as answered: null when the query did not group.
func group(groupBy store.GroupBy, g string) *string {
	if groupBy == store.GroupNone {
		return nil
	}
	return &g
}

func bucketStart(bucket store.Bucket, t time.Time) *time.Time {
	if bucket == store.BucketNone {
		return nil
	}
	t = t.UTC()
	return &t
}

// usd converts nano-USD, the exact unit costs are summed in, to USD.
func usd(nano int64) float64 { return float64(nano) / 1e9 }

// avgUSD is the mean cost of n requests, to the nano-USD.
func avgUSD(nano, n int64) float64 {
	if n == 0 {
		return 0
	}
	return math.Round(float64(nano)/float64(n)) / 1e9
}

// ms rounds a millisecond figure to the microsecond: finer digits would be
// noise (TTFT is measured in µs, latency in ms, quantiles within 1%).
func ms(v float64) float64 { return math.Round(v*1000) / 1000 }

// mean is sum/n, 0 when n is 0.
func mean(sum, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}
