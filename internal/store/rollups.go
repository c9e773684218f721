package store

import (
	"context"
	"errors"
	"fmt"
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

// ErrInvalidRollupQuery is wrapped by the error a store returns for a
// RollupQuery that Validate rejects, so a handler can answer 400.
var ErrInvalidRollupQuery = errors.New("invalid rollup query")

// Validate checks q the way every store does before running it: From and To
// set, on whole UTC hours, From before To, and GroupBy and Bucket known.
// The error wraps ErrInvalidRollupQuery and names the field at fault.
func (q RollupQuery) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidRollupQuery, fmt.Sprintf(format, args...))
	}
	for _, bound := range []struct {
		name string
		t    time.Time
	}{{"from", q.From}, {"to", q.To}} {
		if bound.t.IsZero() {
			return bad("%s is required", bound.name)
		}
		// Truncate works on absolute time, so this holds in any zone whose
		// offset is not whole hours too.
		if !bound.t.Equal(bound.t.Truncate(time.Hour)) {
			return bad("%s %s is not on a whole UTC hour", bound.name, bound.t.Format(time.RFC3339Nano))
		}
	}
	if !q.From.Before(q.To) {
		return bad("from %s is not before to %s", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339))
	}
	switch q.GroupBy {
	case GroupNone, GroupProvider, GroupModel, GroupGatewayKey, GroupAPIKey, GroupWorkspace, GroupStatusClass:
	default:
		return bad("unknown group_by %q", q.GroupBy)
	}
	switch q.Bucket {
	case BucketNone, BucketHour, BucketDay, BucketWeek:
	default:
		return bad("unknown bucket %q", q.Bucket)
	}
	return nil
}

// Rollups reads the hourly rollups that analytics answer from. Writing them
// is driver-specific (ApplyRollupsTx on each store joins the caller's
// transaction), see internal/jobs.
type Rollups interface {
	// AggregateRollups sums the rows matching q into one Totals per
	// (bucket, group) that has any, ordered by bucket start then group
	// (byte-wise); nothing matching is an empty answer. Sums are exact;
	// minima come from rows that counted something. An invalid q is an
	// error wrapping ErrInvalidRollupQuery.
	AggregateRollups(ctx context.Context, q RollupQuery) ([]rollup.Totals, error)
	// RollupHistograms merges the latency and TTFT histograms of the rows
	// matching q, one entry per group, ordered by group (byte-wise). q.Bucket
	// is ignored beyond validation.
	RollupHistograms(ctx context.Context, q RollupQuery) ([]rollup.GroupHistograms, error)
}
