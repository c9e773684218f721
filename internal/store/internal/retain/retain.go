// Package retain holds what both stores must decide identically about a
// retention statement (store.Retention): which batch sizes are allowed and
// where the cutoff falls. A driver's method only runs its query with the
// cutoff and limit it is handed.
package retain

import (
	"fmt"
	"math"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
)

// Statement runs one retention statement: change at most limit rows before
// cutoff, and say how many changed.
type Statement func(cutoff time.Time, limit int32) (int64, error)

// Before runs stmt for rows stamped before before: the cutoff is before
// rounded up to the microsecond both stores keep, so a row stamped at
// before's own microsecond, which started before before, goes too. what
// names the statement in errors ("postgres: delete traces").
func Before(what string, before time.Time, limit int, stmt Statement) (int64, error) {
	return run(what, traceconv.CeilMicro(before), limit, stmt)
}

// DaysBefore runs stmt for daily rows of the UTC days that end at or before
// before: the cutoff is the start of before's UTC day.
func DaysBefore(what string, before time.Time, limit int, stmt Statement) (int64, error) {
	return run(what, store.UTCDay(before), limit, stmt)
}

func run(what string, cutoff time.Time, limit int, stmt Statement) (int64, error) {
	// Below 1 a statement would change nothing, or, negative, everything
	// (SQLite reads LIMIT -1 as no limit). Above int4 Postgres's LIMIT
	// parameter overflows; nothing runs that many rows in one statement.
	if limit < 1 {
		return 0, fmt.Errorf("%s: batch limit %d: must be at least 1", what, limit)
	}
	n, err := stmt(cutoff, int32(min(limit, math.MaxInt32)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return n, nil
}
