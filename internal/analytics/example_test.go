package analytics_test

import (
	"fmt"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
)

// Rollups are hourly, so a window widens to whole UTC hours; without
// bounds it is the 30 days ending with the current hour.
func ExampleWindow() {
	now := time.Date(2026, 3, 10, 14, 25, 0, 0, time.UTC)
	show := func(from, to time.Time) {
		f, t := analytics.Window(from, to, now)
		fmt.Println(f.Format(time.RFC3339), "→", t.Format(time.RFC3339))
	}
	show(time.Time{}, time.Time{})
	show(time.Date(2026, 3, 1, 10, 30, 0, 0, time.UTC), time.Date(2026, 3, 1, 11, 0, 1, 0, time.UTC))
	show(time.Date(2026, 3, 1, 10, 30, 0, 0, time.FixedZone("CET", 3600)), time.Time{})
	// Output:
	// 2026-02-08T15:00:00Z → 2026-03-10T15:00:00Z
	// 2026-03-01T10:00:00Z → 2026-03-01T12:00:00Z
	// 2026-03-01T09:00:00Z → 2026-03-10T15:00:00Z
}
