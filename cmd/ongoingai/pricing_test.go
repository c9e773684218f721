package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
)

// pricing check reads the traces of the window and names what the catalog
// in use cannot price, on both stores.
func TestPricingCheck(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			st := open()
			batch := records(0,
				seedTrace{at: 1, provider: "openai", model: "gpt-4o", status: 200, in: 10, out: 5, nanos: 75},
				seedTrace{at: 2, provider: "openai", model: "acme-coder", status: 200, in: 100, out: 50, unpriced: true},
				seedTrace{at: 3, provider: "openai", model: "acme-coder", status: 200, in: 200, out: 60, unpriced: true},
				seedTrace{at: 4, provider: "anthropic", model: "claude-mystery-1", status: 200, in: 7, out: 3, unpriced: true},
				// Recorded unpriced, priced by today's catalog.
				seedTrace{at: 5, provider: "anthropic", model: "claude-opus-5-5", status: 200, in: 1, out: 1, unpriced: true},
			)
			if err := st.InsertTraces(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			st.Close()
			window := []string{"--from", day0().Format("2006-01-02"), "--to", day0().AddDate(0, 0, 1).Format("2006-01-02")}

			r := runCLI(t, env, "", append([]string{"pricing", "check", "--json"}, window...)...)
			r.expect(t, 1)
			var got pricingCheck
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			want := []unpricedModel{
				{Model: "acme-coder", Provider: "openai", Requests: 2, InputTokens: 300, OutputTokens: 110},
				{Model: "claude-mystery-1", Provider: "anthropic", Requests: 1, InputTokens: 7, OutputTokens: 3},
			}
			if got.Traces != 5 || got.NowPriced != 1 || len(got.Unpriced) != 2 || got.Unpriced[0] != want[0] || got.Unpriced[1] != want[1] {
				t.Fatalf("check = %+v", got)
			}

			r = runCLI(t, env, "", append([]string{"pricing", "check"}, window...)...)
			r.expect(t, 1)
			for _, line := range []string{"2 models are not priced (recorded at $0):", "acme-coder", "claude-mystery-1",
				"1 traces were recorded unpriced for models the catalog prices now"} {
				if !strings.Contains(r.stdout, line) {
					t.Errorf("text output lacks %q:\n%s", line, r.stdout)
				}
			}

			// A catalog file pricing both: nothing left to report.
			file := writeFile(t, "prices.json", `{"version": "ops", "unit": "USD per 1M tokens", "models": [`+
				`{"provider": "openai", "model": "acme-coder", "input": "1", "output": "2", "source": "https://example.com", "checked": "2026-12-01"},`+
				`{"provider": "anthropic", "model": "claude-mystery-1", "input": "1", "output": "2", "source": "https://example.com", "checked": "2026-12-01"}]}`)
			cfg := writeFile(t, "c.yaml", "pricing:\n  catalog_file: "+file+"\n")
			r = runCLI(t, env, "", append([]string{"pricing", "check", "--config", cfg}, window...)...)
			r.expect(t, 0)
			if !strings.Contains(r.stdout, "every model is priced") {
				t.Errorf("stdout=%s", r.stdout)
			}
		})
	}
}

// pricing reprice on both stores: traces recorded at $0 for a model that
// had no price are priced once the catalog file prices it, the rollups are
// corrected by exactly the difference (analytics equal a scan of the
// traces), a second run changes nothing, and the run is audited.
func TestPricingReprice(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env, open := reportEnv(t, driver)
			const h = time.Hour
			batch := records(0,
				seedTrace{at: 1 * h, org: "acme", ws: "prod", provider: "openai", model: "gpt-4o", status: 200, in: 1000, out: 100, nanos: 3_500_000},
				seedTrace{at: 2 * h, org: "acme", ws: "prod", provider: "openai", model: "acme-coder", status: 200, in: 1000, out: 500, unpriced: true},
				seedTrace{at: 2*h + time.Minute, org: "acme", ws: "prod", provider: "openai", model: "acme-coder", status: 200, in: 2000, out: 100, unpriced: true},
				seedTrace{at: 30 * h, org: "acme", ws: "dev", provider: "openai", model: "acme-coder", status: 200, in: 10, out: 10, unpriced: true},
			)
			ctx := t.Context()
			st := open()
			runner, err := st.StartJobs(ctx, jobs.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := runner.TraceSink().InsertTraces(ctx, batch); err != nil {
				t.Fatal(err)
			}
			everything := store.RollupQuery{From: day0().Add(-24 * h), To: day0().Add(72 * h)}
			waitRollups := func(want func(rollup.Totals) bool) rollup.Totals {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); ; {
					rows, err := st.AggregateRollups(ctx, everything)
					if err != nil {
						t.Fatal(err)
					}
					if len(rows) == 1 && want(rows[0]) {
						return rows[0]
					}
					if time.Now().After(deadline) {
						t.Fatalf("rollups never reached the expected totals: %+v", rows)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			before := waitRollups(func(r rollup.Totals) bool { return r.Requests == 4 })
			if before.Unpriced != 3 || before.CostNanoUSD != 3_500_000 {
				t.Fatalf("seeded rollups %+v", before.Sums)
			}
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := runner.Stop(stopCtx); err != nil {
				t.Fatal(err)
			}
			st.Close()

			file := writeFile(t, "prices.json", `{"version": "ops", "unit": "USD per 1M tokens", "models": [`+
				`{"provider": "openai", "model": "acme-coder", "input": "1.00", "output": "4.00", "source": "https://example.com", "checked": "2026-12-01"}]}`)
			cfg := writeFile(t, "c.yaml", "pricing:\n  catalog_file: "+file+"\n")
			window := []string{"--from", date(0), "--to", date(1), "--config", cfg, "--json"}

			r := runCLI(t, env, "", append([]string{"pricing", "reprice"}, window...)...)
			r.expect(t, 0)
			var got repriceResult
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			// 1000 × $1 + 500 × $4, 2000 × $1 + 100 × $4, 10 × $1 + 10 × $4 per 1M
			const added = 3_000_000 + 2_400_000 + 50_000
			if got.Traces != 4 || got.Repriced != 3 || got.NowPriced != 3 || got.CostChangeNanoUSD != added {
				t.Fatalf("reprice = %+v", got)
			}

			st = open()
			defer st.Close()
			// Analytics equal a scan of the repriced traces.
			traces, _, err := st.ListTraces(ctx, store.TraceFilter{Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			var scanCost, scanUnpriced int64
			for _, tr := range traces {
				scanCost += tr.CostNanoUSD
				if !tr.Priced {
					scanUnpriced++
				}
				if tr.Model == "acme-coder" && tr.PricingVersion != pricingVersionWithFile("ops") {
					t.Errorf("trace %s pricing_version %q", tr.ID, tr.PricingVersion)
				}
			}
			after := waitRollups(func(r rollup.Totals) bool { return r.Unpriced == 0 })
			if after.CostNanoUSD != scanCost || scanCost != 3_500_000+added || after.Unpriced != scanUnpriced || after.Requests != 4 {
				t.Fatalf("rollups %+v, scan cost %d unpriced %d", after.Sums, scanCost, scanUnpriced)
			}
			if after.InputTokens != before.InputTokens || after.LatencyMinMS != before.LatencyMinMS || after.TTFTCount != before.TTFTCount {
				t.Errorf("the correction changed more than cost: before %+v after %+v", before.Sums, after.Sums)
			}

			// Again: nothing left to change, the rollups stay.
			r = runCLI(t, env, "", append([]string{"pricing", "reprice"}, window...)...)
			r.expect(t, 0)
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || got.Repriced != 0 {
				t.Fatalf("second reprice = %+v (%v)", got, err)
			}
			again := waitRollups(func(rollup.Totals) bool { return true })
			if again.Sums != after.Sums {
				t.Errorf("a reprice with nothing to change moved the rollups: %+v", again.Sums)
			}

			events, _, err := st.ListAudit(ctx, store.AuditFilter{Action: auditlog.ActionPricingReprice, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 || events[1].ActorKeyID != "cli" || !strings.Contains(events[1].Reason, "3 of 4 traces repriced") {
				t.Fatalf("audit events %+v", events)
			}
		})
	}
}

func TestPricingRepriceNeedsAWindow(t *testing.T) {
	r := runCLI(t, nil, "", "pricing", "reprice", "--from", "2026-01-01")
	r.expect(t, exitUsage)
	if !strings.Contains(r.stderr, "--from and --to are required") {
		t.Fatalf("stderr=%q", r.stderr)
	}
}

func pricingVersionWithFile(version string) string {
	return pricing.Default().Version() + "+file." + version
}
