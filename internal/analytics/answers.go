package analytics

import (
	"cmp"
	"context"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
)

// Summary is the headline of a window: GET /api/analytics/summary.
type Summary struct {
	Range
	TotalRequests     int64   `json:"total_requests"`
	ErrorRequests     int64   `json:"error_requests"` // status 400–599
	TotalInputTokens  int64   `json:"total_input_tokens"`
	TotalOutputTokens int64   `json:"total_output_tokens"`
	TotalTokens       int64   `json:"total_tokens"`
	CachedInputTokens int64   `json:"cached_input_tokens"`
	TotalCostUSD      float64 `json:"total_cost_usd"`
	// ActiveKeys counts the gateway keys that made requests (traffic
	// without a gateway key is not a key).
	ActiveKeys int `json:"active_keys"`
	// TopModel has the most requests, the first by name among equals;
	// null when there were none.
	TopModel         *string `json:"top_model"`
	UnpricedRequests int64   `json:"unpriced_requests"`
}

// Summary answers q's window, filtered by Provider and Model.
func (s *Service) Summary(ctx context.Context, q Query) (Summary, error) {
	// Two passes over the same rollup rows, one per grouping; they are
	// independent, so run them side by side and answer in the time of the
	// slower one.
	var byModel, byKey []rollup.Totals
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		byModel, err = s.aggregate(gctx, q, store.GroupModel, store.BucketNone)
		return err
	})
	g.Go(func() (err error) {
		byKey, err = s.aggregate(gctx, q, store.GroupGatewayKey, store.BucketNone)
		return err
	})
	if err := g.Wait(); err != nil {
		return Summary{}, err
	}
	return summaryOf(q, byModel, byKey), nil
}

// summaryOf is the Summary answer from q's rows per model and per gateway
// key.
func summaryOf(q Query, byModel, byKey []rollup.Totals) Summary {
	out := Summary{Range: q.window()}
	var total rollup.Sums
	var top *rollup.Totals
	for i := range byModel {
		m := &byModel[i]
		total.Add(m.Sums)
		if m.Requests > 0 && (top == nil || m.Requests > top.Requests ||
			m.Requests == top.Requests && m.Group < top.Group) {
			top = m
		}
	}
	if top != nil {
		out.TopModel = &top.Group
	}
	for _, k := range byKey {
		if k.Group != "" && k.Requests > 0 {
			out.ActiveKeys++
		}
	}
	out.TotalRequests = total.Requests
	out.ErrorRequests = total.ClientErrors + total.ServerErrors
	out.TotalInputTokens = total.InputTokens
	out.TotalOutputTokens = total.OutputTokens
	out.TotalTokens = total.TotalTokens
	out.CachedInputTokens = total.CachedInputTokens
	out.TotalCostUSD = usd(total.CostNanoUSD)
	out.UnpricedRequests = total.Unpriced
	return out
}

// Usage is token usage per bucket and group: GET /api/analytics/usage.
type Usage struct {
	Range
	GroupBy *string     `json:"group_by"` // null when not grouped
	Bucket  *string     `json:"bucket"`   // null when not bucketed
	Items   []UsageItem `json:"items"`
}

// UsageItem is one (bucket, group) cell.
type UsageItem struct {
	BucketStart       *time.Time `json:"bucket_start"` // null when not bucketed
	Group             *string    `json:"group"`        // null when not grouped
	Requests          int64      `json:"requests"`
	InputTokens       int64      `json:"input_tokens"`
	OutputTokens      int64      `json:"output_tokens"`
	TotalTokens       int64      `json:"total_tokens"`
	CachedInputTokens int64      `json:"cached_input_tokens"`
	CacheWriteTokens  int64      `json:"cache_write_tokens"`
	ReasoningTokens   int64      `json:"reasoning_tokens"`
}

// Usage answers q split by q.GroupBy and q.Bucket, in bucket then group
// order; cells without traffic are left out, and with neither split the
// one item holds the window's totals.
func (s *Service) Usage(ctx context.Context, q Query) (Usage, error) {
	rows, err := s.aggregate(ctx, q, q.GroupBy, q.Bucket)
	if err != nil {
		return Usage{}, err
	}
	return usageOf(q, rows), nil
}

// usageOf is the Usage answer from q's aggregated rows.
func usageOf(q Query, rows []rollup.Totals) Usage {
	out := Usage{Range: q.window(), GroupBy: optional(q.GroupBy), Bucket: optional(q.Bucket), Items: make([]UsageItem, len(rows))}
	for i, r := range rows {
		out.Items[i] = UsageItem{
			BucketStart:       bucketStart(q.Bucket, r.BucketStart),
			Group:             group(q.GroupBy, r.Group),
			Requests:          r.Requests,
			InputTokens:       r.InputTokens,
			OutputTokens:      r.OutputTokens,
			TotalTokens:       r.TotalTokens,
			CachedInputTokens: r.CachedInputTokens,
			CacheWriteTokens:  r.CacheWriteTokens,
			ReasoningTokens:   r.ReasoningTokens,
		}
	}
	return out
}

// Cost is spend per bucket and group: GET /api/analytics/cost.
type Cost struct {
	Range
	GroupBy *string    `json:"group_by"`
	Bucket  *string    `json:"bucket"`
	Items   []CostItem `json:"items"`
}

// CostItem is one (bucket, group) cell. Unpriced requests (a model missing
// from the price catalog) count in Requests and AvgCostUSD at zero cost.
type CostItem struct {
	BucketStart      *time.Time `json:"bucket_start"`
	Group            *string    `json:"group"`
	Requests         int64      `json:"requests"`
	UnpricedRequests int64      `json:"unpriced_requests"`
	TotalCostUSD     float64    `json:"total_cost_usd"`
	AvgCostUSD       float64    `json:"avg_cost_usd"` // per request, to the nano-USD
}

// Cost answers q like Usage, with costs.
func (s *Service) Cost(ctx context.Context, q Query) (Cost, error) {
	rows, err := s.aggregate(ctx, q, q.GroupBy, q.Bucket)
	if err != nil {
		return Cost{}, err
	}
	return costOf(q, rows), nil
}

// costOf is the Cost answer from q's aggregated rows.
func costOf(q Query, rows []rollup.Totals) Cost {
	out := Cost{Range: q.window(), GroupBy: optional(q.GroupBy), Bucket: optional(q.Bucket), Items: make([]CostItem, len(rows))}
	for i, r := range rows {
		out.Items[i] = CostItem{
			BucketStart:      bucketStart(q.Bucket, r.BucketStart),
			Group:            group(q.GroupBy, r.Group),
			Requests:         r.Requests,
			UnpricedRequests: r.Unpriced,
			TotalCostUSD:     usd(r.CostNanoUSD),
			AvgCostUSD:       avgUSD(r.CostNanoUSD, r.Requests),
		}
	}
	return out
}

// Models compares models: GET /api/analytics/models.
type Models struct {
	Range
	Items []ModelItem `json:"items"`
}

// ModelItem is one model's traffic. Latencies are in milliseconds;
// percentiles lie within 1% of the true value (rollup.RelativeAccuracy).
type ModelItem struct {
	Model        string   `json:"model"`
	Requests     int64    `json:"requests"`
	Errors       int64    `json:"errors"` // status 400–599
	AvgLatencyMS float64  `json:"avg_latency_ms"`
	P50LatencyMS float64  `json:"p50_latency_ms"`
	P95LatencyMS float64  `json:"p95_latency_ms"`
	AvgTTFTMS    *float64 `json:"avg_ttft_ms"` // null when no request measured one
	InputTokens  int64    `json:"input_tokens"`
	OutputTokens int64    `json:"output_tokens"`
	TotalTokens  int64    `json:"total_tokens"`
	TotalCostUSD float64  `json:"total_cost_usd"`
}

// Models answers q's window per model, the busiest first (then by name).
func (s *Service) Models(ctx context.Context, q Query) (Models, error) {
	rows, hists, err := s.withHistograms(ctx, q, store.GroupModel)
	if err != nil {
		return Models{}, err
	}
	out := Models{Range: q.window(), Items: make([]ModelItem, 0, len(rows))}
	for _, r := range rows {
		h := hists[r.Group]
		out.Items = append(out.Items, ModelItem{
			Model:        r.Group,
			Requests:     r.Requests,
			Errors:       r.ClientErrors + r.ServerErrors,
			AvgLatencyMS: ms(mean(r.LatencySumMS, r.Requests)),
			P50LatencyMS: ms(quantile(h.Latency, 0.50, float64(r.LatencyMinMS), float64(r.LatencyMaxMS))),
			P95LatencyMS: ms(quantile(h.Latency, 0.95, float64(r.LatencyMinMS), float64(r.LatencyMaxMS))),
			AvgTTFTMS:    avgTTFT(r.Sums),
			InputTokens:  r.InputTokens,
			OutputTokens: r.OutputTokens,
			TotalTokens:  r.TotalTokens,
			TotalCostUSD: usd(r.CostNanoUSD),
		})
	}
	slices.SortStableFunc(out.Items, func(a, b ModelItem) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Model, b.Model))
	})
	return out, nil
}

func avgTTFT(s rollup.Sums) *float64 {
	if s.TTFTCount == 0 {
		return nil
	}
	v := ms(mean(s.TTFTSumUS, s.TTFTCount) / 1000)
	return &v
}

// withHistograms aggregates q by groupBy and fetches the groups'
// histograms, keyed by group.
func (s *Service) withHistograms(ctx context.Context, q Query, groupBy store.GroupBy) ([]rollup.Totals, map[string]rollup.GroupHistograms, error) {
	rows, err := s.aggregate(ctx, q, groupBy, store.BucketNone)
	if err != nil {
		return nil, nil, err
	}
	hs, err := s.rollups.RollupHistograms(ctx, q.rollupQuery(groupBy, store.BucketNone))
	if err != nil {
		return nil, nil, err
	}
	byGroup := make(map[string]rollup.GroupHistograms, len(hs))
	for _, h := range hs {
		byGroup[h.Group] = h
	}
	return rows, byGroup, nil
}

// Keys is traffic per key: GET /api/analytics/keys.
type Keys struct {
	Range
	GatewayKeys  []GatewayKeyItem  `json:"gateway_keys"`
	ProviderKeys []ProviderKeyItem `json:"provider_keys"`
}

// KeyUsage is one key's traffic.
type KeyUsage struct {
	Requests     int64     `json:"requests"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	TotalTokens  int64     `json:"total_tokens"`
	TotalCostUSD float64   `json:"total_cost_usd"`
	LastActiveAt time.Time `json:"last_active_at"` // the latest request start in the window
}

// GatewayKeyItem is one gateway key's traffic; the id "" is traffic that
// carried no gateway key (auth disabled).
type GatewayKeyItem struct {
	GatewayKeyID string `json:"gateway_key_id"`
	KeyUsage
}

// ProviderKeyItem is one provider key's traffic, named by the SHA-256 of
// the key (the gateway never stores a provider key); "" is traffic that
// carried none.
type ProviderKeyItem struct {
	APIKeyHash string `json:"api_key_hash"`
	KeyUsage
}

// Keys answers q's window per gateway key and per provider key, the
// busiest first (then by id).
func (s *Service) Keys(ctx context.Context, q Query) (Keys, error) {
	gw, err := s.aggregate(ctx, q, store.GroupGatewayKey, store.BucketNone)
	if err != nil {
		return Keys{}, err
	}
	pk, err := s.aggregate(ctx, q, store.GroupAPIKey, store.BucketNone)
	if err != nil {
		return Keys{}, err
	}
	out := Keys{Range: q.window(), GatewayKeys: make([]GatewayKeyItem, 0, len(gw)), ProviderKeys: make([]ProviderKeyItem, 0, len(pk))}
	for _, r := range busiestFirst(gw) {
		out.GatewayKeys = append(out.GatewayKeys, GatewayKeyItem{GatewayKeyID: r.Group, KeyUsage: keyUsage(r.Sums)})
	}
	for _, r := range busiestFirst(pk) {
		out.ProviderKeys = append(out.ProviderKeys, ProviderKeyItem{APIKeyHash: r.Group, KeyUsage: keyUsage(r.Sums)})
	}
	return out, nil
}

func busiestFirst(rows []rollup.Totals) []rollup.Totals {
	slices.SortStableFunc(rows, func(a, b rollup.Totals) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Group, b.Group))
	})
	return rows
}

func keyUsage(s rollup.Sums) KeyUsage {
	return KeyUsage{
		Requests:     s.Requests,
		InputTokens:  s.InputTokens,
		OutputTokens: s.OutputTokens,
		TotalTokens:  s.TotalTokens,
		TotalCostUSD: usd(s.CostNanoUSD),
		LastActiveAt: s.LastActiveAt.UTC(),
	}
}

// Latency is the latency and time-to-first-token distribution per group:
// GET /api/analytics/latency.
type Latency struct {
	Range
	GroupBy *string       `json:"group_by"`
	Items   []LatencyItem `json:"items"`
}

// LatencyItem is one group's distribution, in milliseconds.
type LatencyItem struct {
	Group     *string `json:"group"`
	Requests  int64   `json:"requests"`
	LatencyMS *Stats  `json:"latency_ms"` // null without requests
	TTFTCount int64   `json:"ttft_count"` // requests that measured a time to first token (a response body began)
	TTFTMS    *Stats  `json:"ttft_ms"`    // null when none did
}

// Stats describe a distribution. Min, max and avg are exact; percentiles
// lie within 1% of the true value (rollup.RelativeAccuracy), and within
// [min, max].
type Stats struct {
	Min float64 `json:"min"`
	Avg float64 `json:"avg"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Latency answers q's window split by q.GroupBy, in group order.
func (s *Service) Latency(ctx context.Context, q Query) (Latency, error) {
	rows, hists, err := s.withHistograms(ctx, q, q.GroupBy)
	if err != nil {
		return Latency{}, err
	}
	return latencyOf(q, rows, hists), nil
}

// latencyOf is the Latency answer from q's rows and histograms.
func latencyOf(q Query, rows []rollup.Totals, hists map[string]rollup.GroupHistograms) Latency {
	out := Latency{Range: q.window(), GroupBy: optional(q.GroupBy), Items: make([]LatencyItem, len(rows))}
	for i, r := range rows {
		h := hists[r.Group]
		item := LatencyItem{Group: group(q.GroupBy, r.Group), Requests: r.Requests, TTFTCount: r.TTFTCount}
		if r.Requests > 0 {
			item.LatencyMS = stats(h.Latency, float64(r.LatencyMinMS), mean(r.LatencySumMS, r.Requests), float64(r.LatencyMaxMS), 1)
		}
		if r.TTFTCount > 0 {
			// TTFT is stored in µs.
			item.TTFTMS = stats(h.TTFT, float64(r.TTFTMinUS), mean(r.TTFTSumUS, r.TTFTCount), float64(r.TTFTMaxUS), 1000)
		}
		out.Items[i] = item
	}
	return out
}

// stats builds Stats in milliseconds from a histogram and the exact min,
// mean and max, all counted in a unit perMS of which make a millisecond (1
// for latency, 1000 for TTFT's microseconds).
func stats(h rollup.Histogram, lo, avg, hi, perMS float64) *Stats {
	q := func(p float64) float64 { return ms(quantile(h, p, lo, hi) / perMS) }
	return &Stats{
		Min: ms(lo / perMS),
		Avg: ms(avg / perMS),
		P50: q(0.50),
		P95: q(0.95),
		P99: q(0.99),
		Max: ms(hi / perMS),
	}
}

// quantile is h's estimate at p, kept within the exact [lo, hi]: the true
// value lies there, so clamping only ever brings the estimate closer (a
// single request's p50 is then exactly its value).
func quantile(h rollup.Histogram, p, lo, hi float64) float64 {
	return min(max(h.Quantile(p), lo), hi)
}

// Errors is the failure mix per group: GET /api/analytics/errors.
type Errors struct {
	Range
	GroupBy *string     `json:"group_by"`
	Items   []ErrorItem `json:"items"`
}

// ErrorItem is one group's failures. Cancelled requests (the client went
// away) are counted apart from errors, whatever their status.
type ErrorItem struct {
	Group        *string `json:"group"`
	Requests     int64   `json:"requests"`
	ClientErrors int64   `json:"client_errors"` // status 400–499
	ServerErrors int64   `json:"server_errors"` // status 500–599, an unreachable upstream (502) included
	Cancelled    int64   `json:"cancelled"`
	ErrorRate    float64 `json:"error_rate"` // (client_errors + server_errors) / requests; 0 without requests
}

// Errors answers q's window split by q.GroupBy, in group order.
func (s *Service) Errors(ctx context.Context, q Query) (Errors, error) {
	rows, err := s.aggregate(ctx, q, q.GroupBy, store.BucketNone)
	if err != nil {
		return Errors{}, err
	}
	return errorsOf(q, rows), nil
}

// errorsOf is the Errors answer from q's rows (not bucketed).
func errorsOf(q Query, rows []rollup.Totals) Errors {
	out := Errors{Range: q.window(), GroupBy: optional(q.GroupBy), Items: make([]ErrorItem, len(rows))}
	for i, r := range rows {
		out.Items[i] = ErrorItem{
			Group:        group(q.GroupBy, r.Group),
			Requests:     r.Requests,
			ClientErrors: r.ClientErrors,
			ServerErrors: r.ServerErrors,
			Cancelled:    r.Cancelled,
			ErrorRate:    mean(r.ClientErrors+r.ServerErrors, r.Requests),
		}
	}
	return out
}
