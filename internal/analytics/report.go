package analytics

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/ongoingai/gateway/internal/rollup"
	"github.com/ongoingai/gateway/internal/store"
)

// Report is a page of answers over one window (the console's Analytics
// page): usage and cost per bucket, and usage, cost, latency and errors
// per group, with q.GroupBy as the group (none: the window's totals).
type Report struct {
	UsageOverTime Usage
	CostOverTime  Cost
	UsageByGroup  Usage
	CostByGroup   Cost
	Latency       Latency
	Errors        Errors
}

// Report answers q's window with bucket over time and q.GroupBy across,
// each answer exactly what its own method would give. It reads each
// distinct aggregate once (per bucket; per group; the group histograms),
// in parallel, where calling the six methods would read seven.
func (s *Service) Report(ctx context.Context, q Query, bucket store.Bucket) (Report, error) {
	overTime, across := q, q
	overTime.GroupBy, overTime.Bucket = store.GroupNone, bucket
	across.Bucket = store.BucketNone
	var r Report
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rows, err := s.aggregate(gctx, overTime, overTime.GroupBy, overTime.Bucket)
		r.UsageOverTime, r.CostOverTime = usageOf(overTime, rows), costOf(overTime, rows)
		return err
	})
	g.Go(func() error {
		rows, hists, err := s.withHistograms(gctx, across, across.GroupBy)
		if err == nil {
			r.UsageByGroup, r.CostByGroup = usageOf(across, rows), costOf(across, rows)
			r.Latency, r.Errors = latencyOf(across, rows, hists), errorsOf(across, rows)
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	return r, nil
}

// Breakdown is a window's Summary with the per-model and per-gateway-key
// usage and cost it adds up (the console's Overview).
type Breakdown struct {
	Summary              Summary
	ModelUsage, KeyUsage Usage
	ModelCost, KeyCost   Cost
}

// Breakdown answers q's window: Summary, and Usage and Cost grouped by
// model and by gateway key, each exactly what its own method would give,
// from the two reads Summary makes alone.
func (s *Service) Breakdown(ctx context.Context, q Query) (Breakdown, error) {
	byModel, byKey := q, q
	byModel.GroupBy, byModel.Bucket = store.GroupModel, store.BucketNone
	byKey.GroupBy, byKey.Bucket = store.GroupGatewayKey, store.BucketNone
	var models, keys []rollup.Totals
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		models, err = s.aggregate(gctx, byModel, byModel.GroupBy, byModel.Bucket)
		return err
	})
	g.Go(func() (err error) {
		keys, err = s.aggregate(gctx, byKey, byKey.GroupBy, byKey.Bucket)
		return err
	})
	if err := g.Wait(); err != nil {
		return Breakdown{}, err
	}
	return Breakdown{
		Summary:    summaryOf(q, models, keys),
		ModelUsage: usageOf(byModel, models), ModelCost: costOf(byModel, models),
		KeyUsage: usageOf(byKey, keys), KeyCost: costOf(byKey, keys),
	}, nil
}
