package jobs_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// rawDB runs the test's own SQL against the store's database, in the
// store's own transactions: the traces as stored, River's job table, the
// applied-batch ledger. Both engines name the columns alike; placeholders
// and time need a per-engine form (Postgres timestamptz, SQLite INTEGER
// microseconds).
type rawDB struct {
	query   func(ctx context.Context, sql string, scan func(scan func(...any) error) error) error
	exec    func(ctx context.Context, sql string, args ...any) error
	param   func(n int) string // the nth placeholder
	time    func(time.Time) any
	startUS string // SQL expression: traces.started_at as unix microseconds
}

func pgxRaw(s store.TxStore[pgx.Tx]) rawDB {
	return rawDB{
		startUS: "CAST(EXTRACT(EPOCH FROM started_at) * 1000000 AS bigint)",
		param:   func(n int) string { return fmt.Sprintf("$%d", n) },
		time:    func(t time.Time) any { return t },
		query: func(ctx context.Context, q string, scan func(func(...any) error) error) error {
			return s.InTx(ctx, func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, q)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					if err := scan(rows.Scan); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		},
		exec: func(ctx context.Context, q string, args ...any) error {
			return s.InTx(ctx, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, q, args...)
				return err
			})
		},
	}
}

func sqlRaw(s store.TxStore[*sql.Tx]) rawDB {
	return rawDB{
		startUS: "started_at",
		param:   func(int) string { return "?" },
		time:    func(t time.Time) any { return t.UnixMicro() },
		query: func(ctx context.Context, q string, scan func(func(...any) error) error) error {
			return s.InTx(ctx, func(tx *sql.Tx) error {
				rows, err := tx.QueryContext(ctx, q)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					if err := scan(rows.Scan); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		},
		exec: func(ctx context.Context, q string, args ...any) error {
			return s.InTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, q, args...)
				return err
			})
		},
	}
}

func TestRollupsAreExactlyOnceAndMatchRawTracesPostgres(t *testing.T) {
	t.Parallel()
	s := testdb.OpenPostgres(t)
	testRollupsMatchRawTraces(t, s, pgxRaw(s))
}

func TestRollupsAreExactlyOnceAndMatchRawTracesSQLite(t *testing.T) {
	t.Parallel()
	s := testdb.OpenSQLite(t)
	testRollupsMatchRawTraces(t, s, sqlRaw(s))
}

// The story: a gateway writes traces through its sink and dies with its
// rollup jobs committed but not run (an insert-only River client plays
// it: no worker ever starts). Batches are retried whole and in part, as
// the trace writer does after a lost commit acknowledgement. Then two
// replicas start runners and write more. Once every job has run, every
// aggregate the analytics API can ask for equals the same aggregate
// computed straight from the stored traces, and no batch was counted
// twice or missed.
func testRollupsMatchRawTraces[TTx any](t *testing.T, s store.TxStore[TTx], raw rawDB) {
	ctx := t.Context()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x0b5e55ed))
	records := randomTraffic(rng, 3000)
	everything := store.RollupQuery{From: hour(records[0].Timestamp).Add(-time.Hour), To: hour(records[len(records)-1].Timestamp).Add(2 * time.Hour)}

	// Phase 1: the process that died. Its batches and their jobs are
	// committed; nothing rolls them up.
	crashed, err := jobs.NewInsertOnlySink(ctx, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	split := len(records) / 3
	wantJobs, err := writeBatches(ctx, rng, crashed, records[:split])
	if err != nil {
		t.Fatal(err)
	}
	if got := countJobs(t, raw, ""); got != wantJobs {
		t.Fatalf("after the crash: %d rollup jobs, want one per batch with new traces (%d)", got, wantJobs)
	}
	totals, err := s.AggregateRollups(ctx, everything)
	if err != nil {
		t.Fatal(err)
	}
	if sumRequests(totals) != 0 {
		t.Fatalf("rollups counted %d requests before any job ran", sumRequests(totals))
	}

	// Phase 2: two replicas come up and write the rest at once.
	rest := records[split:]
	parts := [][]trace.Record{rest[:len(rest)/2], rest[len(rest)/2:]}
	calls := make([]int, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, part := range parts {
		runCtx, cancel := context.WithCancel(ctx)
		r, err := jobs.Start(runCtx, s, jobs.Options{})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() {
			stopCtx, stop := context.WithTimeout(context.Background(), 30*time.Second)
			defer stop()
			if err := r.Stop(stopCtx); err != nil {
				t.Errorf("Stop: %v", err)
			}
			cancel()
		})
		replicaRNG := rand.New(rand.NewPCG(seed, uint64(i)))
		wg.Go(func() { calls[i], errs[i] = writeBatches(ctx, replicaRNG, r.TraceSink(), part) })
	}
	wg.Wait()
	for i := range parts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		wantJobs += calls[i]
	}
	waitForJobs(t, raw)
	if got := countJobs(t, raw, ""); got != wantJobs {
		t.Errorf("%d rollup jobs, want one per batch with new traces (%d)", got, wantJobs)
	}

	stored := rawTraces(t, raw)
	if len(stored) != len(records) {
		t.Fatalf("%d traces stored, want %d", len(stored), len(records))
	}
	mid := hour(records[len(records)/2].Timestamp)
	queries := []store.RollupQuery{}
	for _, g := range []store.GroupBy{store.GroupNone, store.GroupProvider, store.GroupModel, store.GroupGatewayKey,
		store.GroupAPIKey, store.GroupWorkspace, store.GroupStatusClass} {
		for _, b := range []store.Bucket{store.BucketNone, store.BucketHour, store.BucketDay, store.BucketWeek} {
			q := everything
			q.GroupBy, q.Bucket = g, b
			queries = append(queries, q)
		}
	}
	queries = append(queries,
		store.RollupQuery{Tenant: store.Tenant{OrgID: "org-a"}, From: everything.From, To: everything.To, GroupBy: store.GroupModel},
		store.RollupQuery{Tenant: store.Tenant{OrgID: "org-b", WorkspaceID: "ws-b1"}, From: everything.From, To: everything.To, GroupBy: store.GroupGatewayKey, Bucket: store.BucketDay},
		store.RollupQuery{From: everything.From, To: everything.To, Provider: "openai", GroupBy: store.GroupStatusClass, Bucket: store.BucketDay},
		store.RollupQuery{From: everything.From, To: everything.To, Model: "claude-sonnet-4", Bucket: store.BucketHour},
		// A window cutting the traffic in the middle, on hour bounds.
		store.RollupQuery{From: mid.Add(-5 * time.Hour), To: mid.Add(29 * time.Hour), GroupBy: store.GroupAPIKey, Bucket: store.BucketHour},
	)
	for _, q := range queries {
		got, err := s.AggregateRollups(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", describe(q), err)
		}
		compareTotals(t, describe(q), got, expectTotals(stored, q))
	}

	// Histograms: merged bucket for bucket, so each equals the histogram of
	// the raw values, and its quantiles lie within 1% of the exact ones.
	for _, g := range []store.GroupBy{store.GroupNone, store.GroupModel, store.GroupStatusClass} {
		q := everything
		q.GroupBy = g
		got, err := s.RollupHistograms(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		compareHistograms(t, describe(q), got, stored, g)
	}
}

// randomTraffic makes n records, oldest first, spread over ten days with
// nanosecond start times (as the proxy records them), across two orgs,
// providers, models, gateway and provider keys, every status class and
// outcome, priced and not, streamed (with a TTFT) and not.
func randomTraffic(rng *rand.Rand, n int) []trace.Record {
	base := time.Date(2026, 2, 18, 0, 0, 0, 0, time.UTC) // a Wednesday: the weeks cut the traffic
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	tenants := [][2]string{{"org-a", "ws-a1"}, {"org-a", "ws-a2"}, {"org-b", "ws-b1"}}
	models := map[string][]string{"openai": {"gpt-4o", "gpt-4o-mini", "o3"}, "anthropic": {"claude-sonnet-4", "claude-haiku-4-5"}}
	statuses := []int{200, 200, 200, 200, 200, 200, 400, 429, 500, 502, 0}
	out := make([]trace.Record, n)
	for i := range out {
		ts := base.Add(time.Duration(rng.Int64N(int64(10 * 24 * time.Hour))))
		if i%97 == 0 {
			// The last nanoseconds of an hour, which a store keeping
			// microseconds must not move into the next one.
			ts = ts.Truncate(time.Hour).Add(time.Hour - time.Duration(1+rng.IntN(999)))
		}
		tenant := tenants[rng.IntN(len(tenants))]
		provider := pick("openai", "anthropic")
		r := trace.Record{
			ID:             fmt.Sprintf("trace-%05d", i),
			Timestamp:      ts,
			CreatedAt:      ts.Add(time.Second),
			Provider:       provider,
			Model:          models[provider][rng.IntN(len(models[provider]))],
			RequestMethod:  "POST",
			RequestPath:    "/" + provider + "/v1/x",
			ResponseStatus: statuses[rng.IntN(len(statuses))],
			Outcome:        trace.OutcomeOK,
			OrgID:          tenant[0],
			WorkspaceID:    tenant[1],
			GatewayKeyID:   pick("", "gk-1", "gk-2", "gk-3"),
			APIKeyHash:     pick("", fmt.Sprintf("%064x", 1), fmt.Sprintf("%064x", 2)),
			InputTokens:    rng.Int64N(20000),
			OutputTokens:   rng.Int64N(4000),
			LatencyMS:      rng.Int64N(60000),
			Priced:         rng.IntN(10) > 0,
		}
		r.RequestModel = r.Model
		r.CachedInputTokens = rng.Int64N(r.InputTokens + 1)
		r.CacheWriteTokens = rng.Int64N(500)
		r.ReasoningTokens = rng.Int64N(r.OutputTokens + 1)
		r.TotalTokens = r.InputTokens + r.OutputTokens
		if r.Priced {
			r.CostNanoUSD = rng.Int64N(50_000_000)
		}
		switch {
		case r.ResponseStatus >= 500:
			r.Outcome = trace.OutcomeUpstreamError
			if r.ResponseStatus == 502 {
				r.Outcome = trace.OutcomeUpstreamUnreachable
			}
		case r.ResponseStatus >= 400:
			r.Outcome = trace.OutcomeUpstreamError
		case rng.IntN(8) == 0:
			r.Outcome = trace.OutcomeClientCancelled
		}
		if rng.IntN(3) == 0 {
			r.Streaming = true
			r.TimeToFirstTokenUS = 1 + rng.Int64N(3_000_000)
			r.TimeToFirstTokenMS = r.TimeToFirstTokenUS / 1000
		}
		out[i] = r
	}
	slices.SortFunc(out, func(a, b trace.Record) int { return a.Timestamp.Compare(b.Timestamp) })
	return out
}

// writeBatches writes records through sink in batches of random size, as
// the trace writer would, and retries some: a whole batch again, and the
// tail of a batch together with the head of the next (a retry after a
// lost acknowledgement meets records queued meanwhile). It returns how
// many calls carried new records, each of which must have enqueued one
// job.
func writeBatches(ctx context.Context, rng *rand.Rand, sink trace.Sink, records []trace.Record) (int, error) {
	calls := 0
	var prev []trace.Record
	for len(records) > 0 {
		n := min(len(records), 1+rng.IntN(120))
		batch := records[:n]
		records = records[n:]
		first := batch
		if prev != nil && rng.IntN(4) == 0 {
			// Part old, part new: only the new part may count.
			first = append(slices.Clone(prev[len(prev)/2:]), batch...)
		}
		if err := sink.InsertTraces(ctx, slices.Clone(first)); err != nil {
			return 0, err
		}
		calls++
		if rng.IntN(5) == 0 {
			// The same batch again: nothing new, no job.
			if err := sink.InsertTraces(ctx, slices.Clone(batch)); err != nil {
				return 0, err
			}
		}
		prev = batch
	}
	return calls, nil
}

// countJobs counts rollup jobs, in state when it is not "".
func countJobs(t *testing.T, raw rawDB, state string) int {
	t.Helper()
	q := "SELECT count(*) FROM river_job WHERE kind = 'rollup_batch'"
	if state != "" {
		q += " AND state = '" + state + "'"
	}
	var n int
	if err := raw.query(t.Context(), q, func(scan func(...any) error) error { return scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitForJobs waits until every rollup job has completed, and fails at
// once if one failed (it would only be retried with a growing backoff).
// The deadline is a hang guard, not a performance bound.
func waitForJobs(t *testing.T, raw rawDB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var failures []string
		err := raw.query(t.Context(),
			"SELECT CAST(errors AS TEXT) FROM river_job WHERE kind = 'rollup_batch' AND state IN ('retryable', 'discarded')",
			func(scan func(...any) error) error {
				var e sql.NullString
				err := scan(&e)
				failures = append(failures, e.String)
				return err
			})
		if err != nil {
			t.Fatal(err)
		}
		if len(failures) > 0 {
			t.Fatalf("%d rollup jobs failed: %v", len(failures), failures[0])
		}
		if countJobs(t, raw, "") == countJobs(t, raw, "completed") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollup jobs still pending: %d of %d completed", countJobs(t, raw, "completed"), countJobs(t, raw, ""))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rawTrace is what a rollup sums, read from the traces table.
type rawTrace struct {
	startUS                                                       int64
	org, workspace, provider, model, gatewayKey, apiKeyHash       string
	status                                                        int
	outcome                                                       string
	priced                                                        bool
	input, output, total, cached, cacheWrite, reasoning, costNano int64
	latencyMS, ttftUS                                             int64
}

func rawTraces(t *testing.T, raw rawDB) []rawTrace {
	t.Helper()
	var out []rawTrace
	q := "SELECT " + raw.startUS + `, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash,
		response_status, outcome, priced, input_tokens, output_tokens, total_tokens, cached_input_tokens,
		cache_write_tokens, reasoning_tokens, cost_nano_usd, latency_ms, time_to_first_token_us FROM traces`
	err := raw.query(t.Context(), q, func(scan func(...any) error) error {
		var r rawTrace
		err := scan(&r.startUS, &r.org, &r.workspace, &r.provider, &r.model, &r.gatewayKey, &r.apiKeyHash,
			&r.status, &r.outcome, &r.priced, &r.input, &r.output, &r.total, &r.cached,
			&r.cacheWrite, &r.reasoning, &r.costNano, &r.latencyMS, &r.ttftUS)
		out = append(out, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r rawTrace) start() time.Time { return time.UnixMicro(r.startUS).UTC() }

func (r rawTrace) matches(q store.RollupQuery) bool {
	ts := r.start()
	return !ts.Before(q.From) && ts.Before(q.To) &&
		(q.Tenant.OrgID == "" || q.Tenant.OrgID == r.org) &&
		(q.Tenant.WorkspaceID == "" || q.Tenant.WorkspaceID == r.workspace) &&
		(q.Provider == "" || q.Provider == r.provider) &&
		(q.Model == "" || q.Model == r.model)
}

func (r rawTrace) group(g store.GroupBy) string {
	switch g {
	case store.GroupProvider:
		return r.provider
	case store.GroupModel:
		return r.model
	case store.GroupGatewayKey:
		return r.gatewayKey
	case store.GroupAPIKey:
		return r.apiKeyHash
	case store.GroupWorkspace:
		return r.workspace
	case store.GroupStatusClass:
		switch {
		case r.status < 100 || r.status > 599:
			return "other"
		default:
			return fmt.Sprintf("%dxx", r.status/100)
		}
	}
	return ""
}

func (r rawTrace) bucket(b store.Bucket) time.Time {
	ts := r.start()
	day := time.Date(ts.Year(), ts.Month(), ts.Day(), 0, 0, 0, 0, time.UTC)
	switch b {
	case store.BucketHour:
		return ts.Truncate(time.Hour)
	case store.BucketDay:
		return day
	case store.BucketWeek:
		return day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)) // back to Monday
	}
	return time.Time{}
}

// expectTotals is the answer to q computed from raw traces alone.
func expectTotals(traces []rawTrace, q store.RollupQuery) []rollup.Totals {
	type cell struct {
		bucket time.Time
		group  string
	}
	sums := map[cell]*rollup.Sums{}
	for _, r := range traces {
		if !r.matches(q) {
			continue
		}
		c := cell{r.bucket(q.Bucket), r.group(q.GroupBy)}
		s := sums[c]
		if s == nil {
			s = &rollup.Sums{LatencyMinMS: math.MaxInt64, TTFTMinUS: math.MaxInt64}
			sums[c] = s
		}
		s.Requests++
		if r.status >= 400 && r.status <= 499 {
			s.ClientErrors++
		}
		if r.status >= 500 && r.status <= 599 {
			s.ServerErrors++
		}
		if r.outcome == string(trace.OutcomeClientCancelled) {
			s.Cancelled++
		}
		if !r.priced {
			s.Unpriced++
		}
		s.InputTokens += r.input
		s.OutputTokens += r.output
		s.TotalTokens += r.total
		s.CachedInputTokens += r.cached
		s.CacheWriteTokens += r.cacheWrite
		s.ReasoningTokens += r.reasoning
		s.CostNanoUSD += r.costNano
		s.LatencySumMS += r.latencyMS
		s.LatencyMinMS = min(s.LatencyMinMS, r.latencyMS)
		s.LatencyMaxMS = max(s.LatencyMaxMS, r.latencyMS)
		if r.ttftUS > 0 {
			s.TTFTCount++
			s.TTFTSumUS += r.ttftUS
			s.TTFTMinUS = min(s.TTFTMinUS, r.ttftUS)
			s.TTFTMaxUS = max(s.TTFTMaxUS, r.ttftUS)
		}
		if r.start().After(s.LastActiveAt) {
			s.LastActiveAt = r.start()
		}
	}
	out := make([]rollup.Totals, 0, len(sums))
	for c, s := range sums {
		if s.TTFTCount == 0 {
			s.TTFTMinUS = 0
		}
		out = append(out, rollup.Totals{BucketStart: c.bucket, Group: c.group, Sums: *s})
	}
	slices.SortFunc(out, func(a, b rollup.Totals) int {
		return cmp.Or(a.BucketStart.Compare(b.BucketStart), cmp.Compare(a.Group, b.Group))
	})
	return out
}

func compareTotals(t *testing.T, what string, got, want []rollup.Totals) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d cells, want %d", what, len(got), len(want))
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		gotAt, wantAt := g.LastActiveAt, w.LastActiveAt
		g.LastActiveAt, w.LastActiveAt = time.Time{}, time.Time{}
		if !g.BucketStart.Equal(w.BucketStart) || g.Group != w.Group || g.Sums != w.Sums || !gotAt.Equal(wantAt) {
			t.Errorf("%s: cell %d\n got %v %q %+v last active %v\nwant %v %q %+v last active %v",
				what, i, g.BucketStart, g.Group, g.Sums, gotAt, w.BucketStart, w.Group, w.Sums, wantAt)
			return
		}
	}
}

func compareHistograms(t *testing.T, what string, got []rollup.GroupHistograms, traces []rawTrace, g store.GroupBy) {
	t.Helper()
	want := map[string]*rollup.GroupHistograms{}
	latencies := map[string][]int64{}
	for _, r := range traces {
		k := r.group(g)
		h := want[k]
		if h == nil {
			h = &rollup.GroupHistograms{Group: k}
			want[k] = h
		}
		h.Latency.Add(r.latencyMS)
		if r.ttftUS > 0 {
			h.TTFT.Add(r.ttftUS)
		}
		latencies[k] = append(latencies[k], r.latencyMS)
	}
	if len(got) != len(want) {
		t.Errorf("%s: %d groups, want %d", what, len(got), len(want))
	}
	for i, h := range got {
		if i > 0 && got[i-1].Group >= h.Group {
			t.Errorf("%s: groups out of order: %q then %q", what, got[i-1].Group, h.Group)
		}
		w := want[h.Group]
		if w == nil {
			t.Errorf("%s: unexpected group %q", what, h.Group)
			continue
		}
		if h.Latency.String() != w.Latency.String() || h.TTFT.String() != w.TTFT.String() {
			t.Errorf("%s %q: histograms differ from the raw values'", what, h.Group)
		}
		exact := latencies[h.Group]
		slices.Sort(exact)
		for _, q := range []float64{0.5, 0.95, 0.99} {
			v := float64(exact[int(math.Ceil(q*float64(len(exact))))-1])
			if est := h.Latency.Quantile(q); math.Abs(est-v) > rollup.RelativeAccuracy*v {
				t.Errorf("%s %q: p%v latency %v, exact %v: off by more than 1%%", what, h.Group, q*100, est, v)
			}
		}
	}
}

func sumRequests(ts []rollup.Totals) int64 {
	var n int64
	for _, x := range ts {
		n += x.Requests
	}
	return n
}

func hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

func describe(q store.RollupQuery) string {
	return fmt.Sprintf("query{tenant %+v, %s–%s, provider %q, model %q, group_by %q, bucket %q}",
		q.Tenant, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.Provider, q.Model, q.GroupBy, q.Bucket)
}
