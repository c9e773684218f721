package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
)

// The analytics routes: each parses the parameters its answer takes,
// scopes the query to the caller's tenant and serves what
// internal/analytics answers from the rollups.

func (a *API) analyticsSummary(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{}, (*analytics.Service).Summary)
}

func (a *API) analyticsUsage(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{groupBy: true, bucket: true}, (*analytics.Service).Usage)
}

func (a *API) analyticsCost(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{groupBy: true, bucket: true}, (*analytics.Service).Cost)
}

func (a *API) analyticsModels(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{}, (*analytics.Service).Models)
}

func (a *API) analyticsKeys(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{}, (*analytics.Service).Keys)
}

func (a *API) analyticsLatency(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{groupBy: true}, (*analytics.Service).Latency)
}

func (a *API) analyticsErrors(w http.ResponseWriter, r *http.Request) {
	serveAnalytics(a, w, r, analyticsParams{groupBy: true}, (*analytics.Service).Errors)
}

// serveAnalytics answers one analytics request: 400 naming the first
// invalid parameter, 503 when the store is unreachable or slower than
// storage.read_timeout, 500 when it fails otherwise, else the answer.
func serveAnalytics[T any](a *API, w http.ResponseWriter, r *http.Request, accepts analyticsParams,
	answer func(*analytics.Service, context.Context, analytics.Query) (T, error),
) {
	q, err := parseAnalyticsQuery(r.URL.Query(), accepts, time.Now())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Tenant = a.d.Tenant(r)
	ctx, cancel := a.readContext(r)
	defer cancel()
	v, err := answer(analytics.New(a.d.Store), ctx, q)
	if err != nil {
		a.writeStoreError(ctx, w, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// analyticsParams says which optional parameters an answer takes besides
// from, to, provider and model, which all take. Others are ignored, as
// everywhere in the API.
type analyticsParams struct {
	groupBy, bucket bool
}

// parseAnalyticsQuery validates the parameters and settles the window (see
// analytics.Window) as of now. The tenant is the caller's to fill in.
func parseAnalyticsQuery(v url.Values, accepts analyticsParams, now time.Time) (analytics.Query, error) {
	var q analytics.Query
	from, to, err := timeRange(v)
	if err != nil {
		return q, err
	}
	q.From, q.To = analytics.Window(from, to, now)
	if !q.From.Before(q.To) {
		// Only a from past the default to (the end of the current hour) gets
		// here: timeRange already ordered an explicit pair.
		return q, &paramError{"from", "must not be after the current hour when to is not given"}
	}
	q.Provider = v.Get("provider")
	q.Model = v.Get("model")
	if accepts.groupBy {
		if q.GroupBy, err = oneOf(v, "group_by", analytics.GroupBys); err != nil {
			return q, err
		}
	}
	if accepts.bucket {
		if q.Bucket, err = oneOf(v, "bucket", analytics.Buckets); err != nil {
			return q, err
		}
	}
	return q, nil
}

// oneOf parses an optional parameter that must be one of allowed.
func oneOf[T ~string](v url.Values, name string, allowed []T) (T, error) {
	got := T(v.Get(name))
	if got == "" {
		return "", nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		if a == got {
			return got, nil
		}
		names[i] = string(a)
	}
	return "", &paramError{name, "must be one of " + strings.Join(names, ", ")}
}

// ParseAnalyticsQuery reads the analytics parameters (from, to, provider,
// model, and group_by and bucket when asked for) as the /api/analytics
// routes do, with the window settled as of now. The console's Overview and
// Analytics pages read theirs with it.
func ParseAnalyticsQuery(v url.Values, groupBy, bucket bool, now time.Time) (analytics.Query, error) {
	return parseAnalyticsQuery(v, analyticsParams{groupBy: groupBy, bucket: bucket}, now)
}
