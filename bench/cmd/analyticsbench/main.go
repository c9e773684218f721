// Command analyticsbench measures the analytics answers over a store seeded
// by bench/cmd/seed: summary, usage (group_by model, bucket day) and cost
// (bucket day) over the whole seeded window (30 days by default), each
// called -calls times, through the real analytics.Service on the store and
// through HTTP against the real handler chain (app.New on the same store,
// serving on loopback). It reports p50, p95 and max per query, the rollup
// rows the window holds, and the machine's load average.
//
//	go run ./cmd/analyticsbench -driver sqlite -dsn /tmp/scale.db
//	go run ./cmd/analyticsbench -driver postgres -dsn postgres://postgres@127.0.0.1:5432/ongoingai_scale
//
// Two scopes are measured:
//
//   - all tenants: what a single-tenant deployment (auth off) asks, and the
//     worst case, every rollup row of the window;
//   - one workspace (-workspace, the busiest seeded one by default): what a
//     caller with a gateway key asks (auth on, a viewer key of that
//     workspace declared in the config); over HTTP this goes through auth.
//
// Calls are interleaved, round by round in a shuffled order, so a burst of
// load from other work on the machine hits every query alike.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/ongoingai/gateway/bench/internal/harness"
	"github.com/ongoingai/gateway/bench/internal/sqlconn"
	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// benchToken is the viewer key the auth-on gateway declares.
const benchToken = "ogw_analyticsbench_viewer_token_0123456789"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "analyticsbench:", err)
		os.Exit(1)
	}
}

// query is one measured call.
type query struct {
	path   string // "service" or "http"
	scope  string // "all tenants" or "workspace X"
	name   string // summary, usage, cost
	call   func(ctx context.Context) (items int, err error)
	sample []time.Duration
	cpu    time.Duration // summed over the measured calls
	items  int
}

func run() error {
	driver := flag.String("driver", "sqlite", "store: sqlite or postgres")
	dsn := flag.String("dsn", "", "Postgres DSN, or the SQLite file path")
	calls := flag.Int("calls", 200, "measured calls per query")
	warmup := flag.Int("warmup", 10, "unmeasured calls per query first")
	org := flag.String("org", "acme", "org of the workspace scope")
	workspace := flag.String("workspace", "acme-prod", "workspace of the workspace scope")
	withHTTP := flag.Bool("http", true, "also measure through HTTP (app.New on the same store)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *dsn == "" {
		return errors.New("-dsn is required")
	}
	ctx := context.Background()
	loadStart := harness.LoadAverage()

	if *driver != "postgres" && *driver != "sqlite" {
		return fmt.Errorf("-driver: unknown driver %q", *driver)
	}
	db, err := opener.Open(ctx, config.Storage{Driver: *driver, DSN: *dsn, Path: *dsn, ConnectTimeout: time.Hour})
	if err != nil {
		return err
	}
	defer db.Close()
	st := db.Store
	// The raw SQL this tool checks the store's answers against is each
	// engine's own, on a connection apart from the store's.
	conn, err := sqlconn.Open(*driver, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close()
	raw := rawDB{DB: conn, pg: *driver == "postgres"}

	info, err := describeStore(ctx, raw)
	if err != nil {
		return err
	}
	from, to := info.from, info.to
	wsRows, err := countRows(ctx, raw, from, to, *org, *workspace)
	if err != nil {
		return err
	}
	fmt.Printf("analyticsbench: %s, window %s .. %s (%s), %d traces, %d rollup rows in the window (%d of them workspace %s), %d calls per query after %d warm-up calls\n",
		*driver, from.Format(time.RFC3339), to.Format(time.RFC3339), to.Sub(from), info.traces, info.rows, wsRows, *workspace, *calls, *warmup)
	if daily, err := countDaily(ctx, raw, from, to); err == nil {
		fmt.Printf("analyticsbench: the daily tier holds %d rows for the window's days\n", daily)
	} else {
		fmt.Printf("analyticsbench: no daily tier (%v)\n", err)
	}
	if err := verify(ctx, raw, st, from, to); err != nil {
		return err
	}
	fmt.Printf("analyticsbench: machine: %s\n", harness.DescribeMachine(ctx, *dsn, *driver == "postgres"))
	fmt.Printf("analyticsbench: commit: %s\n", commit(ctx))
	fmt.Printf("analyticsbench: load average at start %s\n", loadStart)

	all := store.Tenant{}
	ws := store.Tenant{OrgID: *org, WorkspaceID: *workspace}
	wsScope := "workspace " + *workspace

	// Through the service, on the store.
	svc := analytics.New(st)
	var queries []*query
	for _, sc := range []struct {
		name   string
		tenant store.Tenant
	}{{"all tenants", all}, {wsScope, ws}} {
		base := analytics.Query{Tenant: sc.tenant, From: from, To: to}
		queries = append(queries,
			&query{path: "service", scope: sc.name, name: "summary", call: func(ctx context.Context) (int, error) {
				s, err := svc.Summary(ctx, base)
				if err == nil && sc.tenant == all && s.TotalRequests != info.traces {
					err = fmt.Errorf("summary counts %d requests, the store holds %d traces", s.TotalRequests, info.traces)
				}
				return 1, err
			}},
			&query{path: "service", scope: sc.name, name: "usage by model per day", call: func(ctx context.Context) (int, error) {
				q := base
				q.GroupBy, q.Bucket = store.GroupModel, store.BucketDay
				u, err := svc.Usage(ctx, q)
				return len(u.Items), err
			}},
			&query{path: "service", scope: sc.name, name: "cost per day", call: func(ctx context.Context) (int, error) {
				q := base
				q.Bucket = store.BucketDay
				c, err := svc.Cost(ctx, q)
				return len(c.Items), err
			}},
		)
	}
	cpu, err := newCPUMeter(ctx, *driver, *dsn)
	if err != nil {
		return err
	}
	defer cpu.close()
	if err := measure(ctx, queries, *calls, *warmup, cpu); err != nil {
		return err
	}
	results := slices.Clone(queries)

	if *withHTTP {
		// Through HTTP: the real gateway on the same database, once with
		// auth off (all tenants) and once with auth on and a viewer key of
		// the workspace (its scope comes from the key). Retention is off so
		// that starting a gateway deletes nothing of the seeded window.
		st.Close()
		for _, auth := range []bool{false, true} {
			cfg := config.Default()
			cfg.Storage.Driver = *driver
			if *driver == "postgres" {
				cfg.Storage.DSN = *dsn
			} else {
				cfg.Storage.Path = *dsn
			}
			cfg.Retention = config.Retention{}
			scope := "all tenants"
			header := http.Header{}
			if auth {
				scope = wsScope
				cfg.Auth.Enabled = true
				cfg.Auth.Keys = []config.StaticKey{{ID: "analyticsbench-viewer", Token: benchToken, OrgID: *org, WorkspaceID: *workspace, Role: "viewer"}}
				header.Set(cfg.Auth.Header, benchToken)
			}
			qs, err := measureHTTP(ctx, cfg, header, scope, from, to, *calls, *warmup, info.traces, *driver, *dsn)
			if err != nil {
				return err
			}
			results = append(results, qs...)
		}
	}

	fmt.Printf("analyticsbench: load average at end %s\n\n", harness.LoadAverage())
	fmt.Println("| path | scope | query | items | p50 | p95 | max | CPU per call |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, q := range results {
		s := slices.Clone(q.sample)
		slices.Sort(s)
		fmt.Printf("| %s | %s | %s | %d | %s | %s | %s | %s |\n", q.path, q.scope, q.name, q.items,
			fmtDur(quantile(s, 0.50)), fmtDur(quantile(s, 0.95)), fmtDur(s[len(s)-1]), fmtDur(q.cpu/time.Duration(len(s))))
	}
	return nil
}

// measure runs warmup unmeasured calls of each query, then calls measured
// ones, round by round, in a new random order each round.
func measure(ctx context.Context, qs []*query, calls, warmup int, cpu *cpuMeter) error {
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	for round := range warmup + calls {
		if round == warmup {
			// The pool has opened its connections by now.
			if err := cpu.refresh(ctx); err != nil {
				return err
			}
		}
		rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			q := qs[i]
			c0 := cpu.read()
			t := time.Now()
			items, err := q.call(ctx)
			d := time.Since(t)
			c := cpu.read() - c0
			if err != nil {
				return fmt.Errorf("%s %s %s: %w", q.path, q.scope, q.name, err)
			}
			q.items = items
			if round >= warmup {
				q.sample = append(q.sample, d)
				q.cpu += c
			}
		}
	}
	return nil
}

// measureHTTP starts the gateway on cfg, serving on a loopback port, and
// measures the three answers through it.
func measureHTTP(ctx context.Context, cfg config.Config, header http.Header, scope string, from, to time.Time, calls, warmup int, traces int64, driver, dsn string) ([]*query, error) {
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer func() {
		srv.Shutdown(ctx)
		a.Close(ctx)
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	base := "http://" + ln.Addr().String()
	window := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	get := func(ctx context.Context, path string, extra url.Values, into any) error {
		v := url.Values{}
		for k, vs := range window {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+v.Encode(), nil)
		if err != nil {
			return err
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
		}
		return json.Unmarshal(body, into)
	}
	var items struct {
		Items []json.RawMessage `json:"items"`
	}
	qs := []*query{
		{path: "http", scope: scope, name: "summary", call: func(ctx context.Context) (int, error) {
			var s analytics.Summary
			err := get(ctx, "/api/analytics/summary", nil, &s)
			if err == nil && scope == "all tenants" && s.TotalRequests != traces {
				err = fmt.Errorf("summary counts %d requests, the store holds %d traces", s.TotalRequests, traces)
			}
			return 1, err
		}},
		{path: "http", scope: scope, name: "usage by model per day", call: func(ctx context.Context) (int, error) {
			err := get(ctx, "/api/analytics/usage", url.Values{"group_by": {"model"}, "bucket": {"day"}}, &items)
			return len(items.Items), err
		}},
		{path: "http", scope: scope, name: "cost per day", call: func(ctx context.Context) (int, error) {
			err := get(ctx, "/api/analytics/cost", url.Values{"bucket": {"day"}}, &items)
			return len(items.Items), err
		}},
	}
	cpu, err := newCPUMeter(ctx, driver, dsn)
	if err != nil {
		return nil, err
	}
	defer cpu.close()
	return qs, measure(ctx, qs, calls, warmup, cpu)
}

// storeInfo is what the seeded store holds.
type storeInfo struct {
	from, to time.Time // the hours the rollups cover: [first, last+1h)
	rows     int64     // rollup rows in the window
	traces   int64     // traces in the window
}

// rawDB is the tool's own connection to the store's database, and which
// dialect it speaks.
type rawDB struct {
	*sql.DB
	pg bool // Postgres (timestamptz, $n parameters); else SQLite (unix microseconds, ?)
}

// scalar runs a one-row query.
func (r rawDB) scalar(ctx context.Context, q string, dest ...any) error {
	return r.QueryRowContext(ctx, q).Scan(dest...)
}

func describeStore(ctx context.Context, st rawDB) (storeInfo, error) {
	var info storeInfo
	if st.pg {
		var first, last *time.Time
		if err := st.scalar(ctx, "SELECT min(hour), max(hour), count(*) FROM trace_rollups", &first, &last, &info.rows); err != nil {
			return info, err
		}
		if first == nil {
			return info, errors.New("trace_rollups is empty: seed the store first (bench/cmd/seed)")
		}
		info.from, info.to = first.UTC(), last.UTC().Add(time.Hour)
		err := st.scalar(ctx, fmt.Sprintf("SELECT count(*) FROM traces WHERE started_at >= '%s' AND started_at < '%s'",
			info.from.Format(time.RFC3339), info.to.Format(time.RFC3339)), &info.traces)
		return info, err
	}
	var first, last *int64
	if err := st.scalar(ctx, "SELECT min(hour), max(hour), count(*) FROM trace_rollups", &first, &last, &info.rows); err != nil {
		return info, err
	}
	if first == nil {
		return info, errors.New("trace_rollups is empty: seed the store first (bench/cmd/seed)")
	}
	info.from, info.to = time.UnixMicro(*first).UTC(), time.UnixMicro(*last).UTC().Add(time.Hour)
	err := st.scalar(ctx, fmt.Sprintf("SELECT count(*) FROM traces WHERE started_at >= %d AND started_at < %d",
		info.from.UnixMicro(), info.to.UnixMicro()), &info.traces)
	return info, err
}

// countRows counts one workspace's rollup rows in the window.
func countRows(ctx context.Context, st rawDB, from, to time.Time, org, ws string) (int64, error) {
	var n int64
	var q string
	if st.pg {
		q = fmt.Sprintf("SELECT count(*) FROM trace_rollups WHERE org_id = '%s' AND workspace_id = '%s' AND hour >= '%s' AND hour < '%s'",
			sqlQuote(org), sqlQuote(ws), from.Format(time.RFC3339), to.Format(time.RFC3339))
	} else {
		q = fmt.Sprintf("SELECT count(*) FROM trace_rollups WHERE org_id = '%s' AND workspace_id = '%s' AND hour >= %d AND hour < %d",
			sqlQuote(org), sqlQuote(ws), from.UnixMicro(), to.UnixMicro())
	}
	err := st.scalar(ctx, q, &n)
	return n, err
}

// countDaily counts the daily tier's rows for the days in the window.
func countDaily(ctx context.Context, st rawDB, from, to time.Time) (int64, error) {
	var n int64
	var q string
	if st.pg {
		q = fmt.Sprintf("SELECT count(*) FROM trace_rollups_daily WHERE day >= '%s' AND day < '%s'",
			from.Truncate(24*time.Hour).Format(time.RFC3339), to.Format(time.RFC3339))
	} else {
		q = fmt.Sprintf("SELECT count(*) FROM trace_rollups_daily WHERE day >= %d AND day < %d",
			from.Truncate(24*time.Hour).UnixMicro(), to.UnixMicro())
	}
	err := st.scalar(ctx, q, &n)
	return n, err
}

// verify checks the service's usage per model and day and cost per day, for
// all tenants, against sums computed straight from the hourly rollup rows,
// whatever tiers the store answers from.
func verify(ctx context.Context, raw rawDB, st store.Store, from, to time.Time) error {
	type cell struct {
		day   time.Time
		model string
	}
	type sums struct{ requests, input, output, total, cached, cost int64 }
	want := map[cell]sums{}
	add := func(day time.Time, model string, v sums) {
		c := cell{day.UTC(), model}
		w := want[c]
		w.requests += v.requests
		w.input += v.input
		w.output += v.output
		w.total += v.total
		w.cached += v.cached
		w.cost += v.cost
		want[c] = w
	}
	const cols = "sum(requests), sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cached_input_tokens), sum(cost_nano_usd)"
	if raw.pg {
		rows, err := raw.QueryContext(ctx, "SELECT date_trunc('day', hour, 'UTC'), model, "+strings.ReplaceAll(cols, ")", ")::bigint")+
			" FROM trace_rollups WHERE hour >= $1 AND hour < $2 GROUP BY 1, 2", from, to)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d time.Time
			var m string
			var v sums
			if err := rows.Scan(&d, &m, &v.requests, &v.input, &v.output, &v.total, &v.cached, &v.cost); err != nil {
				return err
			}
			add(d, m, v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	} else {
		rows, err := raw.QueryContext(ctx, "SELECT hour - hour % 86400000000, model, "+cols+
			" FROM trace_rollups WHERE hour >= ? AND hour < ? GROUP BY 1, 2", from.UnixMicro(), to.UnixMicro())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var d int64
			var m string
			var v sums
			if err := rows.Scan(&d, &m, &v.requests, &v.input, &v.output, &v.total, &v.cached, &v.cost); err != nil {
				return err
			}
			add(time.UnixMicro(d), m, v)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	svc := analytics.New(st)
	u, err := svc.Usage(ctx, analytics.Query{From: from, To: to, GroupBy: store.GroupModel, Bucket: store.BucketDay})
	if err != nil {
		return err
	}
	if len(u.Items) != len(want) {
		return fmt.Errorf("verify: usage has %d cells, the hourly rows %d", len(u.Items), len(want))
	}
	perDay := map[time.Time]int64{}
	for c, w := range want {
		perDay[c.day] += w.cost
	}
	for _, it := range u.Items {
		w := want[cell{it.BucketStart.UTC(), *it.Group}]
		got := sums{it.Requests, it.InputTokens, it.OutputTokens, it.TotalTokens, it.CachedInputTokens, w.cost}
		if got != w {
			return fmt.Errorf("verify: usage %s %s = %+v, the hourly rows say %+v", it.BucketStart.Format(time.DateOnly), *it.Group, got, w)
		}
	}
	c, err := svc.Cost(ctx, analytics.Query{From: from, To: to, Bucket: store.BucketDay})
	if err != nil {
		return err
	}
	if len(c.Items) != len(perDay) {
		return fmt.Errorf("verify: cost has %d days, the hourly rows %d", len(c.Items), len(perDay))
	}
	for _, it := range c.Items {
		if w := float64(perDay[it.BucketStart.UTC()]) / 1e9; it.TotalCostUSD != w {
			return fmt.Errorf("verify: cost %s = %v USD, the hourly rows say %v", it.BucketStart.Format(time.DateOnly), it.TotalCostUSD, w)
		}
	}
	fmt.Printf("analyticsbench: verified: usage by model per day (%d cells) and cost per day (%d days) equal sums over the hourly rows\n", len(u.Items), len(c.Items))
	return nil
}

func sqlQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// quantile of sorted samples (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}

// commit names the code measured.
func commit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.CommandContext(ctx, "git", "status", "--porcelain").Output(); err == nil && len(st) > 0 {
		rev += fmt.Sprintf(", working tree with %d uncommitted paths", strings.Count(string(st), "\n"))
	}
	return rev
}
