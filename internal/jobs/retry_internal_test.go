package jobs

import (
	"testing"
	"time"
)

// Rollup jobs back off as River does at first, never more than a minute,
// and are tried for long enough to outlast an outage.
func TestRollupRetryPolicy(t *testing.T) {
	for attempt, want := range map[int]time.Duration{
		0: time.Second, 1: time.Second, 2: 16 * time.Second, 3: time.Minute,
		9: time.Minute, 1 << 20: time.Minute,
	} {
		if got := rollupRetryDelay(attempt); got != want {
			t.Errorf("rollupRetryDelay(%d) = %v, want %v", attempt, got, want)
		}
	}
	if got := (RollupArgs{}).InsertOpts(); got.MaxAttempts < 1000 || got.Queue != RollupQueue {
		t.Errorf("InsertOpts = %+v, want the rollup queue and MaxAttempts of thousands", got)
	}
	if retentionTimeout >= RescueStuckJobsAfter {
		t.Errorf("retention timeout %v would let River rescue a run still going (%v)", retentionTimeout, RescueStuckJobsAfter)
	}
}
