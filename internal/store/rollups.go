package store

import (
	"context"
	"time"

	"github.com/ongoingai/gateway/internal/rollup"
)

// GroupBy names the rollup dimension an aggregate is split by.
type GroupBy string

const (
	GroupNone        GroupBy = ""
	GroupProvider    GroupBy = "provider"
	GroupModel       GroupBy = "model"
	GroupGatewayKey  GroupBy = "gateway_key"  // gateway_key_id
	GroupAPIKey      GroupBy = "api_key"      // api_key_hash (the provider key's SHA-256)
	GroupWorkspace   GroupBy = "workspace"    // workspace_id
	GroupStatusClass GroupBy = "status_class" // "2xx" … "5xx", "other"
)

// Bucket names the time bucket an aggregate is split by. Buckets are UTC;
// weeks start on Monday.
type Bucket string

const (
	BucketNone Bucket = ""
	BucketHour Bucket = "hour"
	BucketDay  Bucket = "day"
	BucketWeek Bucket = "week"
)

// RollupQuery selects rollup rows. From and To must fall on whole UTC hours
// (rollups know nothing finer); From is inclusive, To exclusive, and both
// are required. Empty strings match anything.
type RollupQuery struct {
	Tenant   Tenant
	From, To time.Time
	Provider string
	Model    string
	GroupBy  GroupBy
	Bucket   Bucket
}

// Rollups reads the hourly rollups that analytics answer from. Writing them
// is driver-specific (ApplyRollupsTx on each store joins the caller's
// transaction), see internal/jobs.
type Rollups interface {
	// AggregateRollups sums the rows matching q into one Totals per
	// (bucket, group), ordered by bucket start then group.
	AggregateRollups(ctx context.Context, q RollupQuery) ([]rollup.Totals, error)
	// RollupHistograms merges the latency and TTFT histograms of the rows
	// matching q, one entry per group, ordered by group. q.Bucket is ignored.
	RollupHistograms(ctx context.Context, q RollupQuery) ([]rollup.GroupHistograms, error)
}
