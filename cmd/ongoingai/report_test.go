package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// seedStore is a store the report tests write traces into through the real
// rollup path (internal/jobs, bound by store/opener) and read rollups back
// from, with the two things they do in the engine's own terms: enqueue a
// rollup job River cannot decode, and make a job look held by a runner
// that died.
type seedStore struct {
	*opener.DB
	insertBadRollupJob func(t *testing.T)
	holdFirstJob       func(t *testing.T, ago time.Duration)
}

// reportEnv names a fresh store of driver in the config overlay, and opens
// it for seeding.
func reportEnv(t *testing.T, driver string) (map[string]string, func() seedStore) {
	t.Helper()
	env := map[string]string{"ONGOINGAI_STORAGE_DRIVER": driver}
	if driver == config.DriverSQLite {
		env["ONGOINGAI_STORAGE_PATH"] = testdb.SQLitePath(t)
	} else {
		env["ONGOINGAI_STORAGE_DSN"] = testdb.PostgresDSN(t)
	}
	open := func() seedStore {
		t.Helper()
		const hold = `UPDATE river_job SET state = 'running', attempt = 1, %s
			WHERE id = (SELECT min(id) FROM river_job WHERE queue = 'rollups')`
		if driver == config.DriverSQLite {
			st, err := opener.SQLite(t.Context(), env["ONGOINGAI_STORAGE_PATH"])
			if err != nil {
				t.Fatal(err)
			}
			return seedStore{DB: opener.New(st), insertBadRollupJob: badJobInserter(st),
				holdFirstJob: func(t *testing.T, ago time.Duration) {
					t.Helper()
					mustNil(t, st.InTx(t.Context(), func(tx *sql.Tx) error {
						_, err := tx.ExecContext(t.Context(), fmt.Sprintf(hold,
							"attempted_at = datetime('now', ?, 'subsec'), attempted_by = json_array('dead-gateway')"),
							fmt.Sprintf("-%d seconds", int(ago.Seconds())))
						return err
					}))
				}}
		}
		st, err := opener.Postgres(t.Context(), env["ONGOINGAI_STORAGE_DSN"])
		if err != nil {
			t.Fatal(err)
		}
		return seedStore{DB: opener.New(st), insertBadRollupJob: badJobInserter(st),
			holdFirstJob: func(t *testing.T, ago time.Duration) {
				t.Helper()
				mustNil(t, st.InTx(t.Context(), func(tx pgx.Tx) error {
					_, err := tx.Exec(t.Context(), fmt.Sprintf(hold,
						"attempted_at = now() - make_interval(secs => $1), attempted_by = ARRAY['dead-gateway']"), ago.Seconds())
					return err
				}))
			}}
	}
	return env, open
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// day0 is the first day of the seeded traffic: three days ago, so that no
// retention a gateway applies at start touches it.
func day0() time.Time {
	return time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -3)
}

type seedTrace struct {
	at                     time.Duration // after day0
	org, ws, key           string
	provider, model        string
	status                 int
	in, out, cached, nanos int64
	unpriced               bool
}

func (s seedTrace) record(i int) trace.Record {
	ts := day0().Add(s.at)
	r := trace.Record{
		ID: fmt.Sprintf("report-trace-%02d", i), Timestamp: ts, CreatedAt: ts.Add(time.Second),
		Provider: s.provider, Model: s.model, RequestModel: s.model, RequestMethod: "POST",
		RequestPath: "/" + s.provider + "/v1/chat/completions", ResponseStatus: s.status, Outcome: trace.OutcomeOK,
		InputTokens: s.in, OutputTokens: s.out, TotalTokens: s.in + s.out, CachedInputTokens: s.cached,
		LatencyMS: 100, OrgID: s.org, WorkspaceID: s.ws, GatewayKeyID: s.key,
		CostNanoUSD: s.nanos, Priced: !s.unpriced,
	}
	r.EstimatedCostUSD = float64(s.nanos) / 1e9
	if s.status >= 400 {
		r.Outcome = trace.OutcomeUpstreamError
	}
	return r
}

func records(first int, ts ...seedTrace) []trace.Record {
	out := make([]trace.Record, len(ts))
	for i, s := range ts {
		out[i] = s.record(first + i)
	}
	return out
}

// seedReportTraffic writes three batches as a gateway that then stopped
// would have: the first rolled up by a running jobs runner, the other two
// committed with their rollup jobs, which no runner worked (an insert-only
// sink plays the gateway that died). It returns the two gateway keys' IDs,
// made through the CLI so that the report can name them.
func seedReportTraffic(t *testing.T, env map[string]string, open func() seedStore) (k1, k2 string) {
	t.Helper()
	mkKey := func(ws, name string) string {
		r := runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", ws, "--role", "developer", "--name", name, "--json")
		r.expect(t, exitOK)
		var k tenancy.IssuedKey
		if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	k1, k2 = mkKey("prod", "ci-bot"), mkKey("staging", "staging-app")

	const h, d = time.Hour, 24 * time.Hour
	batch1 := records(1,
		seedTrace{at: 10*h + 5*time.Minute, org: "acme", ws: "prod", key: k1, provider: "openai", model: "gpt-4o", status: 200, in: 1000, out: 200, cached: 100, nanos: 4_500_000},
		seedTrace{at: 10*h + 30*time.Minute, org: "acme", ws: "prod", key: k1, provider: "openai", model: "gpt-4o-mini", status: 200, in: 500, out: 50, nanos: 105_000},
	)
	batch2 := records(3,
		// The last millisecond of day 1: a --to date includes it.
		seedTrace{at: 2*d - time.Millisecond, org: "acme", ws: "staging", key: k2, provider: "anthropic", model: "claude-sonnet-4", status: 200, in: 2000, out: 400, nanos: 12_000_000},
		seedTrace{at: d + 12*h, org: "acme", ws: "staging", key: k2, provider: "anthropic", model: "claude-sonnet-4", status: 500},
	)
	batch3 := records(5,
		// The first instant of day 2: a --to date of day 1 excludes it.
		seedTrace{at: 2 * d, org: "globex", ws: "main", provider: "openai", model: "gpt-4o", status: 200, in: 3000, out: 1000, nanos: 17_500_000},
		seedTrace{at: 2*d + 8*h, org: "globex", ws: "main", provider: "openai", model: "llama-x", status: 200, in: 100, out: 100, unpriced: true},
	)

	ctx := t.Context()
	st := open()
	defer st.Close()
	runner, err := st.StartJobs(ctx, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.TraceSink().InsertTraces(ctx, batch1); err != nil {
		t.Fatal(err)
	}
	everything := store.RollupQuery{From: day0().Add(-d), To: day0().Add(4 * d)}
	for deadline := time.Now().Add(20 * time.Second); ; {
		rows, err := st.AggregateRollups(ctx, everything)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].Requests == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runner did not roll up the first batch: %+v", rows)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runner.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}

	crashed, err := st.NewInsertOnlySink(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]trace.Record{batch2, batch3} {
		if err := crashed.InsertTraces(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return k1, k2
}

func date(days int) string { return day0().AddDate(0, 0, days).Format(time.DateOnly) }

func usdOf(nanos int64) float64 { return float64(nanos) / 1e9 }

func decodeReport(t *testing.T, r result) report {
	t.Helper()
	var rep report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("report --format json: %v\n%s", err, r.stdout)
	}
	return rep
}

func TestReport(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			k1, k2 := seedReportTraffic(t, env, open)
			window := []string{"--from", date(0), "--to", date(2)}

			// Without catching up, only the batch a runner rolled up counts.
			r := runCLI(t, env, "", append([]string{"report", "--format", "json", "--no-catch-up"}, window...)...)
			r.expect(t, exitOK)
			rep := decodeReport(t, r)
			if rep.Summary.TotalRequests != 2 || rep.Rollups.CaughtUp || rep.Rollups.UnappliedBatches != nil {
				t.Fatalf("--no-catch-up: summary %+v, rollups %+v", rep.Summary, rep.Rollups)
			}

			// The report applies the two batches the stopped gateway left
			// pending, once: a second report applies nothing and agrees.
			for run, wantApplied := range []int{2, 0} {
				r = runCLI(t, env, "", append([]string{"report", "--format", "json"}, window...)...)
				r.expect(t, exitOK)
				rep = decodeReport(t, r)
				zero := 0
				if want := (reportRollups{CaughtUp: true, AppliedBatches: wantApplied, UnappliedBatches: &zero}); !reflect.DeepEqual(rep.Rollups, want) {
					t.Errorf("run %d: rollups %+v, want applied %d", run, rep.Rollups, wantApplied)
				}
				if applied := strings.Contains(r.stderr, "applied 2 pending trace batches"); applied != (wantApplied == 2) || strings.Contains(r.stderr, "warning") {
					t.Errorf("run %d: stderr %q", run, r.stderr)
				}
				checkFullReport(t, rep, k1, k2)
			}

			// Text: the same report as a summary block and three tables.
			r = runCLI(t, env, "", append([]string{"report"}, window...)...)
			r.expect(t, exitOK)
			for _, want := range []string{
				"Summary\n", "Most requested model  claude-sonnet-4\n",
				"Top models, ranked by cost (then requests)\n", "Top gateway keys, ranked by cost (then requests)\n",
				"Daily cost (UTC, days with traffic; --all-days for every day)\n",
				"Window", day0().Format(time.RFC3339) + " to " + day0().AddDate(0, 0, 3).Format(time.RFC3339),
				"all organizations", "0.034105", "claude-sonnet-4", "ci-bot", "staging-app", "(no key)",
				date(0), date(1), date(2), "TOTAL", "complete\n",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("text report lacks %q:\n%s", want, r.stdout)
				}
			}
			if lines := strings.Split(r.stdout, "\n"); !strings.HasPrefix(lines[len(lines)-2], "  TOTAL") ||
				!strings.Contains(lines[len(lines)-2], "0.034105") {
				t.Errorf("text report does not end with the total: %q", lines[len(lines)-2])
			}

			// The figures are the analytics API's, parsed the same way.
			checkAgainstAPI(t, env, window, rep)

			// Tenants.
			r = runCLI(t, env, "", append([]string{"report", "--format", "json", "--org", "acme"}, window...)...)
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			if s := rep.Summary; s.TotalRequests != 4 || s.TotalCostUSD != usdOf(16_605_000) || s.ActiveKeys != 2 ||
				len(rep.Keys) != 2 || *rep.Filters.OrgID != "acme" || rep.Filters.WorkspaceID != nil {
				t.Errorf("--org acme: %+v keys %+v", s, rep.Keys)
			}
			r = runCLI(t, env, "", append([]string{"report", "--format", "json", "--org", "acme", "--workspace", "staging"}, window...)...)
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			if s := rep.Summary; s.TotalRequests != 2 || s.ErrorRequests != 1 || s.TotalCostUSD != usdOf(12_000_000) ||
				len(rep.Keys) != 1 || rep.Keys[0].GatewayKeyID != k2 || rep.Keys[0].Name != "staging-app" ||
				len(rep.Models) != 1 || rep.Models[0].Model != "claude-sonnet-4" {
				t.Errorf("--org acme --workspace staging: %+v keys %+v models %+v", s, rep.Keys, rep.Models)
			}
			r = runCLI(t, env, "", append([]string{"report", "--org", "globex", "--workspace", "prod"}, window...)...)
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "organization globex, workspace prod") || strings.Count(r.stdout, "(no traffic)") != 3 {
				t.Errorf("empty tenant:\n%s", r.stdout)
			}

			// Dates: a --to date includes its whole day, up to the last
			// millisecond and not the next midnight.
			r = runCLI(t, env, "", "report", "--format", "json", "--from", date(1), "--to", date(1))
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			if s := rep.Summary; s.TotalRequests != 2 || s.TotalCostUSD != usdOf(12_000_000) ||
				!rep.To.Equal(day0().AddDate(0, 0, 2)) || len(rep.Daily) != 1 || rep.Daily[0].Date != date(1) {
				t.Errorf("--from %s --to %s: %+v, to %s, daily %+v", date(1), date(1), s, rep.To, rep.Daily)
			}
			// RFC3339 bounds widen to whole hours, as in the API.
			r = runCLI(t, env, "", "report", "--format", "json",
				"--from", day0().Add(10*time.Hour+30*time.Minute).Format(time.RFC3339),
				"--to", day0().Add(10*time.Hour+45*time.Minute).Format(time.RFC3339))
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			if !rep.From.Equal(day0().Add(10*time.Hour)) || !rep.To.Equal(day0().Add(11*time.Hour)) || rep.Summary.TotalRequests != 2 {
				t.Errorf("RFC3339 window: %s to %s, %d requests", rep.From, rep.To, rep.Summary.TotalRequests)
			}
			// Without bounds: the last 30 days, listing only the days with
			// traffic; --all-days lists every day the window touches.
			r = runCLI(t, env, "", "report", "--format", "json", "--provider", "openai", "--top", "1")
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			days := int(rep.To.Sub(rep.From.Truncate(24*time.Hour)) / (24 * time.Hour))
			if rep.To.Sub(rep.To.Truncate(24*time.Hour)) > 0 {
				days++ // the current day, begun
			}
			if rep.Summary.TotalRequests != 4 || len(rep.Daily) != 2 || rep.Daily[0].Date != date(0) || rep.Daily[1].Date != date(2) ||
				len(rep.Models) != 1 || rep.Models[0].Model != "gpt-4o" || len(rep.Keys) != 1 || rep.Keys[0].GatewayKeyID != "" {
				t.Errorf("default window, openai, top 1: %+v models %+v keys %+v, daily %+v", rep.Summary, rep.Models, rep.Keys, rep.Daily)
			}
			r = runCLI(t, env, "", "report", "--format", "json", "--provider", "openai", "--all-days")
			r.expect(t, exitOK)
			rep = decodeReport(t, r)
			if len(rep.Daily) != days || days < 30 || rep.Daily[0].Requests != 0 {
				t.Errorf("--all-days: %d rows (first %+v), want %d", len(rep.Daily), rep.Daily[0], days)
			}
			r = runCLI(t, env, "", "report", "--provider", "openai", "--all-days")
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "Daily cost (UTC, every day of the window)\n") ||
				!strings.Contains(r.stdout, rep.Daily[0].Date+"  0  ") {
				t.Errorf("--all-days text lacks the empty days:\n%s", r.stdout)
			}
		})
	}
}

// checkFullReport checks every figure of the report over days 0 to 2.
func checkFullReport(t *testing.T, rep report, k1, k2 string) {
	t.Helper()
	top := "claude-sonnet-4" // two requests, like gpt-4o, and first by name
	wantSummary := analytics.Summary{
		Range:         analytics.Range{From: day0(), To: day0().AddDate(0, 0, 3)},
		TotalRequests: 6, ErrorRequests: 1, TotalInputTokens: 6600, TotalOutputTokens: 1750, TotalTokens: 8350,
		CachedInputTokens: 100, TotalCostUSD: usdOf(34_105_000), ActiveKeys: 2, TopModel: &top, UnpricedRequests: 1,
	}
	if !reflect.DeepEqual(rep.Summary, wantSummary) {
		t.Errorf("summary\n got %+v\nwant %+v", rep.Summary, wantSummary)
	}
	if !rep.From.Equal(wantSummary.From) || !rep.To.Equal(wantSummary.To) {
		t.Errorf("window %s to %s", rep.From, rep.To)
	}
	type model struct {
		name             string
		requests, errors int64
		in, out          int64
		usd              float64
	}
	var models []model
	for _, m := range rep.Models {
		models = append(models, model{m.Model, m.Requests, m.Errors, m.InputTokens, m.OutputTokens, m.TotalCostUSD})
	}
	wantModels := []model{
		{"gpt-4o", 2, 0, 4000, 1200, usdOf(22_000_000)},
		{"claude-sonnet-4", 2, 1, 2000, 400, usdOf(12_000_000)},
		{"gpt-4o-mini", 1, 0, 500, 50, usdOf(105_000)},
		{"llama-x", 1, 0, 100, 100, 0},
	}
	if !reflect.DeepEqual(models, wantModels) {
		t.Errorf("models\n got %+v\nwant %+v", models, wantModels)
	}
	type key struct {
		id, name string
		requests int64
		tokens   int64
		usd      float64
		last     time.Time
	}
	var keys []key
	for _, k := range rep.Keys {
		keys = append(keys, key{k.GatewayKeyID, k.Name, k.Requests, k.TotalTokens, k.TotalCostUSD, k.LastActiveAt})
	}
	wantKeys := []key{
		{"", "", 2, 4200, usdOf(17_500_000), day0().Add(56 * time.Hour)},
		{k2, "staging-app", 2, 2400, usdOf(12_000_000), day0().Add(48*time.Hour - time.Millisecond)},
		{k1, "ci-bot", 2, 1750, usdOf(4_605_000), day0().Add(10*time.Hour + 30*time.Minute)},
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys\n got %+v\nwant %+v", keys, wantKeys)
	}
	wantDaily := []reportDay{
		{Date: date(0), Requests: 2, InputTokens: 1500, OutputTokens: 250, TotalTokens: 1750, TotalCostUSD: usdOf(4_605_000)},
		{Date: date(1), Requests: 2, InputTokens: 2000, OutputTokens: 400, TotalTokens: 2400, TotalCostUSD: usdOf(12_000_000)},
		{Date: date(2), Requests: 2, InputTokens: 3100, OutputTokens: 1100, TotalTokens: 4200, UnpricedRequests: 1, TotalCostUSD: usdOf(17_500_000)},
	}
	if !reflect.DeepEqual(rep.Daily, wantDaily) {
		t.Errorf("daily\n got %+v\nwant %+v", rep.Daily, wantDaily)
	}
}

// checkAgainstAPI serves a gateway on the same store and compares the
// report's summary and models with GET /api/analytics/summary and /models
// over the same from and to.
func checkAgainstAPI(t *testing.T, env map[string]string, window []string, rep report) {
	t.Helper()
	cfg, err := config.Load("", false, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	defer func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Close(ctx)
	}()
	get := func(path string, v any) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + path + "?from=" + window[1] + "&to=" + window[3])
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatal(err)
		}
	}
	var summary analytics.Summary
	get("/api/analytics/summary", &summary)
	if !reflect.DeepEqual(summary, rep.Summary) {
		t.Errorf("API summary %+v\n   report %+v", summary, rep.Summary)
	}
	var models analytics.Models
	get("/api/analytics/models", &models)
	byName := map[string]analytics.ModelItem{}
	for _, m := range models.Items {
		byName[m.Model] = m
	}
	for _, m := range rep.Models {
		if !reflect.DeepEqual(byName[m.Model], m) {
			t.Errorf("API model %+v\n   report %+v", byName[m.Model], m)
		}
	}
}

// badRollupArgs is a rollup job whose rows cannot be decoded: it fails on
// every attempt.
type badRollupArgs struct {
	Rows string `json:"rows"`
}

func (badRollupArgs) Kind() string { return jobs.RollupArgs{}.Kind() }

func (badRollupArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.RollupQueue} }

// badJobInserter returns a function that enqueues a rollup job whose
// arguments River cannot decode.
func badJobInserter[TTx any](st store.TxStore[TTx]) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		mustNil(t, insertJob(t.Context(), st.River(), badRollupArgs{Rows: "not rows"}))
	}
}

func insertJob[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], args river.JobArgs) error {
	c, err := river.NewClient(driver, &river.Config{})
	if err != nil {
		return err
	}
	_, err = c.Insert(ctx, args, nil)
	return err
}

func TestReportWarnsAboutBatchesItCannotApply(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			st := open()
			crashed, err := st.NewInsertOnlySink(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			good := records(1, seedTrace{at: time.Hour, org: "acme", ws: "prod", provider: "openai", model: "gpt-4o", status: 200, in: 10, out: 5, nanos: 75})
			if err := crashed.InsertTraces(t.Context(), good); err != nil {
				t.Fatal(err)
			}
			st.insertBadRollupJob(t)
			_ = st.Close()

			start := time.Now()
			r := runCLI(t, env, "", "report", "--format", "json", "--from", date(0), "--to", date(0))
			r.expect(t, exitOK)
			if elapsed := time.Since(start); elapsed > 30*time.Second {
				t.Errorf("report took %s", elapsed)
			}
			rep := decodeReport(t, r)
			if rep.Summary.TotalRequests != 1 || rep.Summary.TotalCostUSD != usdOf(75) || rep.Rollups.AppliedBatches != 1 ||
				rep.Rollups.UnappliedBatches == nil || *rep.Rollups.UnappliedBatches != 1 {
				t.Errorf("summary %+v rollups %+v", rep.Summary, rep.Rollups)
			}
			if !strings.Contains(r.stderr, "warning: 1 trace batch failed to roll up (") || !strings.Contains(r.stderr, "rows") {
				t.Errorf("stderr %q", r.stderr)
			}
			r = runCLI(t, env, "", "report", "--from", date(0), "--to", date(0))
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "INCOMPLETE: 1 pending and 0 discarded trace batches are not counted") {
				t.Errorf("text report does not say it is incomplete:\n%s", r.stdout)
			}
		})
	}
}

// A rollup job another process took and never finished (it died mid-job)
// is not waited for; one taken a moment ago is, up to --catch-up-timeout.
// Either way the report says what it misses.
func TestReportWithRollupJobsHeldByAnotherProcess(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			st := open()
			sink, err := st.NewInsertOnlySink(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, nanos := range []int64{1000, 20} {
				b := records(i, seedTrace{at: time.Hour, org: "acme", ws: "prod", provider: "openai", model: "gpt-4o", status: 200, in: 10, out: 5, nanos: nanos})
				if err := sink.InsertTraces(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			// The first batch's job: taken half an hour ago by a gateway since
			// gone (River's rescuer would hand it out again after an hour).
			st.holdFirstJob(t, 30*time.Minute)
			_ = st.Close()

			start := time.Now()
			r := runCLI(t, env, "", "report", "--format", "json", "--from", date(0), "--to", date(0))
			r.expect(t, exitOK)
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("report took %s", elapsed)
			}
			rep := decodeReport(t, r)
			if rep.Summary.TotalRequests != 1 || rep.Summary.TotalCostUSD != usdOf(20) || rep.Rollups.AppliedBatches != 1 ||
				*rep.Rollups.UnappliedBatches != 1 {
				t.Errorf("summary %+v rollups %+v", rep.Summary, rep.Rollups)
			}
			if !strings.Contains(r.stderr, "warning: 1 trace batch is held by another process") || strings.Contains(r.stderr, "failed") {
				t.Errorf("stderr %q", r.stderr)
			}

			// Taken a moment ago, the job may still complete: the report
			// waits for it, up to --catch-up-timeout, and then reports
			// without it.
			st = open()
			st.holdFirstJob(t, 0)
			_ = st.Close()
			start = time.Now()
			r = runCLI(t, env, "", "report", "--format", "json", "--from", date(0), "--to", date(0), "--catch-up-timeout", "300ms")
			r.expect(t, exitOK)
			if elapsed := time.Since(start); elapsed < 300*time.Millisecond || elapsed > 10*time.Second {
				t.Errorf("report took %s", elapsed)
			}
			rep = decodeReport(t, r)
			if rep.Summary.TotalRequests != 1 || *rep.Rollups.UnappliedBatches != 1 || rep.Rollups.AppliedBatches != 0 {
				t.Errorf("summary %+v rollups %+v", rep.Summary, rep.Rollups)
			}
			if !strings.Contains(r.stderr, "warning: gave up waiting after 300ms: 1 trace batch is not in the rollups") {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}

// Beside a gateway that keeps writing, the report waits only for the
// batches pending when it started: it ends, and counts them all.
func TestReportCatchUpEndsUnderTraffic(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			st := open()
			defer st.Close()
			sink, err := st.NewInsertOnlySink(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			const pending = 20
			for i := range pending {
				b := records(i, seedTrace{at: time.Hour, org: "acme", ws: "prod", provider: "openai", model: "gpt-4o", status: 200, in: 10, out: 5, nanos: 1000})
				if err := sink.InsertTraces(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			// The traffic that goes on: a batch every few milliseconds, on
			// day 1, until the report is done.
			ctx, cancel := context.WithCancel(t.Context())
			written := make(chan int)
			go func() {
				n := 0
				defer func() { written <- n }()
				for ctx.Err() == nil {
					b := records(1000+n, seedTrace{at: 30 * time.Hour, org: "acme", ws: "prod", provider: "openai", model: "gpt-4o", status: 200, in: 1, out: 1, nanos: 1})
					if err := sink.InsertTraces(ctx, b); err != nil {
						return
					}
					n++
					time.Sleep(2 * time.Millisecond)
				}
			}()
			r := runCLI(t, env, "", "report", "--format", "json", "--from", date(0), "--to", date(0), "--catch-up-timeout", "1m")
			cancel()
			n := <-written
			r.expect(t, exitOK)
			rep := decodeReport(t, r)
			if rep.Summary.TotalRequests != pending || rep.Summary.TotalCostUSD != usdOf(pending*1000) ||
				rep.Rollups.AppliedBatches < pending || *rep.Rollups.UnappliedBatches != 0 {
				t.Errorf("summary %+v rollups %+v", rep.Summary, rep.Rollups)
			}
			t.Logf("%d batches written during the report, %d applied", n, rep.Rollups.AppliedBatches)
		})
	}
}

func TestReportFlagErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never.db")
	env := map[string]string{"ONGOINGAI_STORAGE_PATH": path}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--format", "xml"}, `--format must be text or json, got "xml"`},
		{[]string{"--from", "yesterday"}, `--from must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999, got "yesterday"`},
		{[]string{"--to", "2026-13-01"}, `--to must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
		{[]string{"--from", "2026-03-02", "--to", "2026-03-01"}, "--to must be after --from"},
		{[]string{"--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T10:00:00Z"}, "--to must be after --from"},
		{[]string{"--from", "2999-01-01"}, "--from must not be after the current hour when --to is not given"},
		{[]string{"--top", "-1"}, "--top must be 0 (all) or more"},
		{[]string{"--top", "many"}, `invalid value "many" for flag --top`},
		{[]string{"--catch-up-timeout", "0s"}, "--catch-up-timeout must be positive"},
		{[]string{"--bogus"}, "flag provided but not defined: --bogus"},
		{[]string{"extra"}, `unexpected argument "extra"`},
	} {
		r := runCLI(t, env, "", append([]string{"report"}, tc.args...)...)
		r.expect(t, exitUsage)
		if !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: stderr %q, stdout %q; want %q", tc.args, r.stderr, r.stdout, tc.want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a rejected command touched the store: %v", err)
	}
}

func TestReportStoreFailures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "ongoingai.db")
	r := runCLI(t, map[string]string{"ONGOINGAI_STORAGE_PATH": path}, "", "report")
	r.expect(t, exitFail)
	if !strings.Contains(r.stderr, "no database at "+path) {
		t.Errorf("stderr %q", r.stderr)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("report created %s: %v", path, err)
	}
	r = runCLI(t, map[string]string{
		"ONGOINGAI_STORAGE_DRIVER": config.DriverPostgres,
		"ONGOINGAI_STORAGE_DSN":    "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2",
	}, "", "report")
	r.expect(t, exitFail)
	if !strings.Contains(r.stderr, "ongoingai report: storage (postgres)") {
		t.Errorf("stderr %q", r.stderr)
	}
	r = runCLI(t, map[string]string{"ONGOINGAI_STORAGE_DRIVER": "mysql"}, "", "report")
	r.expect(t, exitFail)
}

func TestReportHelp(t *testing.T) {
	r := runCLI(t, nil, "", "help", "report")
	r.expect(t, exitOK)
	for _, want := range []string{"Usage: ongoingai report", "-from", "-to", "-org", "-workspace", "-format", "-no-catch-up"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help report lacks %q:\n%s", want, r.stdout)
		}
	}
}
