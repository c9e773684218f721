package e2e

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/trace"
)

// Analytics stories: a platform team sends a day of mixed traffic through
// the gateway (two keys, two providers, a stream, upstream errors, a
// cancelled stream, a model without a price) and reads the analytics API.
// Every number is exact, each comes from the rollups, both stores answer
// the same, and another organization sees none of it.

// The calls of the story, and what each one is worth. Costs are in
// nano-USD: tokens × the catalog's USD per 1M tokens × 1000.
const (
	// A: twice, acme-owner, gpt-4o: 800 uncached × $2.50 + 200 cached ×
	// $1.25 + 50 out × $10.
	callA = 2_750_000
	// B: acme-admin, gpt-4o-mini: 400 × $0.15 + 20 × $0.60.
	callB = 72_000
	// C: acme-owner, gpt-4o-mini streamed: 300 × $0.15 + 10 × $0.60.
	callC = 51_000
	// D: acme-admin, claude-sonnet-4: 500 × $3 + 30 × $15.
	callD = 1_950_000
)

// cancelledOutput is what the gateway bills a gpt-4o stream the client
// dropped after five words: the delivered text's tokens, estimated.
var cancelledOutput = int64((len(fakeupstream.Text(5)) + 3) / 4)

const (
	houseModel = "house-model-1" // not in the price catalog
)

// analyticsTraffic sends the story's calls: acme's nine and globex's one.
func analyticsTraffic(t *testing.T, g *gateway) {
	t.Helper()
	ctx := context.Background()
	with := func(token string, h ...string) *openai.Client {
		return g.openai(append([]string{gatewayHeader, token}, h...)...)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for range 2 {
		_, err := with(acmeOwnerToken, fakeupstream.HeaderInputTokens, "1000", fakeupstream.HeaderCachedTokens, "200",
			fakeupstream.HeaderEvents, "50").Chat.Completions.New(ctx, chatParams("gpt-4o"))
		must("A", err)
	}
	_, err := with(acmeAdminToken, fakeupstream.HeaderInputTokens, "400", fakeupstream.HeaderEvents, "20").
		Chat.Completions.New(ctx, chatParams("gpt-4o-mini"))
	must("B", err)

	stream := with(acmeOwnerToken, fakeupstream.HeaderInputTokens, "300", fakeupstream.HeaderEvents, "10").
		Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o-mini"))
	for stream.Next() {
	}
	must("C", stream.Err())

	_, err = g.anthropic(gatewayHeader, acmeAdminToken, fakeupstream.HeaderInputTokens, "500", fakeupstream.HeaderEvents, "30").
		Messages.New(ctx, messageParams("claude-sonnet-4"))
	must("D", err)

	for _, c := range []struct {
		token, status, model string
	}{{acmeOwnerToken, "429", "gpt-4o"}, {acmeAdminToken, "500", "gpt-4o-mini"}} {
		_, err := with(c.token, fakeupstream.HeaderStatus, c.status).Chat.Completions.New(ctx, chatParams(c.model))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || fmt.Sprint(apiErr.StatusCode) != c.status {
			t.Fatalf("%s call: error %v, want a %s", c.model, err, c.status)
		}
	}

	// G: the user drops a gpt-4o stream after five words.
	cctx, cancel := context.WithCancel(ctx)
	dropped := with(acmeOwnerToken, fakeupstream.HeaderEvents, "50", fakeupstream.HeaderHangAfter, "5").
		Chat.Completions.NewStreaming(cctx, chatParams("gpt-4o"))
	var text strings.Builder
	for dropped.Next() {
		if c := dropped.Current(); len(c.Choices) > 0 {
			if text.WriteString(c.Choices[0].Delta.Content); text.Len() == len(fakeupstream.Text(5)) {
				break
			}
		}
	}
	cancel()
	dropped.Close()

	_, err = with(acmeOwnerToken, fakeupstream.HeaderInputTokens, "100", fakeupstream.HeaderEvents, "7").
		Chat.Completions.New(ctx, chatParams(houseModel))
	must("H", err)

	_, err = with(globexOwnerToken).Chat.Completions.New(ctx, chatParams("gpt-4o-mini"))
	must("globex", err)
}

// analyticsGet answers an analytics path (window added) for token.
func analyticsGet[T any](g *gateway, token, path, window string) (T, string) {
	g.t.Helper()
	status, body := g.call(http.MethodGet, path+sepFor(path)+window, token, "")
	if status != http.StatusOK {
		g.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		g.t.Fatalf("GET %s: decoding %s: %v", path, body, err)
	}
	return v, body
}

// waitForRollups waits until the rollups count want requests for token:
// every batch's job has run. More than want is a double count, at once.
func waitForRollups(t *testing.T, g *gateway, token, window string, want int64) {
	t.Helper()
	eventually(t, "the rollups have caught up", func() bool {
		s, _ := analyticsGet[analytics.Summary](g, token, "/api/analytics/summary", window)
		if s.TotalRequests > want {
			t.Fatalf("rollups count %d requests, more than the %d made", s.TotalRequests, want)
		}
		return s.TotalRequests == want
	})
}

func TestAnalyticsAreExactOnBothStoresAndTenantScoped(t *testing.T) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	// Dates, so the window is the same for both stores whatever the clock
	// does between them: yesterday through tomorrow, whole days.
	window := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	wantRange := analytics.Range{From: today.AddDate(0, 0, -1), To: today.AddDate(0, 0, 2)}

	var mu sync.Mutex
	answers := map[string]map[string]string{}
	t.Run("stores", func(t *testing.T) {
		eachDriver(t, func(t *testing.T, driver string) {
			g := startGateway(t, driver, withAuth)
			analyticsTraffic(t, g)
			traces := g.tracesAs(acmeOwnerToken, 9)
			g.tracesAs(globexOwnerToken, 1)
			waitForRollups(t, g, acmeOwnerToken, window, 9)
			waitForRollups(t, g, globexOwnerToken, window, 1)

			got := checkAnalytics(t, g, traces, window, wantRange)
			checkTenantIsolation(t, g, window)
			mu.Lock()
			answers[driver] = got
			mu.Unlock()
		})
	})
	if t.Failed() {
		return
	}
	// Both stores answer the same, byte for byte once times (latencies,
	// last activity, buckets) are set aside.
	sqlite, postgres := answers["sqlite"], answers["postgres"]
	if len(sqlite) == 0 || len(sqlite) != len(postgres) {
		t.Fatalf("answers to compare: %d from sqlite, %d from postgres", len(sqlite), len(postgres))
	}
	for path, body := range sqlite {
		if postgres[path] != body {
			t.Errorf("%s differs between stores:\n  sqlite   %s\n  postgres %s", path, body, postgres[path])
		}
	}
}

// checkAnalytics asserts every endpoint's answer for acme, and returns the
// answers with times set aside, for comparison between stores.
func checkAnalytics(t *testing.T, g *gateway, traces []trace.Record, window string, wantRange analytics.Range) map[string]string {
	answers := map[string]string{}
	get := func(path string, v any) {
		t.Helper()
		status, body := g.call(http.MethodGet, path+sepFor(path)+window, acmeOwnerToken, "")
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		answers[path] = withoutTimes(t, body)
	}
	owner, admin := "acme-owner", "acme-admin"
	openaiHash, anthropicHash := sha(openAIKey), sha(anthropicKey)
	cancelledCost := cancelledOutput * 10_000 // gpt-4o output, $10 per 1M
	str := func(s string) *string { return &s }

	// Every call to a catalogued model is priced, upstream errors included
	// (at zero cost); the house model's call is not.
	var summary analytics.Summary
	get("/api/analytics/summary", &summary)
	expectJSON(t, "summary", summary, analytics.Summary{
		Range:             wantRange,
		TotalRequests:     9,
		ErrorRequests:     2,
		TotalInputTokens:  2*1000 + 400 + 300 + 500 + 100,
		TotalOutputTokens: 2*50 + 20 + 10 + 30 + cancelledOutput + 7,
		TotalTokens:       2*1050 + 420 + 310 + 530 + cancelledOutput + 107,
		CachedInputTokens: 400,
		TotalCostUSD:      float64(2*callA+callB+callC+callD+cancelledCost) / 1e9,
		ActiveKeys:        2,
		TopModel:          str("gpt-4o"),
		UnpricedRequests:  1,
	})

	var usage analytics.Usage
	get("/api/analytics/usage", &usage)
	expectJSON(t, "usage totals", usage, analytics.Usage{Range: wantRange, Items: []analytics.UsageItem{{
		Requests: 9, InputTokens: summary.TotalInputTokens, OutputTokens: summary.TotalOutputTokens,
		TotalTokens: summary.TotalTokens, CachedInputTokens: 400,
	}}})

	// Per provider and day: the buckets are the traces' own days.
	get("/api/analytics/usage?group_by=provider&bucket=day", &usage)
	type cell struct {
		day      time.Time
		provider string
	}
	perDay := map[cell]*analytics.UsageItem{}
	for _, r := range traces {
		c := cell{r.Timestamp.UTC().Truncate(24 * time.Hour), r.Provider}
		if perDay[c] == nil {
			perDay[c] = &analytics.UsageItem{BucketStart: &c.day, Group: str(c.provider)}
		}
		it := perDay[c]
		it.Requests++
		it.InputTokens += r.InputTokens
		it.OutputTokens += r.OutputTokens
		it.TotalTokens += r.TotalTokens
		it.CachedInputTokens += r.CachedInputTokens
	}
	var wantUsage []analytics.UsageItem
	for _, it := range perDay {
		wantUsage = append(wantUsage, *it)
	}
	slices.SortFunc(wantUsage, func(a, b analytics.UsageItem) int {
		return cmp.Or(a.BucketStart.Compare(*b.BucketStart), cmp.Compare(*a.Group, *b.Group))
	})
	expectJSON(t, "usage by provider and day", usage, analytics.Usage{Range: wantRange, GroupBy: str("provider"), Bucket: str("day"), Items: wantUsage})
	perProvider := map[string]int64{}
	for _, it := range usage.Items {
		perProvider[*it.Group] += it.Requests
	}
	expect(t, "anthropic requests", perProvider["anthropic"], 1)
	expect(t, "openai requests", perProvider["openai"], 8)

	var cost analytics.Cost
	get("/api/analytics/cost?group_by=model", &cost)
	expectJSON(t, "cost by model", cost, analytics.Cost{Range: wantRange, GroupBy: str("model"), Items: []analytics.CostItem{
		{Group: str("claude-sonnet-4"), Requests: 1, TotalCostUSD: callD / 1e9, AvgCostUSD: callD / 1e9},
		{Group: str("gpt-4o"), Requests: 4, TotalCostUSD: float64(2*callA+cancelledCost) / 1e9,
			AvgCostUSD: math.Round(float64(2*callA+cancelledCost)/4) / 1e9},
		{Group: str("gpt-4o-mini"), Requests: 3, TotalCostUSD: (callB + callC) / 1e9, AvgCostUSD: (callB + callC) / 3 / 1e9},
		{Group: str(houseModel), Requests: 1, UnpricedRequests: 1},
	}})
	get("/api/analytics/cost?provider=anthropic", &cost)
	expectJSON(t, "cost of anthropic", cost, analytics.Cost{Range: wantRange, Items: []analytics.CostItem{
		{Requests: 1, TotalCostUSD: callD / 1e9, AvgCostUSD: callD / 1e9},
	}})

	var models analytics.Models
	get("/api/analytics/models", &models)
	byModel := groupTraces(traces, func(r trace.Record) string { return r.Model })
	modelItem := func(model string, requests, errs, in, out int64, costNano int64) analytics.ModelItem {
		ts := byModel[model]
		lat, _ := histograms(ts)
		lo, hi := float64(minOf(ts, latencyMS)), float64(maxOf(ts, latencyMS))
		return analytics.ModelItem{
			Model: model, Requests: requests, Errors: errs,
			AvgLatencyMS: roundMS(meanOf(ts, latencyMS)),
			P50LatencyMS: roundMS(clamp(lat.Quantile(0.5), lo, hi)), P95LatencyMS: roundMS(clamp(lat.Quantile(0.95), lo, hi)),
			AvgTTFTMS:   avgTTFTMS(ts),
			InputTokens: in, OutputTokens: out, TotalTokens: in + out, TotalCostUSD: float64(costNano) / 1e9,
		}
	}
	expectJSON(t, "models", models, analytics.Models{Range: wantRange, Items: []analytics.ModelItem{
		modelItem("gpt-4o", 4, 1, 2000, 100+cancelledOutput, 2*callA+cancelledCost),
		modelItem("gpt-4o-mini", 3, 1, 700, 30, callB+callC),
		modelItem("claude-sonnet-4", 1, 0, 500, 30, callD),
		modelItem(houseModel, 1, 0, 100, 7, 0),
	}})

	var keys analytics.Keys
	get("/api/analytics/keys", &keys)
	lastActive := func(f func(trace.Record) bool) time.Time {
		var last time.Time
		for _, r := range traces {
			if f(r) && r.Timestamp.After(last) {
				last = r.Timestamp.UTC()
			}
		}
		return last
	}
	expectJSON(t, "keys", keys, analytics.Keys{
		Range: wantRange,
		GatewayKeys: []analytics.GatewayKeyItem{
			{GatewayKeyID: owner, KeyUsage: analytics.KeyUsage{Requests: 6, InputTokens: 2000 + 300 + 100, OutputTokens: 100 + 10 + cancelledOutput + 7,
				TotalTokens: 2400 + 117 + cancelledOutput, TotalCostUSD: float64(2*callA+callC+cancelledCost) / 1e9,
				LastActiveAt: lastActive(func(r trace.Record) bool { return r.GatewayKeyID == owner })}},
			{GatewayKeyID: admin, KeyUsage: analytics.KeyUsage{Requests: 3, InputTokens: 900, OutputTokens: 50, TotalTokens: 950,
				TotalCostUSD: float64(callB+callD) / 1e9,
				LastActiveAt: lastActive(func(r trace.Record) bool { return r.GatewayKeyID == admin })}},
		},
		ProviderKeys: []analytics.ProviderKeyItem{
			{APIKeyHash: openaiHash, KeyUsage: analytics.KeyUsage{Requests: 8, InputTokens: 2800, OutputTokens: 137 + cancelledOutput,
				TotalTokens: 2937 + cancelledOutput, TotalCostUSD: float64(2*callA+callB+callC+cancelledCost) / 1e9,
				LastActiveAt: lastActive(func(r trace.Record) bool { return r.APIKeyHash == openaiHash })}},
			{APIKeyHash: anthropicHash, KeyUsage: analytics.KeyUsage{Requests: 1, InputTokens: 500, OutputTokens: 30, TotalTokens: 530,
				TotalCostUSD: callD / 1e9,
				LastActiveAt: lastActive(func(r trace.Record) bool { return r.APIKeyHash == anthropicHash })}},
		},
	})

	var latency analytics.Latency
	get("/api/analytics/latency?group_by=provider", &latency)
	byProvider := groupTraces(traces, func(r trace.Record) string { return r.Provider })
	expectJSON(t, "latency by provider", latency, analytics.Latency{Range: wantRange, GroupBy: str("provider"), Items: []analytics.LatencyItem{
		latencyItem(str("anthropic"), byProvider["anthropic"]),
		latencyItem(str("openai"), byProvider["openai"]),
	}})
	get("/api/analytics/latency", &latency)
	expectJSON(t, "latency", latency, analytics.Latency{Range: wantRange, Items: []analytics.LatencyItem{latencyItem(nil, traces)}})

	var errs analytics.Errors
	get("/api/analytics/errors?group_by=status_class", &errs)
	expectJSON(t, "errors by status class", errs, analytics.Errors{Range: wantRange, GroupBy: str("status_class"), Items: []analytics.ErrorItem{
		{Group: str("2xx"), Requests: 7, Cancelled: 1},
		{Group: str("4xx"), Requests: 1, ClientErrors: 1, ErrorRate: 1},
		{Group: str("5xx"), Requests: 1, ServerErrors: 1, ErrorRate: 1},
	}})
	get("/api/analytics/errors?group_by=gateway_key", &errs)
	expectJSON(t, "errors by gateway key", errs, analytics.Errors{Range: wantRange, GroupBy: str("gateway_key"), Items: []analytics.ErrorItem{
		{Group: str(admin), Requests: 3, ServerErrors: 1, ErrorRate: 1.0 / 3},
		{Group: str(owner), Requests: 6, ClientErrors: 1, Cancelled: 1, ErrorRate: 1.0 / 6},
	}})
	return answers
}

// checkTenantIsolation: globex sees its one call and nothing of acme's,
// even naming acme's workspace.
func checkTenantIsolation(t *testing.T, g *gateway, window string) {
	t.Helper()
	s, _ := analyticsGet[analytics.Summary](g, globexOwnerToken, "/api/analytics/summary", window)
	expect(t, "globex requests", s.TotalRequests, int64(1))
	expect(t, "globex tokens", s.TotalTokens, int64(fakeupstream.DefaultInputTokens+fakeupstream.DefaultStreamEvents))
	expect(t, "globex active keys", s.ActiveKeys, 1)
	keys, _ := analyticsGet[analytics.Keys](g, globexOwnerToken, "/api/analytics/keys", window)
	if len(keys.GatewayKeys) != 1 || keys.GatewayKeys[0].GatewayKeyID != "globex-owner" {
		t.Errorf("globex sees gateway keys %+v", keys.GatewayKeys)
	}
	models, _ := analyticsGet[analytics.Models](g, globexOwnerToken, "/api/analytics/models", window)
	if len(models.Items) != 1 || models.Items[0].Model != "gpt-4o-mini" || models.Items[0].Requests != 1 {
		t.Errorf("globex sees models %+v", models.Items)
	}
	// Naming acme's workspace reaches nothing.
	s, _ = analyticsGet[analytics.Summary](g, globexOwnerToken, "/api/analytics/summary?workspace_id=prod", window)
	expect(t, "globex requests in acme's workspace", s.TotalRequests, int64(0))
	// And no key at all is refused, as on every analytics route.
	status, body := g.call(http.MethodGet, "/api/analytics/summary", "", "")
	expectJSONError(t, "no key", status, body, http.StatusUnauthorized, keyauth.MsgUnauthorized)
}

func TestAnalyticsParameterErrors(t *testing.T) {
	g := startGateway(t, "sqlite")
	for _, c := range []struct{ path, msg string }{
		{"/api/analytics/usage?group_by=day", `invalid parameter "group_by": must be one of provider, model, gateway_key, api_key, workspace, status_class`},
		{"/api/analytics/cost?bucket=month", `invalid parameter "bucket": must be one of hour, day, week`},
		{"/api/analytics/latency?group_by=region", `invalid parameter "group_by": must be one of provider, model, gateway_key, api_key, workspace, status_class`},
		{"/api/analytics/errors?group_by=", ""},
		{"/api/analytics/summary?from=last-week", `invalid parameter "from": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
		{"/api/analytics/models?to=2026-02-30", `invalid parameter "to": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
		{"/api/analytics/keys?from=2026-03-02&to=2026-03-01", `invalid parameter "to": must be after from`},
		{"/api/analytics/usage?from=2999-01-01", `invalid parameter "from": must not be after the current hour when to is not given`},
	} {
		status, body := g.get(c.path)
		if c.msg == "" {
			expect(t, c.path, status, http.StatusOK)
			continue
		}
		expectJSONError(t, c.path, status, body, http.StatusBadRequest, c.msg)
	}
	// Without traffic, the totals exist and are zero; the window defaults
	// to the 30 days ending with the current hour.
	before := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	s, _ := analyticsGet[analytics.Summary](g, "", "/api/analytics/summary", "")
	after := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	if !s.To.Equal(before) && !s.To.Equal(after) { // the hour may turn during the call
		t.Errorf("default to = %v, want the end of the current hour, %v", s.To, before)
	}
	expect(t, "default window", s.To.Sub(s.From), 30*24*time.Hour)
	expect(t, "no requests", s.TotalRequests, int64(0))
	if s.TopModel != nil {
		t.Errorf("top_model = %q without traffic, want null", *s.TopModel)
	}
	u, _ := analyticsGet[analytics.Usage](g, "", "/api/analytics/usage", "")
	expect(t, "usage items without traffic", len(u.Items), 1)
}

// latencyItem is the latency answer for one group of traces, computed from
// the traces alone: exact min, mean and max, and percentiles from the
// histogram of the raw values, within [min, max].
func latencyItem(group *string, ts []trace.Record) analytics.LatencyItem {
	lat, ttftHist := histograms(ts)
	it := analytics.LatencyItem{Group: group, Requests: int64(len(ts))}
	lo, hi := float64(minOf(ts, latencyMS)), float64(maxOf(ts, latencyMS))
	it.LatencyMS = &analytics.Stats{
		Min: lo, Avg: roundMS(meanOf(ts, latencyMS)), Max: hi,
		P50: roundMS(clamp(lat.Quantile(0.5), lo, hi)),
		P95: roundMS(clamp(lat.Quantile(0.95), lo, hi)),
		P99: roundMS(clamp(lat.Quantile(0.99), lo, hi)),
	}
	var measured []trace.Record
	for _, r := range ts {
		if r.TimeToFirstTokenUS > 0 {
			measured = append(measured, r)
		}
	}
	it.TTFTCount = int64(len(measured))
	if len(measured) > 0 {
		lo, hi := float64(minOf(measured, ttftUS)), float64(maxOf(measured, ttftUS))
		it.TTFTMS = &analytics.Stats{
			Min: roundMS(lo / 1000), Avg: roundMS(meanOf(measured, ttftUS) / 1000), Max: roundMS(hi / 1000),
			P50: roundMS(clamp(ttftHist.Quantile(0.5), lo, hi) / 1000),
			P95: roundMS(clamp(ttftHist.Quantile(0.95), lo, hi) / 1000),
			P99: roundMS(clamp(ttftHist.Quantile(0.99), lo, hi) / 1000),
		}
	}
	return it
}

// histograms are the latency (ms) and TTFT (µs) histograms of ts, built
// from the traces as the rollups should have.
func histograms(ts []trace.Record) (lat, ttft rollup.Histogram) {
	for _, r := range ts {
		lat.Add(r.LatencyMS)
		if r.TimeToFirstTokenUS > 0 {
			ttft.Add(r.TimeToFirstTokenUS)
		}
	}
	return lat, ttft
}

func avgTTFTMS(ts []trace.Record) *float64 {
	var sum, n int64
	for _, r := range ts {
		if r.TimeToFirstTokenUS > 0 {
			sum += r.TimeToFirstTokenUS
			n++
		}
	}
	if n == 0 {
		return nil
	}
	v := roundMS(float64(sum) / float64(n) / 1000)
	return &v
}

func latencyMS(r trace.Record) int64 { return r.LatencyMS }
func ttftUS(r trace.Record) int64    { return r.TimeToFirstTokenUS }

func minOf(ts []trace.Record, f func(trace.Record) int64) int64 {
	v := int64(math.MaxInt64)
	for _, r := range ts {
		v = min(v, f(r))
	}
	return v
}

func maxOf(ts []trace.Record, f func(trace.Record) int64) int64 {
	var v int64
	for _, r := range ts {
		v = max(v, f(r))
	}
	return v
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

func meanOf(ts []trace.Record, f func(trace.Record) int64) float64 {
	var sum int64
	for _, r := range ts {
		sum += f(r)
	}
	return float64(sum) / float64(len(ts))
}

// roundMS rounds to the microsecond, as the API reports milliseconds.
func roundMS(v float64) float64 { return math.Round(v*1000) / 1000 }

func groupTraces(ts []trace.Record, key func(trace.Record) string) map[string][]trace.Record {
	out := map[string][]trace.Record{}
	for _, r := range ts {
		out[key(r)] = append(out[key(r)], r)
	}
	return out
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func sepFor(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// expectJSON compares got and want as the JSON they encode to.
func expectJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// withoutTimes re-encodes an answer without the fields that depend on the
// clock: latencies and TTFTs, last activity, bucket starts.
func withoutTimes(t *testing.T, body string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "last_active_at" || k == "bucket_start" || strings.Contains(k, "latency") || strings.Contains(k, "ttft_ms") {
					delete(v, k)
					continue
				}
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	b, _ := json.Marshal(v)
	return string(b)
}
