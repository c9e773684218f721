package console_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
)

func TestOverviewPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver, func(c *config.Config) {
				k := staticKey("ops", "acme", "prod", "owner")
				k.Permissions = []string{"installation:read"}
				c.Auth.Keys = append(c.Auth.Keys, k)
			})
			g.chat(roleToken("developer"), 3)
			b := g.signedIn("viewer")
			var p page
			eventually(t, "today's requests counted", func() bool {
				p = b.get("/console")
				// The key and model tables read rollups of their own,
				// which may land a moment after the totals.
				return strings.Count(p.body, "<dt>Requests</dt><dd>3</dd>") == 2 &&
					p.has(`<th scope="row">key-developer</th>`) && p.has(`<th scope="row">gpt-4o-mini</th>`)
			})
			for _, want := range []string{">Today</h2>", ">Last 7 days</h2>", "<dt>Error rate</dt><dd>0.0 %</dd>",
				"Top models by cost, last 7 days", "<th scope=\"row\">gpt-4o-mini</th>", "Top gateway keys by cost", "<th scope=\"row\">key-developer</th>"} {
				if !p.has(want) {
					t.Errorf("overview lacks %s", want)
				}
			}
			if p.has("Trace pipeline") {
				t.Error("a viewer sees the trace pipeline's health")
			}
			if p := g.signedIn("ops").get("/console"); !p.has("Trace pipeline") {
				t.Errorf("a key with installation:read does not see the pipeline:\n%s", p.body)
			}
		})
	}
}

func TestAnalyticsPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			g.chat(roleToken("developer"), 4)
			b := g.signedIn("viewer")
			var p page
			eventually(t, "rolled up", func() bool {
				p = b.get("/console/analytics?group_by=gateway_key")
				return p.has(`<th scope="row">key-developer</th><td class="num">4</td>`)
			})
			wantStatus(t, "analytics", p, http.StatusOK)
			for _, want := range []string{
				`<label for="an-group">Group by</label>`, `<option value="gateway_key" selected>key</option>`,
				`<option value="provider">provider</option>`, `<option value="workspace">workspace</option>`,
				"<svg class=\"chart\"", "<rect class=\"bar\"", "Cost over time, in numbers", "Tokens over time, in numbers",
				"Cost by key", "Latency percentiles (ms)", ">p95<", "Errors",
			} {
				if !p.has(want) {
					t.Errorf("analytics lacks %s", want)
				}
			}
			if strings.Contains(p.body, "cdn") || strings.Contains(p.body, "https://") {
				t.Error("analytics loads something from elsewhere")
			}
			p = b.get("/console/analytics?group_by=status_class")
			wantStatus(t, "group_by the page does not offer", p, http.StatusBadRequest)
			if !p.has(`id="an-group-error"`) {
				t.Errorf("group_by error not next to Group by:\n%s", p.body)
			}
			p = b.get("/console/analytics?from=2026-02-01&to=2026-01-01")
			wantStatus(t, "to before from", p, http.StatusBadRequest)
			if !p.has(`id="an-to-error"`) {
				t.Errorf("to error not next to To")
			}
		})
	}
}

// The Analytics page's Report reads fewer aggregates than the six answers
// it stands for, and gives exactly what they give.
func TestReportMatchesAnswers(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			g.chat(roleToken("developer"), 3)
			g.chat(roleToken("admin"), 2)
			eventually(t, "rolled up", func() bool {
				p := g.signedIn("viewer").get("/console/analytics?group_by=gateway_key")
				return p.has(`<th scope="row">key-admin</th><td class="num">2</td>`) && p.has(`<th scope="row">key-developer</th><td class="num">3</td>`)
			})
			st, err := opener.Open(t.Context(), g.cfg.Storage)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			svc := analytics.New(st)
			for _, groupBy := range []store.GroupBy{store.GroupNone, store.GroupGatewayKey, store.GroupModel} {
				q := analytics.Query{Tenant: store.Tenant{OrgID: "acme"}, GroupBy: groupBy}
				q.From, q.To = analytics.Window(time.Time{}, time.Time{}, time.Now())
				rep, err := svc.Report(t.Context(), q, store.BucketHour)
				if err != nil {
					t.Fatal(err)
				}
				overTime := q
				overTime.GroupBy, overTime.Bucket = store.GroupNone, store.BucketHour
				want := analytics.Report{}
				want.UsageOverTime, _ = svc.Usage(t.Context(), overTime)
				want.CostOverTime, _ = svc.Cost(t.Context(), overTime)
				want.UsageByGroup, _ = svc.Usage(t.Context(), q)
				want.CostByGroup, _ = svc.Cost(t.Context(), q)
				want.Latency, _ = svc.Latency(t.Context(), q)
				want.Errors, _ = svc.Errors(t.Context(), q)
				if !reflect.DeepEqual(rep, want) {
					t.Errorf("group_by %q: Report\n%+v\nwant\n%+v", groupBy, rep, want)
				}
				if len(rep.UsageByGroup.Items) == 0 || rep.UsageOverTime.Items[0].Requests == 0 {
					t.Errorf("group_by %q: an empty report", groupBy)
				}
			}

			// The Overview's Breakdown, likewise.
			q := analytics.Query{Tenant: store.Tenant{OrgID: "acme"}}
			q.From, q.To = analytics.Window(time.Time{}, time.Time{}, time.Now())
			got, err := svc.Breakdown(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			var want analytics.Breakdown
			want.Summary, _ = svc.Summary(t.Context(), q)
			byModel, byKey := q, q
			byModel.GroupBy, byKey.GroupBy = store.GroupModel, store.GroupGatewayKey
			want.ModelUsage, _ = svc.Usage(t.Context(), byModel)
			want.ModelCost, _ = svc.Cost(t.Context(), byModel)
			want.KeyUsage, _ = svc.Usage(t.Context(), byKey)
			want.KeyCost, _ = svc.Cost(t.Context(), byKey)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Breakdown\n%+v\nwant\n%+v", got, want)
			}
			if got.Summary.TotalRequests != 5 || len(got.KeyCost.Items) != 2 {
				t.Errorf("Breakdown counts %d requests over %d keys, want 5 over 2", got.Summary.TotalRequests, len(got.KeyCost.Items))
			}
		})
	}
}
