package storetest

// The rollup cases: what every driver's rollup writer (InsertTracesTx's
// result, ApplyRollupsTx) and reader (store.Rollups) must
// do. Answers are checked against a reference computed here straight from
// the raw records, without internal/rollup's folding, so a mistake in the
// fold, the SQL or the mapping shows up as a difference. Both drivers are
// held to the same reference, hence to identical answers.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

var rollupCases = []namedCase{
	{"MatchRawRecords", testRollupsMatchRawRecords},
	{"SplitAppliesEqualOne", testRollupSplitAppliesEqualOne},
	{"RetriedInsertReturnsOnlyNew", testRollupRetriedInsert},
	{"SameBatchAppliedOnce", testRollupBatchAppliedOnce},
	{"HistogramsMatchRawValues", testRollupHistograms},
	{"SumsAreExact", testRollupSumsAreExact},
	{"ConcurrentApplies", testRollupConcurrentApplies},
	{"EmptyAnswers", testRollupEmptyAnswers},
	{"ApplyRejectsPartialHour", testRollupApplyRejectsPartialHour},
	{"QueryValidation", testRollupQueryValidation},
}

// ingestRolledUp does what the trace writer's sink and the rollup job do
// together, minus the queue: in one transaction, insert batch and apply the
// fold of the records actually inserted. It returns those records.
func ingestRolledUp(t *testing.T, s *subject, batch []trace.Record) []trace.Record {
	t.Helper()
	inserted, err := s.ingest(ctx(t), batch)
	if err != nil {
		t.Fatalf("insert and roll up %d records: %v", len(batch), err)
	}
	return inserted
}

// applyBatch applies rows as the rollup job does, in a transaction of its
// own through ApplyRollupsTx under batchID, and returns whether they were
// applied (false: the batch id was in the ledger already).
func applyBatch(t *testing.T, s *subject, batchID string, rows []rollup.Row) bool {
	t.Helper()
	applied, err := s.apply(ctx(t), batchID, rows)
	if err != nil {
		t.Fatalf("ApplyRollupsTx(%q, %d rows): %v", batchID, len(rows), err)
	}
	return applied
}

// A batch id that ApplyRollupsTx has recorded is never applied again, in
// either tier, however often it comes back (a rollup job run twice); other
// ids still apply, and an empty id is refused.
func testRollupBatchAppliedOnce(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	day := time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)
	var recs []trace.Record
	for i := range 6 {
		r := fullRecord(fmt.Sprintf("b-%d", i), day.Add(time.Duration(i)*5*time.Hour+time.Minute))
		recs = append(recs, r)
	}
	rows := rollup.Fold(recs)
	query := func(b store.Bucket) int64 {
		t.Helper()
		// Whole days with a day bucket read the daily tier; hourly buckets
		// read the hourly one.
		return sumRequests(aggregate(t, s, store.RollupQuery{From: day, To: day.AddDate(0, 0, 2), Bucket: b}))
	}
	if !applyBatch(t, s, "batch-1", rows) {
		t.Fatal("first ApplyRollupsTx of batch-1: applied = false, want true")
	}
	for range 2 {
		if applyBatch(t, s, "batch-1", rows) {
			t.Fatal("ApplyRollupsTx of batch-1 again: applied = true, want false")
		}
	}
	if h, d := query(store.BucketHour), query(store.BucketDay); h != 6 || d != 6 {
		t.Fatalf("after batch-1 three times: hourly requests %d, daily %d; want 6 and 6", h, d)
	}
	if !applyBatch(t, s, "batch-2", rows) {
		t.Fatal("ApplyRollupsTx of batch-2: applied = false, want true")
	}
	if h, d := query(store.BucketHour), query(store.BucketDay); h != 12 || d != 12 {
		t.Fatalf("after batch-2: hourly requests %d, daily %d; want 12 and 12", h, d)
	}
	// A batch applied with no rows is recorded all the same.
	if !applyBatch(t, s, "batch-empty", nil) || applyBatch(t, s, "batch-empty", rows) {
		t.Fatal("an empty batch was not recorded as applied")
	}
	if h := query(store.BucketHour); h != 12 {
		t.Fatalf("after batch-empty: hourly requests %d, want 12", h)
	}
	_, err := s.apply(ctx(t), "", rows)
	if err == nil {
		t.Error("ApplyRollupsTx with an empty batch id: err = nil, want an error")
	}
}

// applyRollups applies rows under a batch id of their own.
func applyRollups(t *testing.T, s *subject, rows []rollup.Row) {
	t.Helper()
	if !applyBatch(t, s, uuid.NewString(), rows) {
		t.Fatal("a new batch id was found in the ledger")
	}
}

func aggregate(t *testing.T, s store.Store, q store.RollupQuery) []rollup.Totals {
	t.Helper()
	got, err := s.AggregateRollups(ctx(t), q)
	if err != nil {
		t.Fatalf("AggregateRollups(%s): %v", describeRollupQuery(q), err)
	}
	return got
}

func histograms(t *testing.T, s store.Store, q store.RollupQuery) []rollup.GroupHistograms {
	t.Helper()
	got, err := s.RollupHistograms(ctx(t), q)
	if err != nil {
		t.Fatalf("RollupHistograms(%s): %v", describeRollupQuery(q), err)
	}
	return got
}

// Traffic spans 12 days from a Thursday, so day and week buckets cut through
// it, plus a little traffic around 1970-01-01, where unix times turn
// negative and bucket arithmetic must still truncate downwards.
var (
	trafficStart = time.Date(2025, 2, 27, 0, 0, 0, 0, time.UTC) // Thursday
	trafficSpan  = 12 * 24 * time.Hour
	epochStart   = time.Date(1969, 12, 28, 18, 0, 0, 0, time.UTC) // Sunday evening
	epochSpan    = 8 * 24 * time.Hour                             // to past Monday 1970-01-05
)

// The dimensions traffic draws from. "" tenants are traffic with auth off;
// "" keys are calls without a gateway key or a provider key. One model name
// is not valid UTF-8, which stores keep as U+FFFD.
var (
	trafficTenants   = []store.Tenant{{OrgID: "org_a", WorkspaceID: "ws_a1"}, {OrgID: "org_a", WorkspaceID: "ws_a2"}, {OrgID: "org_b", WorkspaceID: "ws_b1"}, {}}
	trafficProviders = []string{"openai", "anthropic", "groq"}
	trafficModels    = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "llama-3.3-70b", "", "gpt-\xff"}
	trafficKeys      = []string{"", "gk_1", "gk_2", "gk_3"}
	trafficHashes    = []string{"", "hash_a", "hash_b"}
	trafficStatuses  = []int{200, 200, 200, 200, 201, 400, 404, 429, 499, 500, 502, 503, 0, 999}
)

// rollupTraffic returns n random records, the same for the same seed.
// Timestamps carry nanoseconds, which stores truncate to microseconds.
func rollupTraffic(seed uint64, n int) []trace.Record {
	rng := rand.New(rand.NewPCG(seed, 0x726f6c6c))
	pick := func(xs int) int { return rng.IntN(xs) }
	logUniform := func(hi float64) int64 { return int64(math.Exp(rng.Float64() * math.Log(hi))) }
	recs := make([]trace.Record, n)
	for i := range recs {
		ts := trafficStart.Add(time.Duration(rng.Int64N(int64(trafficSpan))))
		if rng.IntN(50) == 0 {
			ts = epochStart.Add(time.Duration(rng.Int64N(int64(epochSpan))))
		}
		tenant := trafficTenants[pick(len(trafficTenants))]
		r := trace.Record{
			ID:                fmt.Sprintf("tr_%d_%05d", seed, i),
			Timestamp:         ts,
			CreatedAt:         ts.Add(time.Second),
			OrgID:             tenant.OrgID,
			WorkspaceID:       tenant.WorkspaceID,
			Provider:          trafficProviders[pick(len(trafficProviders))],
			Model:             trafficModels[pick(len(trafficModels))],
			GatewayKeyID:      trafficKeys[pick(len(trafficKeys))],
			APIKeyHash:        trafficHashes[pick(len(trafficHashes))],
			ResponseStatus:    trafficStatuses[pick(len(trafficStatuses))],
			Outcome:           trace.OutcomeOK,
			Priced:            rng.IntN(5) != 0,
			InputTokens:       rng.Int64N(1_000_000),
			OutputTokens:      rng.Int64N(100_000),
			CachedInputTokens: rng.Int64N(1000),
			CacheWriteTokens:  rng.Int64N(1000),
			ReasoningTokens:   rng.Int64N(5000),
			CostNanoUSD:       rng.Int64N(10_000_000_000),
			LatencyMS:         logUniform(600_000),
		}
		r.TotalTokens = r.InputTokens + r.OutputTokens
		if rng.IntN(10) == 0 {
			r.Outcome = trace.OutcomeClientCancelled
		}
		if rng.IntN(20) == 0 {
			r.LatencyMS = 0
		}
		if rng.IntN(5) < 3 { // the rest measured no first token
			r.TimeToFirstTokenUS = logUniform(100_000_000)
			r.TimeToFirstTokenMS = r.TimeToFirstTokenUS / 1000
			r.Streaming = true
		}
		recs[i] = r
	}
	return recs
}

// storedText is how stores keep a string: invalid UTF-8 becomes U+FFFD.
func storedText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// refMatches reports whether r falls under q's range and filters.
func refMatches(q store.RollupQuery, r *trace.Record) bool {
	hour := r.Timestamp.UTC().Truncate(time.Hour)
	return !hour.Before(q.From) && hour.Before(q.To) &&
		(q.Tenant.OrgID == "" || r.OrgID == q.Tenant.OrgID) &&
		(q.Tenant.WorkspaceID == "" || r.WorkspaceID == q.Tenant.WorkspaceID) &&
		(q.Provider == "" || r.Provider == q.Provider) &&
		(q.Model == "" || storedText(r.Model) == storedText(q.Model))
}

// refGroup is the label r is grouped under.
func refGroup(g store.GroupBy, r *trace.Record) string {
	switch g {
	case store.GroupProvider:
		return r.Provider
	case store.GroupModel:
		return storedText(r.Model)
	case store.GroupGatewayKey:
		return r.GatewayKeyID
	case store.GroupAPIKey:
		return r.APIKeyHash
	case store.GroupWorkspace:
		return r.WorkspaceID
	case store.GroupStatusClass:
		switch s := r.ResponseStatus; {
		case s >= 200 && s < 300:
			return "2xx"
		case s >= 400 && s < 500:
			return "4xx"
		case s >= 500 && s < 600:
			return "5xx"
		default:
			return "other" // 0 and 999 here
		}
	}
	return ""
}

// refBucket is the start of the UTC bucket r falls in: the zero time with no
// bucket, weeks starting on Monday.
func refBucket(b store.Bucket, r *trace.Record) time.Time {
	ts := r.Timestamp.UTC()
	day := time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
	switch b {
	case store.BucketHour:
		return time.Date(ts.Year(), ts.Month(), ts.Day(), ts.Hour(), 0, 0, 0, time.UTC)
	case store.BucketDay:
		return day
	case store.BucketWeek:
		sinceMonday := (int(day.Weekday()) + 6) % 7
		return day.AddDate(0, 0, -sinceMonday)
	}
	return time.Time{}
}

// referenceTotals answers q from raw records, one trace at a time.
func referenceTotals(recs []trace.Record, q store.RollupQuery) []rollup.Totals {
	type cell struct {
		bucket time.Time
		group  string
	}
	cells := map[cell]*rollup.Totals{}
	for i := range recs {
		r := &recs[i]
		if !refMatches(q, r) {
			continue
		}
		c := cell{refBucket(q.Bucket, r), refGroup(q.GroupBy, r)}
		t := cells[c]
		if t == nil {
			t = &rollup.Totals{BucketStart: c.bucket, Group: c.group}
			t.LatencyMinMS, t.TTFTMinUS = math.MaxInt64, math.MaxInt64
			cells[c] = t
		}
		t.Requests++
		if r.ResponseStatus >= 400 && r.ResponseStatus < 500 {
			t.ClientErrors++
		}
		if r.ResponseStatus >= 500 && r.ResponseStatus < 600 {
			t.ServerErrors++
		}
		if r.Outcome == trace.OutcomeClientCancelled {
			t.Cancelled++
		}
		if !r.Priced {
			t.Unpriced++
		}
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.TotalTokens += r.TotalTokens
		t.CachedInputTokens += r.CachedInputTokens
		t.CacheWriteTokens += r.CacheWriteTokens
		t.ReasoningTokens += r.ReasoningTokens
		t.CostNanoUSD += r.CostNanoUSD
		t.LatencySumMS += r.LatencyMS
		t.LatencyMinMS = min(t.LatencyMinMS, r.LatencyMS)
		t.LatencyMaxMS = max(t.LatencyMaxMS, r.LatencyMS)
		if r.TimeToFirstTokenUS > 0 {
			t.TTFTCount++
			t.TTFTSumUS += r.TimeToFirstTokenUS
			t.TTFTMinUS = min(t.TTFTMinUS, r.TimeToFirstTokenUS)
			t.TTFTMaxUS = max(t.TTFTMaxUS, r.TimeToFirstTokenUS)
		}
		if ts := r.Timestamp.UTC().Truncate(time.Microsecond); ts.After(t.LastActiveAt) {
			t.LastActiveAt = ts
		}
	}
	out := make([]rollup.Totals, 0, len(cells))
	for _, t := range cells {
		if t.TTFTCount == 0 {
			t.TTFTMinUS = 0 // nothing to take a minimum of
		}
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b rollup.Totals) int {
		if c := a.BucketStart.Compare(b.BucketStart); c != 0 {
			return c
		}
		return strings.Compare(a.Group, b.Group)
	})
	return out
}

// assertTotals fails t with the first cell that differs, field by field.
func assertTotals(t *testing.T, what string, want, got []rollup.Totals) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d cells, want %d\n got %s\nwant %s", what, len(got), len(want), cellNames(got), cellNames(want))
		return
	}
	for i := range want {
		if diff := diffTotals(want[i], got[i]); diff != "" {
			t.Errorf("%s: cell %d (%s %q): %s", what, i, want[i].BucketStart.Format(time.RFC3339), want[i].Group, diff)
			return
		}
	}
}

func cellNames(ts []rollup.Totals) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "[%s %q] ", t.BucketStart.Format(time.RFC3339), t.Group)
	}
	return b.String()
}

// diffTotals lists the fields of got that differ from want; times must be
// equal instants in UTC (or both zero).
func diffTotals(want, got rollup.Totals) string {
	var diffs []string
	timeDiff := func(name string, w, g time.Time) {
		if !w.Equal(g) || (!g.IsZero() && g.Location() != time.UTC) {
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v (UTC)", name, g, w))
		}
	}
	timeDiff("BucketStart", want.BucketStart, got.BucketStart)
	timeDiff("LastActiveAt", want.LastActiveAt, got.LastActiveAt)
	if want.Group != got.Group {
		diffs = append(diffs, fmt.Sprintf("Group = %q, want %q", got.Group, want.Group))
	}
	w, g := reflect.ValueOf(want.Sums), reflect.ValueOf(got.Sums)
	for i := range w.NumField() {
		name := w.Type().Field(i).Name
		switch wf := w.Field(i).Interface().(type) {
		case int64:
			if gf := g.Field(i).Interface().(int64); gf != wf {
				diffs = append(diffs, fmt.Sprintf("%s = %d, want %d", name, gf, wf))
			}
		case time.Time: // LastActiveAt, compared above
		default:
			// A new kind of field must be compared too, not skipped.
			panic(fmt.Sprintf("diffTotals: rollup.Sums.%s has a type it does not compare", name))
		}
	}
	return strings.Join(diffs, "; ")
}

func describeRollupQuery(q store.RollupQuery) string {
	return fmt.Sprintf("tenant=%q/%q from=%s to=%s provider=%q model=%q group_by=%q bucket=%q",
		q.Tenant.OrgID, q.Tenant.WorkspaceID, q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano),
		q.Provider, q.Model, q.GroupBy, q.Bucket)
}

var (
	allGroupBys = []store.GroupBy{store.GroupNone, store.GroupProvider, store.GroupModel, store.GroupGatewayKey,
		store.GroupAPIKey, store.GroupWorkspace, store.GroupStatusClass}
	allBuckets = []store.Bucket{store.BucketNone, store.BucketHour, store.BucketDay, store.BucketWeek}
)

// rollupFilters are the ranges and filters every GroupBy × Bucket is asked
// with. The whole range covers both stretches of traffic; the sub-range
// starts and ends mid-day and mid-week.
func rollupFilters() []store.RollupQuery {
	all := store.RollupQuery{From: epochStart.Add(-24 * time.Hour).Truncate(time.Hour), To: trafficStart.Add(trafficSpan + time.Hour)}
	sub := time.Date(2025, 3, 2, 7, 0, 0, 0, time.UTC)
	with := func(f func(q *store.RollupQuery)) store.RollupQuery {
		q := all
		f(&q)
		return q
	}
	return []store.RollupQuery{
		all,
		with(func(q *store.RollupQuery) { q.Tenant.OrgID = "org_a" }),
		with(func(q *store.RollupQuery) { q.Tenant = store.Tenant{OrgID: "org_a", WorkspaceID: "ws_a2"} }),
		with(func(q *store.RollupQuery) { q.Tenant.WorkspaceID = "ws_b1" }),
		with(func(q *store.RollupQuery) { q.Provider = "anthropic" }),
		with(func(q *store.RollupQuery) { q.Model = "gpt-4o" }),
		with(func(q *store.RollupQuery) { q.Model = "gpt-\xff" }), // matches what was stored
		with(func(q *store.RollupQuery) { q.From, q.To = sub, sub.Add(7*24*time.Hour+6*time.Hour) }),
		with(func(q *store.RollupQuery) {
			q.Tenant = store.Tenant{OrgID: "org_a", WorkspaceID: "ws_a1"}
			q.Provider, q.Model = "openai", "gpt-4o-mini"
			q.From, q.To = sub, sub.Add(5*24*time.Hour)
		}),
		with(func(q *store.RollupQuery) {
			q.From, q.To = epochStart.Truncate(24*time.Hour), time.Unix(0, 0).Add(6*24*time.Hour)
		}),
		with(func(q *store.RollupQuery) { q.Model = "no-such-model" }),
	}
}

// Randomised traffic, written in uneven batches through the transaction the
// rollup job uses and with retried batches thrown in, must give exactly the
// reference's answers for every grouping, bucket, filter and range.
func testRollupsMatchRawRecords(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	recs := rollupTraffic(1, 4000)
	rng := rand.New(rand.NewPCG(2, 2))
	for rest := recs; len(rest) > 0; {
		n := min(len(rest), 1+rng.IntN(600))
		batch := rest[:n]
		if got := ingestRolledUp(t, s, batch); len(got) != n {
			t.Fatalf("first insert of %d records returned %d", n, len(got))
		}
		if rng.IntN(3) == 0 { // a retry after a lost commit acknowledgement
			if got := ingestRolledUp(t, s, batch); len(got) != 0 {
				t.Fatalf("retried batch of %d records returned %d, want 0", n, len(got))
			}
		}
		rest = rest[n:]
	}

	queries := 0
	for _, f := range rollupFilters() {
		for _, g := range allGroupBys {
			for _, b := range allBuckets {
				q := f
				q.GroupBy, q.Bucket = g, b
				assertTotals(t, describeRollupQuery(q), referenceTotals(recs, q), aggregate(t, s, q))
				queries++
			}
		}
	}
	// Guard against a filter list that silently tests nothing.
	if want := 11 * 7 * 4; queries != want {
		t.Errorf("ran %d queries, want %d", queries, want)
	}
	whole := rollupFilters()[0]
	if got := aggregate(t, s, whole); len(got) != 1 || got[0].Requests != 4000 {
		t.Errorf("whole range: %+v, want one cell of 4000 requests", got)
	}
}

// However a batch's rows are split across ApplyRollupsTx calls (single rows,
// uneven chunks, overlapping keys within one call, any order) the stored
// rollups are the same as from one call, and the caller's rows are left
// untouched.
func testRollupSplitAppliesEqualOne(t *testing.T, open func(t *testing.T) *subject) {
	recs := rollupTraffic(3, 1500)
	one, split := open(t), open(t)

	rows := rollup.Fold(recs)
	before, err := json.Marshal(rows)
	if err != nil {
		t.Fatal(err)
	}
	applyRollups(t, one, rows)
	if after, _ := json.Marshal(rows); string(after) != string(before) {
		t.Error("ApplyRollupsTx changed the rows it was given")
	}

	var calls [][]rollup.Row
	rest := recs
	for range 60 { // one trace per call
		calls = append(calls, rollup.Fold(rest[:1]))
		rest = rest[1:]
	}
	for _, n := range []int{7, 100, 333} {
		calls = append(calls, rollup.Fold(rest[:n]))
		rest = rest[n:]
	}
	half := len(rest) / 2
	// Two folds in one call: keys repeat within it, out of order.
	calls = append(calls, append(rollup.Fold(rest[:half]), rollup.Fold(rest[half:])...))
	rand.New(rand.NewPCG(4, 4)).Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
	for _, c := range calls {
		applyRollups(t, split, c)
	}

	whole := rollupFilters()[0]
	for _, g := range allGroupBys {
		q := whole
		q.GroupBy, q.Bucket = g, store.BucketHour
		want := referenceTotals(recs, q)
		assertTotals(t, "one call: "+describeRollupQuery(q), want, aggregate(t, one, q))
		assertTotals(t, "split calls: "+describeRollupQuery(q), want, aggregate(t, split, q))
		assertSameHistograms(t, describeRollupQuery(q), histograms(t, one, q), histograms(t, split, q))
	}
}

func assertSameHistograms(t *testing.T, what string, want, got []rollup.GroupHistograms) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d groups, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		g, w := &got[i], &want[i]
		if g.Group != w.Group || !g.Latency.Equal(w.Latency) || !g.TTFT.Equal(w.TTFT) {
			// Counts keep the message short; equal counts with unequal
			// histograms mean values landed in the wrong buckets.
			t.Errorf("%s: group %d = %q with %d latencies and %d TTFTs, want %q with %d and %d, bucket for bucket",
				what, i, g.Group, g.Latency.Count(), g.TTFT.Count(), w.Group, w.Latency.Count(), w.TTFT.Count())
			return
		}
	}
}

// InsertTracesTx returns exactly the records it inserted: the whole batch
// the first time, nothing when the batch is retried, and only the new ones
// (each once) from a batch mixing stored, new and repeated records. Rolling
// up what it returns therefore counts every trace once.
func testRollupRetriedInsert(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	recs := rollupTraffic(5, 14)
	first := recs[:10]
	assertIDs(t, "first insert", ids(first), ids(ingestRolledUp(t, s, first)))
	assertIDs(t, "retried insert", nil, ids(ingestRolledUp(t, s, first)))

	fresh := recs[10:]
	mixed := []trace.Record{first[3], fresh[0], first[4], fresh[1], fresh[2], fresh[1], fresh[3], first[5]}
	assertIDs(t, "mixed insert", ids(fresh), ids(ingestRolledUp(t, s, mixed)))
	assertIDs(t, "mixed insert retried", nil, ids(ingestRolledUp(t, s, mixed)))

	q := rollupFilters()[0]
	got := aggregate(t, s, q)
	assertTotals(t, "after retries", referenceTotals(recs, q), got)
	if len(got) != 1 || got[0].Requests != 14 {
		t.Errorf("after retries: %+v, want one cell of 14 requests", got)
	}
}

// Merged histograms are exactly the histograms of the raw values, so their
// quantiles are too, and those lie within the promised 1% of the exact
// quantiles.
func testRollupHistograms(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	recs := rollupTraffic(6, 3000)
	ingestRolledUp(t, s, recs)

	filters := rollupFilters()
	for _, f := range []store.RollupQuery{filters[0], filters[2], filters[5], filters[7]} {
		for _, g := range allGroupBys {
			q := f
			q.GroupBy = g
			q.Bucket = store.BucketDay // ignored
			want := referenceHistograms(recs, q)
			got := histograms(t, s, q)
			assertSameHistograms(t, describeRollupQuery(q), want, got)
			for i := range min(len(got), len(want)) {
				lat, ttft := rawValues(recs, q, want[i].Group)
				assertQuantiles(t, describeRollupQuery(q)+" latency "+want[i].Group, lat, got[i].Latency)
				assertQuantiles(t, describeRollupQuery(q)+" ttft "+want[i].Group, ttft, got[i].TTFT)
			}
		}
	}
}

// referenceHistograms builds each group's histograms by adding raw values.
func referenceHistograms(recs []trace.Record, q store.RollupQuery) []rollup.GroupHistograms {
	byGroup := map[string]*rollup.GroupHistograms{}
	for i := range recs {
		r := &recs[i]
		if !refMatches(q, r) {
			continue
		}
		g := refGroup(q.GroupBy, r)
		h := byGroup[g]
		if h == nil {
			h = &rollup.GroupHistograms{Group: g}
			byGroup[g] = h
		}
		h.Latency.Add(r.LatencyMS)
		if r.TimeToFirstTokenUS > 0 {
			h.TTFT.Add(r.TimeToFirstTokenUS)
		}
	}
	out := make([]rollup.GroupHistograms, 0, len(byGroup))
	for _, h := range byGroup {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b rollup.GroupHistograms) int { return strings.Compare(a.Group, b.Group) })
	return out
}

// rawValues returns one group's latencies and measured TTFTs, sorted.
func rawValues(recs []trace.Record, q store.RollupQuery, group string) (latency, ttft []int64) {
	for i := range recs {
		r := &recs[i]
		if refMatches(q, r) && refGroup(q.GroupBy, r) == group {
			latency = append(latency, r.LatencyMS)
			if r.TimeToFirstTokenUS > 0 {
				ttft = append(ttft, r.TimeToFirstTokenUS)
			}
		}
	}
	slices.Sort(latency)
	slices.Sort(ttft)
	return latency, ttft
}

// assertQuantiles checks p50, p95 and p99 of h against the exact values at
// the same ranks of sorted.
func assertQuantiles(t *testing.T, what string, sorted []int64, h rollup.Histogram) {
	t.Helper()
	if h.Count() != int64(len(sorted)) {
		t.Errorf("%s: histogram counts %d values, want %d", what, h.Count(), len(sorted))
		return
	}
	if len(sorted) == 0 {
		return
	}
	for _, q := range []float64{0.5, 0.95, 0.99} {
		rank := min(max(int(math.Ceil(q*float64(len(sorted)))), 1), len(sorted))
		exact := float64(sorted[rank-1])
		if got := h.Quantile(q); math.Abs(got-exact) > rollup.RelativeAccuracy*exact {
			t.Errorf("%s: p%g = %g, exact %g: off by more than %g%%", what, q*100, got, exact, rollup.RelativeAccuracy*100)
		}
	}
}

// Sums stay integers end to end: these exceed 2^53, where a float64 on the
// way (a SQL sum that turns float, a JSON number) would round them.
func testRollupSumsAreExact(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	const big = 1<<60 + 1 // three of them still fit in an int64
	recs := rollupTraffic(7, 3)
	for i := range recs {
		r := &recs[i]
		r.Timestamp = trafficStart.Add(time.Duration(i) * time.Minute)
		r.CostNanoUSD, r.InputTokens, r.TotalTokens = big, big-2, big+2
	}
	ingestRolledUp(t, s, recs)
	got := aggregate(t, s, rollupFilters()[0])
	if len(got) != 1 {
		t.Fatalf("%d cells, want 1", len(got))
	}
	if got[0].CostNanoUSD != 3*big || got[0].InputTokens != 3*(big-2) || got[0].TotalTokens != 3*(big+2) {
		t.Errorf("sums = cost %d, input %d, total %d; want %d, %d, %d",
			got[0].CostNanoUSD, got[0].InputTokens, got[0].TotalTokens, int64(3*big), int64(3*(big-2)), int64(3*(big+2)))
	}
}

// Appliers running at once (several replicas' rollup jobs) each count their
// rows once: no update to a shared key is lost, including keys that none of
// them has stored yet.
func testRollupConcurrentApplies(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	recs := rollupTraffic(8, 2400)
	// Few hours, so the appliers' keys overlap heavily.
	for i := range recs {
		recs[i].Timestamp = trafficStart.Add(time.Duration(i%3)*time.Hour + time.Duration(i)*time.Millisecond)
	}
	const appliers = 8
	var wg sync.WaitGroup
	for a := range appliers {
		wg.Go(func() {
			for c := a; c < len(recs)/100; c += appliers {
				rows := rollup.Fold(recs[c*100 : (c+1)*100])
				if _, err := s.apply(ctx(t), uuid.NewString(), rows); err != nil {
					t.Errorf("ApplyRollupsTx: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, g := range allGroupBys {
		q := rollupFilters()[0]
		q.GroupBy, q.Bucket = g, store.BucketHour
		assertTotals(t, describeRollupQuery(q), referenceTotals(recs, q), aggregate(t, s, q))
		assertSameHistograms(t, describeRollupQuery(q), referenceHistograms(recs, q), histograms(t, s, q))
	}
}

// Nothing matching is an empty answer, not a cell of zeros.
func testRollupEmptyAnswers(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	for _, g := range allGroupBys {
		for _, b := range allBuckets {
			q := rollupFilters()[0]
			q.GroupBy, q.Bucket = g, b
			if got := aggregate(t, s, q); len(got) != 0 {
				t.Errorf("AggregateRollups(%s) on an empty store = %+v, want none", describeRollupQuery(q), got)
			}
			if got := histograms(t, s, q); len(got) != 0 {
				t.Errorf("RollupHistograms(%s) on an empty store = %+v, want none", describeRollupQuery(q), got)
			}
		}
	}
}

// A row whose hour is not a whole hour is refused, and nothing of its call
// is stored.
func testRollupApplyRejectsPartialHour(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	rows := rollup.Fold(rollupTraffic(9, 20))
	rows[len(rows)-1].Hour = rows[len(rows)-1].Hour.Add(30 * time.Minute)
	_, err := s.apply(ctx(t), "batch", rows)
	if err == nil || !strings.Contains(err.Error(), "not a whole hour") {
		t.Errorf("ApplyRollupsTx with a half-past row: err = %v, want one saying it is not a whole hour", err)
	}
	if got := aggregate(t, s, rollupFilters()[0]); len(got) != 0 {
		t.Errorf("after the refused call: %+v, want nothing stored", got)
	}
}

// Queries outside the contract fail with ErrInvalidRollupQuery and a message
// naming the field; whole UTC hours are accepted in any zone.
func testRollupQueryValidation(t *testing.T, open func(t *testing.T) *subject) {
	s := open(t)
	from := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	india := time.FixedZone("IST", 5*3600+1800)
	bad := []struct {
		q    store.RollupQuery
		want string
	}{
		{store.RollupQuery{To: to}, "from is required"},
		{store.RollupQuery{From: from}, "to is required"},
		{store.RollupQuery{From: from.Add(30 * time.Minute), To: to}, "from 2025-03-01T00:30:00Z is not on a whole UTC hour"},
		{store.RollupQuery{From: from, To: to.Add(time.Nanosecond)}, "to 2025-03-02T00:00:00.000000001Z is not on a whole UTC hour"},
		{store.RollupQuery{From: time.Date(2025, 3, 1, 5, 0, 0, 0, india), To: to}, "is not on a whole UTC hour"},
		{store.RollupQuery{From: from, To: from}, "from 2025-03-01T00:00:00Z is not before to 2025-03-01T00:00:00Z"},
		{store.RollupQuery{From: to, To: from}, "is not before"},
		{store.RollupQuery{From: from, To: to, GroupBy: "team"}, `unknown group_by "team"`},
		{store.RollupQuery{From: from, To: to, Bucket: "month"}, `unknown bucket "month"`},
	}
	for _, c := range bad {
		_, aggErr := s.AggregateRollups(ctx(t), c.q)
		_, histErr := s.RollupHistograms(ctx(t), c.q)
		for name, err := range map[string]error{"AggregateRollups": aggErr, "RollupHistograms": histErr} {
			if !errors.Is(err, store.ErrInvalidRollupQuery) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s(%s): err = %v, want ErrInvalidRollupQuery saying %q", name, describeRollupQuery(c.q), err, c.want)
			}
		}
	}
	// 05:30 in India is 00:00 UTC.
	ok := store.RollupQuery{From: time.Date(2025, 3, 1, 5, 30, 0, 0, india), To: to, GroupBy: store.GroupModel, Bucket: store.BucketWeek}
	if _, err := s.AggregateRollups(ctx(t), ok); err != nil {
		t.Errorf("AggregateRollups(%s): %v", describeRollupQuery(ok), err)
	}
	if _, err := s.RollupHistograms(ctx(t), ok); err != nil {
		t.Errorf("RollupHistograms(%s): %v", describeRollupQuery(ok), err)
	}
}

func sumRequests(ts []rollup.Totals) int64 {
	var n int64
	for _, t := range ts {
		n += t.Requests
	}
	return n
}
