package console

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/web"
)

// topN is how many models and keys the Overview lists.
const topN = 5

// overview shows today and the last 7 days from the rollups (never the
// trace table, so it answers as fast at 10M traces as at 10), the top
// models and keys by cost over the 7 days, and the trace pipeline's health
// for callers with installation:read.
func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	now := c.d.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	tenant := c.d.Auth.Tenant(r)
	day := analytics.Query{Tenant: tenant}
	day.From, day.To = analytics.Window(today, time.Time{}, now)
	week := analytics.Query{Tenant: tenant}
	week.From, week.To = analytics.Window(today.AddDate(0, 0, -6), time.Time{}, now)

	ctx, cancel := c.readContext(r)
	defer cancel()
	svc := analytics.New(c.d.Store)
	var (
		sumDay analytics.Summary
		week7  analytics.Breakdown
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { sumDay, err = svc.Summary(gctx, day); return })
	g.Go(func() (err error) { week7, err = svc.Breakdown(gctx, week); return })
	if err := g.Wait(); err != nil {
		c.storeError(w, r, err)
		return
	}
	v := web.OverviewView{
		Shell:     c.shell(r, "Overview"),
		Periods:   []web.Period{period("Today", sumDay), period("Last 7 days", week7.Summary)},
		TopModels: topByCost("Top models by cost, last 7 days", "Model", week7.ModelCost, week7.ModelUsage),
		TopKeys:   topByCost("Top gateway keys by cost, last 7 days", "Key", week7.KeyCost, week7.KeyUsage),
	}
	if c.d.QueueStats != nil && c.d.Auth.Allows(r, "installation", "read") {
		s := c.d.QueueStats()
		v.Pipeline = &web.Table{
			Caption: "Trace pipeline (this gateway)",
			Head:    []string{"Measure", "Value"},
			Rows: [][]string{
				{"Written", count(s.Written)},
				{"Dropped (queue full)", count(s.Dropped)},
				{"Queue depth", strconv.Itoa(s.Depth) + " of " + strconv.Itoa(s.Capacity)},
				{"Last flush", web.FormatTime(s.LastFlushAt)},
				{"Last error", orDash(s.LastError)},
			},
		}
	}
	c.render(w, r, http.StatusOK, web.OverviewPage(v))
}

// topByCost tabulates the topN groups by cost, with their requests and
// tokens. Traffic without a gateway key has no key to list.
func topByCost(caption, what string, cost analytics.Cost, usage analytics.Usage) web.Table {
	tokens := make(map[string]int64, len(usage.Items))
	for _, u := range usage.Items {
		if u.Group != nil {
			tokens[*u.Group] = u.TotalTokens
		}
	}
	items := slices.DeleteFunc(slices.Clone(cost.Items), func(it analytics.CostItem) bool { return it.Group == nil || *it.Group == "" })
	slices.SortStableFunc(items, func(a, b analytics.CostItem) int { return cmp.Compare(b.TotalCostUSD, a.TotalCostUSD) })
	t := web.Table{Caption: caption, Head: []string{what, "Requests", "Tokens", "Cost"}}
	for _, it := range items[:min(topN, len(items))] {
		t.Rows = append(t.Rows, []string{*it.Group, count(it.Requests), count(tokens[*it.Group]), usd(it.TotalCostUSD)})
	}
	return t
}

func period(name string, s analytics.Summary) web.Period {
	rate := "—"
	if s.TotalRequests > 0 {
		rate = strconv.FormatFloat(float64(s.ErrorRequests)/float64(s.TotalRequests)*100, 'f', 1, 64) + " %"
	}
	return web.Period{Name: name, Stats: []web.Stat{
		{Name: "Requests", Value: count(s.TotalRequests)},
		{Name: "Tokens", Value: count(s.TotalTokens)},
		{Name: "Cost", Value: usd(s.TotalCostUSD)},
		{Name: "Error rate", Value: rate},
	}}
}

func count(n int64) string { return strconv.FormatInt(n, 10) }

func usd(v float64) string { return "$" + strconv.FormatFloat(v, 'f', 6, 64) }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
