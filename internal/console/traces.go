package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
	"github.com/ongoingai/gateway/web"
)

// tracesPerPage is the Traces page's length.
const tracesPerPage = 50

// traceFilterParams are the parameters the Traces page keeps from one page
// to the next (the cursor moves).
var traceFilterParams = []string{"provider", "model", "status", "from", "to"}

// traces lists the caller's traces with the API's own filter parsing and
// keyset paging (store.ListTraces), so a page costs the same at any depth.
func (c *Console) traces(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := web.TracesView{
		Shell: c.shell(r, "Traces"), Errors: web.FieldErrors{},
		Filters: web.TraceFilters{Provider: q.Get("provider"), Model: q.Get("model"), Status: q.Get("status"), From: q.Get("from"), To: q.Get("to")},
	}
	f, err := api.ParseTraceFilter(onlyParams(q, append(slices.Clip(traceFilterParams), "cursor")))
	if err != nil {
		v.Errors[api.ParamName(err)] = err.Error()
		c.render(w, r, http.StatusBadRequest, web.TracesPage(v))
		return
	}
	f.Tenant, f.Limit = c.d.Auth.Tenant(r), tracesPerPage
	ctx, cancel := c.readContext(r)
	defer cancel()
	recs, next, err := c.d.Store.ListTraces(ctx, f)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	for _, t := range recs {
		v.Rows = append(v.Rows, web.TraceRow{
			ID: t.ID, Provider: t.Provider, Model: t.Model, Key: keyLabel(t), Time: t.Timestamp,
			Status: t.ResponseStatus, Tokens: t.TotalTokens, CostUSD: t.EstimatedCostUSD, Priced: t.Priced, LatencyMS: t.LatencyMS,
		})
	}
	if next != nil {
		nq := onlyParams(q, traceFilterParams)
		nq.Set("cursor", api.EncodeCursor(next))
		v.NextHref = "/console/traces?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, web.TracesPage(v))
}

// keyLabel names who made a call: its gateway key, else the last four of
// the provider key it used.
func keyLabel(t trace.Record) string {
	if t.GatewayKeyID != "" {
		return t.GatewayKeyID
	}
	if t.APIKeyLast4 != "" {
		return "…" + t.APIKeyLast4
	}
	return "—"
}

// onlyParams keeps the non-empty values of names from q.
func onlyParams(q url.Values, names []string) url.Values {
	out := url.Values{}
	for _, n := range names {
		if v := q.Get(n); v != "" {
			out.Set(n, v)
		}
	}
	return out
}

// traceDetail shows one trace of the caller's scope.
func (c *Console) traceDetail(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := c.readContext(r)
	defer cancel()
	t, err := c.d.Store.GetTrace(ctx, c.d.Auth.Tenant(r), chi.URLParam(r, "id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.errorPage(w, r, http.StatusNotFound, api.MsgTraceNotFound)
		return
	case err != nil:
		c.storeError(w, r, err)
		return
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	v := web.TraceDetailView{
		Shell: c.shell(r, "Trace "+t.ID),
		Fields: []web.Field{
			{Name: "Time", Value: t.Timestamp.UTC().Format("2006-01-02 15:04:05.000000 UTC")},
			{Name: "Provider", Value: t.Provider},
			{Name: "Model", Value: t.Model},
			{Name: "Requested model", Value: t.RequestModel},
			{Name: "Request", Value: t.RequestMethod + " " + t.RequestPath},
			{Name: "Status", Value: strconv.Itoa(t.ResponseStatus)},
			{Name: "Outcome", Value: string(t.Outcome)},
			{Name: "Cost", Value: costText(t)},
			{Name: "Latency", Value: i64(t.LatencyMS) + " ms"},
			{Name: "Time to first token", Value: ttftText(t)},
			{Name: "Streaming", Value: strconv.FormatBool(t.Streaming)},
			{Name: "Key", Value: keyLabel(t)},
			{Name: "Workspace", Value: t.WorkspaceID},
		},
		Usage: []web.Field{
			{Name: "Input tokens", Value: i64(t.InputTokens)},
			{Name: "Output tokens", Value: i64(t.OutputTokens)},
			{Name: "Cached input tokens", Value: i64(t.CachedInputTokens)},
			{Name: "Cache write tokens", Value: i64(t.CacheWriteTokens)},
			{Name: "Reasoning tokens", Value: i64(t.ReasoningTokens)},
			{Name: "Total tokens", Value: i64(t.TotalTokens)},
			{Name: "Estimated", Value: strconv.FormatBool(t.TokensEstimated)},
		},
		RequestHeaders:  sortedFields(t.RequestHeaders),
		ResponseHeaders: sortedFields(t.ResponseHeaders),
		RequestBody:     t.RequestBody,
		ResponseBody:    t.ResponseBody,
	}
	if len(t.Metadata) > 0 {
		var meta struct {
			FinishReasons []string `json:"finish_reasons"`
		}
		_ = json.Unmarshal(t.Metadata, &meta)
		v.FinishReasons = meta.FinishReasons
		var b bytes.Buffer
		if json.Indent(&b, t.Metadata, "", "  ") == nil {
			v.Metadata = b.String()
		} else {
			v.Metadata = string(t.Metadata)
		}
	}
	c.render(w, r, http.StatusOK, web.TraceDetailPage(v))
}

func costText(t trace.Record) string {
	if !t.Priced {
		return "not priced (unknown model)"
	}
	return "$" + strconv.FormatFloat(t.EstimatedCostUSD, 'f', 6, 64) + " (prices " + t.PricingVersion + ")"
}

func ttftText(t trace.Record) string {
	if t.TimeToFirstTokenUS > 0 {
		return strconv.FormatFloat(float64(t.TimeToFirstTokenUS)/1000, 'f', 3, 64) + " ms"
	}
	if t.TimeToFirstTokenMS > 0 {
		return strconv.FormatInt(t.TimeToFirstTokenMS, 10) + " ms"
	}
	return "—"
}

// sortedFields lists a header map by name.
func sortedFields(m map[string]string) []web.Field {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]web.Field, 0, len(names))
	for _, k := range names {
		out = append(out, web.Field{Name: k, Value: m[k]})
	}
	return out
}
