// Package rolluptier holds what both stores must decide identically about
// the two rollup tiers: the hourly rows (trace_rollups) and the daily rows
// (trace_rollups_daily, the same sums per UTC day, without the status
// class). Writers fold every hourly row into its day in the same
// transaction, so the tiers always agree; readers answer the whole UTC days
// of a range from the daily tier and the partial days at its edges from
// hourly rows, which makes a 30-day question read about 30 rows per cell
// instead of 720.
package rolluptier

import (
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
)

const day = 24 * time.Hour

// Days returns the whole UTC days [from, to) of q's range that the daily
// tier answers; the rest of q's range, [q.From, from) and [to, q.To), is
// answered by hourly rows. With no whole day in the range, or when q needs
// what only hourly rows have (hour buckets, status classes), both are q.To:
// every hour comes from hourly rows. q must be valid.
func Days(q store.RollupQuery) (from, to time.Time) {
	if q.Bucket == store.BucketHour || q.GroupBy == store.GroupStatusClass {
		return q.To, q.To
	}
	from = store.UTCDay(q.From)
	if from.Before(q.From) {
		from = from.Add(day)
	}
	to = store.UTCDay(q.To)
	if !from.Before(to) {
		return q.To, q.To
	}
	return from, to
}

// Daily folds hourly rows into the daily tier's rows: the hour becomes its
// UTC day and the status class is dropped (""), rows whose keys then
// coincide are merged, and the result is in key order, as
// rollup.Canonical makes it; rows are left untouched. Pass rows that have
// already been through rollup.Canonical.
func Daily(rows []rollup.Row) ([]rollup.Row, error) {
	out := make([]rollup.Row, len(rows))
	for i, r := range rows {
		r.Key.Hour = store.UTCDay(r.Key.Hour)
		r.Key.StatusClass = ""
		out[i] = r // Canonical clones before merging, so sharing histograms is fine
	}
	return rollup.Canonical(out, func(s string) string { return s })
}

// Stored assembles a stored hourly row read back: key and sums as the
// driver maps them from its columns, histograms as stored text, parsed
// here (the one part of the mapping that is not a column copy).
func Stored(key rollup.Key, sums rollup.Sums, latency, ttft string) (rollup.Row, error) {
	lat, err := rollup.ParseHistogram(latency)
	if err != nil {
		return rollup.Row{}, fmt.Errorf("stored latency histogram: %w", err)
	}
	tt, err := rollup.ParseHistogram(ttft)
	if err != nil {
		return rollup.Row{}, fmt.Errorf("stored ttft histogram: %w", err)
	}
	return rollup.Row{Key: key, Sums: sums, Latency: lat, TTFT: tt}, nil
}

// GroupHistograms merges the histogram rows of a RollupHistograms query,
// one per (group, stored row), into one entry per group; at says what row
// i holds.
func GroupHistograms(n int, at func(i int) (group, latency, ttft string)) ([]rollup.GroupHistograms, error) {
	var out []rollup.GroupHistograms
	for i := range n {
		group, latency, ttft := at(i)
		var err error
		if out, err = rollup.AddGroupHistograms(out, group, latency, ttft); err != nil {
			return nil, err
		}
	}
	return out, nil
}
