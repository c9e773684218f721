package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/web"
)

// groupBys are the Analytics page's Group by choices: value, label.
var groupBys = []web.Field{
	{Name: string(store.GroupProvider), Value: "provider"},
	{Name: string(store.GroupModel), Value: "model"},
	{Name: string(store.GroupGatewayKey), Value: "key"},
	{Name: string(store.GroupWorkspace), Value: "workspace"},
}

// analyticsPage charts cost and tokens over the window (hourly up to two
// days, daily beyond), by group when asked, and tabulates latency
// percentiles and errors: all from the rollups, through the same
// analytics service and parameter parsing as /api/analytics.
func (c *Console) analyticsPage(w http.ResponseWriter, r *http.Request) {
	qv := r.URL.Query()
	v := web.AnalyticsView{
		Shell: c.shell(r, "Analytics"), GroupBys: groupBys, Errors: web.FieldErrors{},
		From: qv.Get("from"), To: qv.Get("to"), Provider: qv.Get("provider"), Model: qv.Get("model"), GroupBy: qv.Get("group_by"),
	}
	in := onlyParams(qv, []string{"from", "to", "provider", "model", "group_by"})
	if v.GroupBy != "" && !validGroupBy(v.GroupBy) {
		// The API takes more groupings than the page offers.
		v.Errors["group_by"] = "invalid parameter \"group_by\": must be one of provider, model, gateway_key, workspace"
		c.render(w, r, http.StatusBadRequest, web.AnalyticsPage(v))
		return
	}
	q, err := api.ParseAnalyticsQuery(in, true, false, c.d.Now())
	if err != nil {
		v.Errors[api.ParamName(err)] = err.Error()
		c.render(w, r, http.StatusBadRequest, web.AnalyticsPage(v))
		return
	}
	q.Tenant = c.d.Auth.Tenant(r)
	grouped := q.GroupBy
	bucket := store.BucketHour
	if q.To.Sub(q.From) > 48*time.Hour {
		bucket = store.BucketDay
	}
	ctx, cancel := c.readContext(r)
	defer cancel()
	rep, err := analytics.New(c.d.Store).Report(ctx, q, bucket)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	costs, usage, byGroup, usageGrp, latency, errs := rep.CostOverTime, rep.UsageOverTime, rep.CostByGroup, rep.UsageByGroup, rep.Latency, rep.Errors

	label := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		if bucket == store.BucketDay {
			return t.UTC().Format("Jan 02")
		}
		return t.UTC().Format("Jan 02 15h")
	}
	v.Cost = web.Chart{ID: "chart-cost", Title: "Cost over time", Unit: "Cost (USD)"}
	for _, it := range costs.Items {
		v.Cost.Points = append(v.Cost.Points, web.Point{Label: label(it.BucketStart), Value: it.TotalCostUSD, Text: usd(it.TotalCostUSD)})
	}
	v.Tokens = web.Chart{ID: "chart-tokens", Title: "Tokens over time", Unit: "Tokens"}
	for _, it := range usage.Items {
		v.Tokens.Points = append(v.Tokens.Points, web.Point{Label: label(it.BucketStart), Value: float64(it.TotalTokens), Text: count(it.TotalTokens)})
	}
	if grouped != store.GroupNone {
		name := groupLabel(grouped)
		ch := &web.Chart{ID: "chart-by-group", Title: "Cost by " + name, Unit: "Cost (USD)"}
		for _, it := range byGroup.Items {
			ch.Points = append(ch.Points, web.Point{Label: deref(it.Group), Value: it.TotalCostUSD, Text: usd(it.TotalCostUSD)})
		}
		v.ByGroup = ch
		t := web.Table{Caption: "Tokens by " + name, Head: []string{name, "Requests", "Input", "Output", "Total"}}
		for _, it := range usageGrp.Items {
			t.Rows = append(t.Rows, []string{deref(it.Group), count(it.Requests), count(it.InputTokens), count(it.OutputTokens), count(it.TotalTokens)})
		}
		v.Tables = append(v.Tables, t)
	}
	name := groupLabel(grouped)
	lt := web.Table{Caption: "Latency percentiles (ms)", Head: []string{name, "Requests", "p50", "p95", "p99", "Max"}}
	for _, it := range latency.Items {
		row := []string{deref(it.Group), count(it.Requests), "—", "—", "—", "—"}
		if s := it.LatencyMS; s != nil {
			row[2], row[3], row[4], row[5] = msText(s.P50), msText(s.P95), msText(s.P99), msText(s.Max)
		}
		lt.Rows = append(lt.Rows, row)
	}
	et := web.Table{Caption: "Errors", Head: []string{name, "Requests", "Client errors (4xx)", "Server errors (5xx)", "Cancelled", "Error rate"}}
	for _, it := range errs.Items {
		et.Rows = append(et.Rows, []string{deref(it.Group), count(it.Requests), count(it.ClientErrors), count(it.ServerErrors), count(it.Cancelled),
			strconv.FormatFloat(it.ErrorRate*100, 'f', 1, 64) + " %"})
	}
	v.Tables = append(v.Tables, lt, et)
	c.render(w, r, http.StatusOK, web.AnalyticsPage(v))
}

func validGroupBy(g string) bool {
	for _, f := range groupBys {
		if f.Name == g {
			return true
		}
	}
	return false
}

// groupLabel names a grouping as the page does; "All" when ungrouped.
func groupLabel(g store.GroupBy) string {
	for _, f := range groupBys {
		if f.Name == string(g) {
			return f.Value
		}
	}
	return "All"
}

func deref(s *string) string {
	if s == nil {
		return "all traffic"
	}
	if *s == "" {
		return "(none)"
	}
	return *s
}

func msText(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
