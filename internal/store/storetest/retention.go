package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

// The retention cases. The traces they write start on the day of rbase and
// the day before it, so a driver with day partitions can run the suite
// once more with one of those days partitioned, to show that retention
// reaches rows in partitions and in DEFAULT alike.
var retentionCases = []namedCase{
	{"PurgeBodiesKeepsMetadata", oneSubject(testPurgeBodies)},
	{"DeleteTracesOldestFirstInBatches", oneSubject(testDeleteTraces)},
	{"DeleteRollupsInBatches", oneSubject(testDeleteRollups)},
	{"DeleteRollupsKeepsOtherTenantsDaily", oneSubject(testDeleteRollupsTenants)},
	{"DeleteRollupBatchesInBatches", oneSubject(testDeleteRollupBatches)},
	{"DeleteAuditOldestFirstInBatches", oneSubject(testDeleteAudit)},
	{"BatchLimitMustBePositive", oneSubject(testRetentionLimit)},
}

// RetentionBase is the cutoff the retention cases use: half a microsecond
// past 09:00 UTC, so a store that truncates the cutoff to its microsecond
// precision instead of rounding it up keeps the trace at 09:00, which
// started before the cutoff and must go.
var RetentionBase = time.Date(2025, 4, 10, 9, 0, 0, 500, time.UTC)

// rbase is the same instant under a short name.
var rbase = RetentionBase

// drainAll calls step with limit until it changes fewer than limit rows,
// as the retention job does, and returns what each call changed.
func drainAll(t *testing.T, limit int, step func(limit int) (int64, error)) []int64 {
	t.Helper()
	var counts []int64
	for {
		n, err := step(limit)
		if err != nil {
			t.Fatalf("after %v: %v", counts, err)
		}
		counts = append(counts, n)
		if n < int64(limit) || len(counts) > 100 {
			return counts
		}
	}
}

// retentionRecord is a full record (bodies, headers, tokens, metadata)
// started at ts.
func retentionRecord(id string, ts time.Time) trace.Record {
	r := fullRecord(id, ts)
	r.CreatedAt = ts.Add(time.Second)
	return r
}

// Bodies of traces started before the cutoff are blanked, oldest first and
// at most limit per call; every other field stays, and traces at or after
// the cutoff, or without bodies, are not touched or counted.
func testPurgeBodies(t *testing.T, s *subject) {
	var old []trace.Record
	for i := range 5 {
		// 09:00:00.000000 is the last one: before the cutoff by half a µs.
		old = append(old, retentionRecord(fmt.Sprintf("old-%d", i), rbase.Truncate(time.Microsecond).Add(-time.Duration(4-i)*7*time.Hour)))
	}
	noBody := retentionRecord("old-nobody", rbase.Add(-30*time.Hour))
	noBody.RequestBody, noBody.ResponseBody = "", ""
	onlyResponse := retentionRecord("old-response-only", rbase.Add(-31*time.Hour))
	onlyResponse.RequestBody = ""
	atCutoff := retentionRecord("at-cutoff", rbase.Truncate(time.Microsecond).Add(time.Microsecond))
	fresh := retentionRecord("fresh", rbase.Add(time.Hour))
	insert(t, s, append([]trace.Record{noBody, onlyResponse, atCutoff, fresh}, old...)...)

	n, err := s.PurgeBodies(ctx(t), rbase, 2)
	if err != nil || n != 2 {
		t.Fatalf("first PurgeBodies = %d, %v; want 2, nil", n, err)
	}
	// Oldest first: the two oldest traces with a body (31h and 28h before
	// the cutoff; the one at 30h has none) are the ones blanked.
	var blanked []string
	for _, r := range append([]trace.Record{onlyResponse}, old...) {
		if got := get(t, s, store.Tenant{}, r.ID); got.ResponseBody == "" {
			blanked = append(blanked, r.ID)
		}
	}
	if want := []string{"old-response-only", "old-0"}; !reflect.DeepEqual(blanked, want) {
		t.Fatalf("after one batch, blanked %v, want %v", blanked, want)
	}
	counts := drainAll(t, 2, func(limit int) (int64, error) { return s.PurgeBodies(ctx(t), rbase, limit) })
	if want := []int64{2, 2, 0}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("PurgeBodies counts = %v, want %v (4 more traces with a body before the cutoff)", counts, want)
	}
	for _, r := range append(old, onlyResponse) {
		want := stored(r)
		want.RequestBody, want.ResponseBody = "", ""
		assertRecord(t, want, get(t, s, store.Tenant{}, r.ID))
	}
	for _, r := range []trace.Record{noBody, atCutoff, fresh} {
		assertRecord(t, stored(r), get(t, s, store.Tenant{}, r.ID))
	}
}

// Traces started before the cutoff go, oldest first and at most limit per
// call; the rest stay, readable as before.
func testDeleteTraces(t *testing.T, s *subject) {
	var old, keep []trace.Record
	for i := range 7 {
		// Spread over the day before rbase and rbase's day: 09:00:00 minus
		// 5h steps, the last one half a µs before the cutoff.
		old = append(old, retentionRecord(fmt.Sprintf("old-%d", i), rbase.Truncate(time.Microsecond).Add(-time.Duration(6-i)*5*time.Hour)))
	}
	keep = append(keep,
		retentionRecord("at-cutoff", rbase.Truncate(time.Microsecond).Add(time.Microsecond)),
		retentionRecord("fresh-1", rbase.Add(2*time.Hour)),
		retentionRecord("fresh-2", rbase.Add(9*time.Hour)),
	)
	insert(t, s, append(keep, old...)...)

	n, err := s.DeleteTraces(ctx(t), rbase, 3)
	if err != nil || n != 3 {
		t.Fatalf("first DeleteTraces = %d, %v; want 3, nil", n, err)
	}
	// Oldest first: the three oldest are the ones gone.
	if got, want := ids(listAll(t, s, store.TraceFilter{Limit: 200})),
		[]string{"fresh-2", "fresh-1", "at-cutoff", "old-6", "old-5", "old-4", "old-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after one batch: ids = %v, want %v", got, want)
	}
	counts := drainAll(t, 3, func(limit int) (int64, error) { return s.DeleteTraces(ctx(t), rbase, limit) })
	if want := []int64{3, 1}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("DeleteTraces counts = %v, want %v", counts, want)
	}
	if n, err := s.DeleteTraces(ctx(t), rbase, 3); err != nil || n != 0 {
		t.Fatalf("DeleteTraces with nothing left = %d, %v; want 0, nil", n, err)
	}

	got := listAll(t, s, store.TraceFilter{Limit: 200})
	if want := []string{"fresh-2", "fresh-1", "at-cutoff"}; !reflect.DeepEqual(ids(got), want) {
		t.Fatalf("ids = %v, want %v", ids(got), want)
	}
	for _, r := range keep {
		assertRecord(t, stored(r), get(t, s, store.Tenant{}, r.ID))
	}
	for _, r := range old {
		if _, err := s.GetTrace(ctx(t), store.Tenant{}, r.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetTrace(%q) after delete: err = %v, want ErrNotFound", r.ID, err)
		}
	}
	// The id of a deleted trace can be written again: nothing of it lingers.
	again := retentionRecord("old-0", rbase.Add(3*time.Hour))
	insert(t, s, again)
	assertRecord(t, stored(again), get(t, s, store.Tenant{}, "old-0"))
}

// rollupCells reads the rollups of [from, to) for tenant, one
// "bucket group requests" string per answer; with whole days and
// store.BucketDay the store answers from the daily tier, with
// store.BucketHour from the hourly one.
func rollupCells(t *testing.T, s *subject, tenant store.Tenant, from, to time.Time, b store.Bucket) []string {
	t.Helper()
	totals, err := s.AggregateRollups(ctx(t), store.RollupQuery{
		Tenant: tenant, From: from, To: to, GroupBy: store.GroupModel, Bucket: b,
	})
	if err != nil {
		t.Fatal(err)
	}
	layout := "01-02 15:04"
	if b == store.BucketDay {
		layout = "01-02"
	}
	got := []string{}
	for _, tot := range totals {
		got = append(got, fmt.Sprintf("%s %s %d", tot.BucketStart.Format(layout), tot.Group, tot.Requests))
	}
	return got
}

// Rollup rows for hours that start before the cutoff go, at most limit per
// call; later hours keep every row. Daily rows go for the UTC days before
// the cutoff's day, whatever the time of day of the cutoff, at most limit
// per call; each tier goes only by its own method.
func testDeleteRollups(t *testing.T, s *subject) {
	hour := rbase.Truncate(time.Hour) // 04-10 09:00
	today := store.UTCDay(rbase)
	var recs []trace.Record
	// 04-09 20:00 and 23:00, 04-10 06:00 to 10:00 but 07:00.
	for _, h := range []int{-13, -10, -3, -1, 0, 1} {
		for _, model := range []string{"m-a", "m-b"} {
			r := retentionRecord(fmt.Sprintf("t%d-%s", h, model), hour.Add(time.Duration(h)*time.Hour+time.Minute))
			r.Model = model
			recs = append(recs, r)
		}
	}
	applyRollups(t, s, rollup.Fold(recs))
	from, to := today.AddDate(0, 0, -1), today.AddDate(0, 0, 1)
	hourly := func() []string { return rollupCells(t, s, store.Tenant{}, from, to, store.BucketHour) }
	daily := func() []string { return rollupCells(t, s, store.Tenant{}, from, to, store.BucketDay) }
	if got, want := daily(), []string{"04-09 m-a 2", "04-09 m-b 2", "04-10 m-a 4", "04-10 m-b 4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("daily rollups before retention = %v, want %v", got, want)
	}

	// The cutoff is a whole hour: the 09:00 rows do not start before it.
	counts := drainAll(t, 4, func(limit int) (int64, error) { return s.DeleteRollups(ctx(t), hour, limit) })
	if want := []int64{4, 4, 0}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("DeleteRollups counts = %v, want %v (4 hours × 2 models before the cutoff)", counts, want)
	}
	if got, want := hourly(), []string{"04-10 09:00 m-a 1", "04-10 09:00 m-b 1", "04-10 10:00 m-a 1", "04-10 10:00 m-b 1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("hourly rollups left = %v, want %v", got, want)
	}
	// Deleting hours left the daily tier alone.
	if got, want := daily(), []string{"04-09 m-a 2", "04-09 m-b 2", "04-10 m-a 4", "04-10 m-b 4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("daily rollups after DeleteRollups = %v, want them unchanged, %v", got, want)
	}

	// A cutoff at 09:00 on 04-10 ends 04-09 only: 04-10 is not over.
	counts = drainAll(t, 1, func(limit int) (int64, error) { return s.DeleteDailyRollups(ctx(t), rbase, limit) })
	if want := []int64{1, 1, 0}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("DeleteDailyRollups counts = %v, want %v (1 day × 2 models before the cutoff's day)", counts, want)
	}
	if got, want := daily(), []string{"04-10 m-a 4", "04-10 m-b 4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("daily rollups left = %v, want %v", got, want)
	}
	if n, err := s.DeleteDailyRollups(ctx(t), today, 10); err != nil || n != 0 {
		t.Fatalf("DeleteDailyRollups at midnight = %d, %v; want 0, nil (04-10 is not over)", n, err)
	}
	if n, err := s.DeleteDailyRollups(ctx(t), today.AddDate(0, 0, 1), 10); err != nil || n != 2 {
		t.Fatalf("DeleteDailyRollups at the next midnight = %d, %v; want 2, nil", n, err)
	}
	if got, want := hourly(), []string{"04-10 09:00 m-a 1", "04-10 09:00 m-b 1", "04-10 10:00 m-a 1", "04-10 10:00 m-b 1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("hourly rollups after DeleteDailyRollups = %v, want them unchanged, %v", got, want)
	}
}

// Deleting one tenant's hourly rows, by any statement, leaves every daily
// row alone: the daily tier expires only by DeleteDailyRollups, and that by
// the day alone, the same for every tenant.
func testDeleteRollupsTenants(t *testing.T, s *subject) {
	today := store.UTCDay(rbase)
	a := store.Tenant{OrgID: "org-a", WorkspaceID: "ws-a"}
	b := store.Tenant{OrgID: "org-b", WorkspaceID: "ws-b"}
	var recs []trace.Record
	for _, tn := range []store.Tenant{a, b} {
		for i, at := range []time.Time{
			today.AddDate(0, 0, -2).Add(23 * time.Hour), today.AddDate(0, 0, -1).Add(5 * time.Hour),
			today.AddDate(0, 0, -1).Add(23*time.Hour + 30*time.Minute), today.Add(8 * time.Hour),
		} {
			r := retentionRecord(fmt.Sprintf("%s-%d", tn.OrgID, i), at)
			r.OrgID, r.WorkspaceID, r.Model = tn.OrgID, tn.WorkspaceID, "m"
			recs = append(recs, r)
		}
	}
	applyRollups(t, s, rollup.Fold(recs))
	from, to := today.AddDate(0, 0, -2), today.AddDate(0, 0, 1)
	all := []string{"04-08 m 1", "04-09 m 2", "04-10 m 1"}
	for _, tn := range []store.Tenant{a, b} {
		if got := rollupCells(t, s, tn, from, to, store.BucketDay); !reflect.DeepEqual(got, all) {
			t.Fatalf("%s daily rollups before = %v, want %v", tn.OrgID, got, all)
		}
	}

	// Delete tenant a's hourly rows, all of them (late hours included, as
	// an expiring trigger would look at), straight in the database.
	deleteHourlyOf(t, s, a.OrgID)
	if got := rollupCells(t, s, a, from, to, store.BucketHour); len(got) != 0 {
		t.Fatalf("org-a hourly rollups after deleting them = %v, want none", got)
	}
	for _, tn := range []store.Tenant{a, b} {
		if got := rollupCells(t, s, tn, from, to, store.BucketDay); !reflect.DeepEqual(got, all) {
			t.Errorf("%s daily rollups after deleting org-a's hours = %v, want them unchanged, %v", tn.OrgID, got, all)
		}
	}
	if got, want := rollupCells(t, s, b, from, to, store.BucketHour), []string{
		"04-08 23:00 m 1", "04-09 05:00 m 1", "04-09 23:00 m 1", "04-10 08:00 m 1",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("org-b hourly rollups = %v, want %v", got, want)
	}

	// Retention at a whole day expires that day's predecessors in both
	// tiers, for every tenant, and nothing of the days after.
	cutoff := today.AddDate(0, 0, -1) // 04-09 00:00
	if counts := drainAll(t, 1, func(l int) (int64, error) { return s.DeleteRollups(ctx(t), cutoff, l) }); !reflect.DeepEqual(counts, []int64{1, 0}) {
		t.Errorf("DeleteRollups counts = %v, want [1 0] (org-b's 04-08 23:00)", counts)
	}
	if counts := drainAll(t, 1, func(l int) (int64, error) { return s.DeleteDailyRollups(ctx(t), cutoff, l) }); !reflect.DeepEqual(counts, []int64{1, 1, 0}) {
		t.Errorf("DeleteDailyRollups counts = %v, want [1 1 0] (04-08 of both tenants)", counts)
	}
	for _, tn := range []store.Tenant{a, b} {
		if got, want := rollupCells(t, s, tn, from, to, store.BucketDay), all[1:]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s daily rollups after retention = %v, want %v", tn.OrgID, got, want)
		}
	}
}

// deleteHourlyOf deletes every hourly rollup row of org, in SQL of the
// suite's own (no store method deletes by tenant).
func deleteHourlyOf(t *testing.T, s *subject, org string) {
	t.Helper()
	mustNil(t, s.exec(ctx(t), "DELETE FROM trace_rollups WHERE org_id = $1", org))
}

// Ledger entries recorded before the cutoff go, at most limit per call; a
// batch whose entry went can be applied again (retention must only prune
// what no job can bring back).
func testDeleteRollupBatches(t *testing.T, s *subject) {
	rows := rollup.Fold([]trace.Record{retentionRecord("ledger", rbase)})
	for _, id := range []string{"batch-1", "batch-2", "batch-3"} {
		if !applyBatch(t, s, id, rows) {
			t.Fatalf("ApplyRollupsTx(%s) = not applied, want applied", id)
		}
	}
	now := time.Now()
	if n, err := s.DeleteRollupBatches(ctx(t), now.Add(-time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("DeleteRollupBatches an hour ago = %d, %v; want 0, nil", n, err)
	}
	if applyBatch(t, s, "batch-1", rows) {
		t.Fatal("batch-1 applied again before its ledger entry was pruned")
	}
	counts := drainAll(t, 2, func(l int) (int64, error) { return s.DeleteRollupBatches(ctx(t), now.Add(time.Hour), l) })
	if want := []int64{2, 1}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("DeleteRollupBatches counts = %v, want %v", counts, want)
	}
	if !applyBatch(t, s, "batch-1", rows) {
		t.Fatal("batch-1 not applied after its ledger entry was pruned")
	}
}

func testDeleteAudit(t *testing.T, s *subject) {
	var batch []store.AuditEvent
	for i, at := range []time.Time{rbase.Add(-48 * time.Hour), rbase.Add(-time.Hour), rbase.Add(-time.Microsecond), rbase, rbase.Add(time.Hour)} {
		batch = append(batch, store.AuditEvent{ID: fmt.Sprintf("ev%d", i), Time: at, Action: "auth.deny", Count: int64(i + 1)})
	}
	if err := s.InsertAudit(ctx(t), batch); err != nil {
		t.Fatal(err)
	}
	counts := drainAll(t, 2, func(l int) (int64, error) { return s.DeleteAudit(ctx(t), rbase, l) })
	if want := []int64{2, 2, 0}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("DeleteAudit counts = %v, want %v", counts, want)
	}
	left, _, err := s.ListAudit(ctx(t), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range left {
		ids = append(ids, e.ID)
	}
	// RetentionBase is half a microsecond past the event at rbase, which
	// is stored at its microsecond: it is older than the cutoff and goes.
	if want := []string{"ev4"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("events left = %v, want %v (newest first)", ids, want)
	}
}

// A batch limit below one is a caller's mistake, not "no limit".
func testRetentionLimit(t *testing.T, s *subject) {
	insert(t, s, retentionRecord("old", rbase.Add(-time.Hour)))
	steps := map[string]func(limit int) (int64, error){
		"PurgeBodies":   func(l int) (int64, error) { return s.PurgeBodies(ctx(t), rbase, l) },
		"DeleteTraces":  func(l int) (int64, error) { return s.DeleteTraces(ctx(t), rbase, l) },
		"DeleteRollups": func(l int) (int64, error) { return s.DeleteRollups(ctx(t), rbase, l) },
		"DeleteDailyRollups": func(l int) (int64, error) {
			return s.DeleteDailyRollups(ctx(t), rbase.AddDate(0, 0, 2), l)
		},
		"DeleteRollupBatches": func(l int) (int64, error) {
			return s.DeleteRollupBatches(ctx(t), rbase.AddDate(1, 0, 0), l)
		},
		"DeleteAudit": func(l int) (int64, error) { return s.DeleteAudit(ctx(t), rbase, l) },
	}
	for name, step := range steps {
		for _, limit := range []int{0, -1} {
			if n, err := step(limit); err == nil || n != 0 {
				t.Errorf("%s(limit %d) = %d, %v; want 0 and an error", name, limit, n, err)
			}
		}
	}
	assertRecord(t, stored(retentionRecord("old", rbase.Add(-time.Hour))), get(t, s, store.Tenant{}, "old"))
}
