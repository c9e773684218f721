package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
)

var limitsCases = []namedCase{
	{"CountersAndOverrides", one(testLimits)},
}

// testLimits checks the limits' counters and overrides: upserted totals
// per replica, read back by period end, old periods deleted; overrides
// replaced whole, nil limits kept as nil, an empty override deleted.
func testLimits(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	dayEnd := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	monthEnd := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	yesterdayEnd := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	batch := []store.LimitCounter{
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-07", PeriodEnd: dayEnd, Tokens: 10, NanoUSD: 100, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12", PeriodEnd: monthEnd, Tokens: 10, NanoUSD: 100, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-06", PeriodEnd: yesterdayEnd, Tokens: 5, NanoUSD: 50, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-07T11:59", PeriodEnd: now, Requests: 3, Tokens: 7, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-07T11:56", PeriodEnd: now.Add(-3 * time.Minute), Requests: 1, UpdatedAt: now},
	}
	if err := s.SaveLimitCounters(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// Totals are absolute: saving again replaces them.
	batch[0].Tokens, batch[0].NanoUSD = 30, 300
	if err := s.SaveLimitCounters(ctx, batch[:1]); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveLimitCounters(ctx, []store.LimitCounter{
		{Replica: "r2", Subject: "key:k1", Period: "2026-12-07", PeriodEnd: dayEnd, Tokens: 1, NanoUSD: 2, UpdatedAt: now},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.LimitCounters(ctx, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b store.LimitCounter) int {
		return strings.Compare(a.Replica+a.Period, b.Replica+b.Period)
	})
	want := []store.LimitCounter{
		{Replica: "r1", Subject: "key:k1", Period: "2026-12", PeriodEnd: monthEnd, Tokens: 10, NanoUSD: 100, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-07", PeriodEnd: dayEnd, Tokens: 30, NanoUSD: 300, UpdatedAt: now},
		{Replica: "r1", Subject: "key:k1", Period: "2026-12-07T11:59", PeriodEnd: now, Requests: 3, Tokens: 7, UpdatedAt: now},
		{Replica: "r2", Subject: "key:k1", Period: "2026-12-07", PeriodEnd: dayEnd, Tokens: 1, NanoUSD: 2, UpdatedAt: now},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("counters\n got %+v\nwant %+v", got, want)
	}
	// The day that ended 12h ago is kept a day; the minute that ended 3
	// minutes ago goes after two.
	n, err := s.DeleteLimitCounters(ctx, now.Add(-24*time.Hour), now.Add(-2*time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the old minute alone", n, err)
	}
	if n, err = s.DeleteLimitCounters(ctx, now, now.Add(-2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("deleted %d, %v; want the ended day alone", n, err)
	}

	five, zero := int64(5), int64(0)
	if err := s.PutLimitOverride(ctx, store.LimitOverride{Subject: "key:k1", RequestsPerMinute: &five, UpdatedAt: now, UpdatedBy: "cli"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutLimitOverride(ctx, store.LimitOverride{Subject: "workspace:acme/prod", NanoUSDPerDay: &zero, UpdatedAt: now, UpdatedBy: "k2"}); err != nil {
		t.Fatal(err)
	}
	// Replaced whole: the key's rpm goes back to nil.
	if err := s.PutLimitOverride(ctx, store.LimitOverride{Subject: "key:k1", TokensPerDay: &five, UpdatedAt: now, UpdatedBy: "cli"}); err != nil {
		t.Fatal(err)
	}
	ovs, err := s.LimitOverrides(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ovs) != 2 || ovs[0].Subject != "key:k1" || ovs[0].RequestsPerMinute != nil || ovs[0].TokensPerDay == nil || *ovs[0].TokensPerDay != 5 ||
		ovs[1].NanoUSDPerDay == nil || *ovs[1].NanoUSDPerDay != 0 || ovs[1].UpdatedBy != "k2" || !ovs[1].UpdatedAt.Equal(now) {
		t.Fatalf("overrides %+v", ovs)
	}
	if err := s.PutLimitOverride(ctx, store.LimitOverride{Subject: "key:k1", UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if ovs, _ = s.LimitOverrides(ctx); len(ovs) != 1 {
		t.Fatalf("an empty override was not deleted: %+v", ovs)
	}
}
