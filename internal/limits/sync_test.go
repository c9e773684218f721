package limits_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
)

func eachStore(t *testing.T, fn func(t *testing.T, st store.Limits)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, testdb.OpenSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, testdb.OpenPostgres(t)) })
}

// Two replicas share a day's budget through the store, reservations of
// calls in flight included, and a restarted replica remembers the spend.
func TestSyncSharesBudgetsAndSurvivesRestart(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Limits) {
		ctx := t.Context()
		cfg := config.Limits{PerKey: config.LimitSet{USDPerDay: 0.000001}} // 1000 nano-USD
		sub := limits.Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "k1"}
		l1, l2 := limits.New(cfg), limits.New(cfg)
		s1, s2 := limits.NewSyncer(l1, st, limits.SyncOptions{}), limits.NewSyncer(l2, st, limits.SyncOptions{})

		now := time.Now()
		r, _, ok := l1.Admit(sub, limits.Cost{NanoUSD: 700}, now)
		if !ok {
			t.Fatal("refused")
		}
		// In flight on replica 1: replica 2 sees the reservation.
		if err := s1.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, st, ok := l2.Admit(sub, limits.Cost{NanoUSD: 400}, now); ok || st.Kind != limits.USDPerDay {
			t.Fatalf("replica 2 admitted past replica 1's reservation: %+v", st)
		}
		r.Settle(limits.Cost{NanoUSD: 600}, now)
		if err := s1.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := l2.Admit(sub, limits.Cost{NanoUSD: 400}, now); !ok {
			t.Fatal("replica 2 refused what the settled spend leaves room for")
		}
		u, _ := l2.Usage(limits.KeySubject("k1"), now)
		if u[limits.USDPerDay].Used != 1000 {
			t.Errorf("replica 2 used %d", u[limits.USDPerDay].Used)
		}

		// A restarted replica 1 (a new one) reads both replicas' spend.
		if err := s2.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		l3 := limits.New(cfg)
		if err := limits.NewSyncer(l3, st, limits.SyncOptions{}).Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if u, _ := l3.Usage(limits.KeySubject("k1"), now); u[limits.USDPerDay].Used != 1000 || u[limits.USDPerMonth].Used != 1000 {
			t.Errorf("after restart: day %d, month %d", u[limits.USDPerDay].Used, u[limits.USDPerMonth].Used)
		}
	})
}

// Overrides stored by anyone reach the limiter at its next sync.
func TestSyncLoadsOverrides(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Limits) {
		ctx := t.Context()
		l := limits.New(config.Limits{})
		s := limits.NewSyncer(l, st, limits.SyncOptions{})
		o := limits.Override{}
		o.Has[limits.RequestsPerMinute], o.Values[limits.RequestsPerMinute] = true, 1
		stored := limits.StoredOverride(limits.KeySubject("k1"), o)
		stored.UpdatedAt, stored.UpdatedBy = time.Now(), "cli"
		if err := st.PutLimitOverride(ctx, stored); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		sub := limits.Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "k1"}
		now := time.Now()
		if _, _, ok := l.Admit(sub, limits.Cost{}, now); !ok {
			t.Fatal("first call refused")
		}
		if _, _, ok := l.Admit(sub, limits.Cost{}, now); ok {
			t.Fatal("override not loaded")
		}
	})
}

// Calls on new and known subjects while the syncer runs: no deadlock (the
// syncer locks counters under the limiter's map lock; calls never take the
// map lock while holding a counter) and every settled cost is written.
func TestSyncWhileCallsRun(t *testing.T) {
	st := testdb.OpenSQLite(t)
	l := limits.New(config.Limits{PerOrg: config.LimitSet{USDPerDay: 1000}})
	s := limits.NewSyncer(l, st, limits.SyncOptions{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 20 {
			if err := s.Sync(t.Context()); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				sub := limits.Subject{OrgID: "acme", WorkspaceID: "ws" + strconv.Itoa(i%7), KeyID: "k" + strconv.Itoa(w*1000+i)}
				r, _, ok := l.Admit(sub, limits.Cost{Tokens: 10, NanoUSD: 10}, time.Now())
				if ok {
					r.Settle(limits.Cost{Tokens: 1, NanoUSD: 1}, time.Now())
				}
			}
		})
	}
	wg.Wait()
	<-done
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	l2 := limits.New(config.Limits{PerOrg: config.LimitSet{USDPerDay: 1000}})
	if err := limits.NewSyncer(l2, st, limits.SyncOptions{}).Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if u, _ := l2.Usage(limits.OrgSubject("acme"), time.Now()); u[limits.USDPerDay].Used != 2000 {
		t.Errorf("org spend read back: %d nano-USD, want 2000", u[limits.USDPerDay].Used)
	}
}

// Sliding-minute limits are shared too: each replica publishes its calls
// per fixed minute and weighs the others' previous minute by how much of it
// is still in the window.
func TestSyncSharesMinuteWindows(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Limits) {
		ctx := t.Context()
		t0 := time.Date(2026, 12, 7, 10, 0, 20, 0, time.UTC)
		clock := t0
		now := func() time.Time { return clock }
		cfg := config.Limits{PerKey: config.LimitSet{RequestsPerMinute: 4}}
		sub := limits.Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "k1"}
		l1, l2 := limits.New(cfg), limits.New(cfg)
		s1 := limits.NewSyncer(l1, st, limits.SyncOptions{Now: now})
		s2 := limits.NewSyncer(l2, st, limits.SyncOptions{Now: now})
		for range 3 {
			if _, _, ok := l1.Admit(sub, limits.Cost{}, clock); !ok {
				t.Fatal("refused")
			}
		}
		for _, s := range []*limits.Syncer{s1, s2} {
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, ok := l2.Admit(sub, limits.Cost{}, clock); !ok {
			t.Fatal("the 4th call of 4 refused on replica 2")
		}
		if _, st, ok := l2.Admit(sub, limits.Cost{}, clock); ok || st.Kind != limits.RequestsPerMinute {
			t.Fatalf("the 5th call of 4 admitted on replica 2 (%+v)", st)
		}
		// 10:01:30: half of 10:00 is still in the window; 10:00:20 is not,
		// but a fixed minute's calls are not timed within it: replica 1's
		// three count as ceil(3 × 29/60) = 2.
		clock = t0.Add(70 * time.Second)
		for _, s := range []*limits.Syncer{s1, s2} {
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		u, _ := l2.Usage(limits.KeySubject("k1"), clock)
		expectUsed := int64(2) // replica 2's own calls (10:00:20) have left its exact window
		if u[limits.RequestsPerMinute].Used != expectUsed {
			t.Errorf("used %d at 10:01:30, want %d", u[limits.RequestsPerMinute].Used, expectUsed)
		}
		// 10:02:01: nothing of 10:00 is left.
		clock = t0.Add(101 * time.Second)
		if err := s2.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if u, _ := l2.Usage(limits.KeySubject("k1"), clock); u[limits.RequestsPerMinute].Used != 0 {
			t.Errorf("used %d at 10:02:01", u[limits.RequestsPerMinute].Used)
		}

		// A call in the last moment of 10:05, written only at 10:06: it
		// still counts for the other replica, in 10:05's row.
		clock = time.Date(2026, 12, 7, 10, 5, 59, 900_000_000, time.UTC)
		if _, _, ok := l1.Admit(sub, limits.Cost{}, clock); !ok {
			t.Fatal("refused")
		}
		clock = clock.Add(400 * time.Millisecond)
		for _, s := range []*limits.Syncer{s1, s2} {
			if err := s.Sync(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if u, _ := l2.Usage(limits.KeySubject("k1"), clock); u[limits.RequestsPerMinute].Used != 1 {
			t.Errorf("used %d at 10:06:00.3, want replica 1's call of 10:05:59.9", u[limits.RequestsPerMinute].Used)
		}
	})
}
