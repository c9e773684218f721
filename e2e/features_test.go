package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/trace"
)

// featureOff returns a config mutation switching the named features off.
func featureOff(names ...string) func(*config.Config) {
	return func(c *config.Config) {
		for _, n := range names {
			c.Features.Set(n, false)
		}
	}
}

// healthFeatures reads the features /api/health lists.
func healthFeatures(t *testing.T, g *gateway) []string {
	t.Helper()
	var h struct {
		Features []string `json:"features"`
	}
	g.getJSON("/api/health", &h)
	return h.Features
}

// expectFeatureDisabled checks that path answers 404 "feature disabled:
// NAME", with and without credentials.
func expectFeatureDisabled(t *testing.T, g *gateway, method, path, name string) {
	t.Helper()
	for _, headers := range []map[string]string{nil, {"Authorization": "Bearer not-a-key"}} {
		status, body := g.do(method, path, "", headers)
		expectJSONError(t, method+" "+path, status, body, http.StatusNotFound, "feature disabled: "+name)
	}
}

// jobsOfKind counts River's jobs of kind in the store a stopped gateway
// used.
func jobsOfKind(t *testing.T, cfg config.Config, kind string) int {
	t.Helper()
	st := openStore(t, cfg)
	defer st.Close()
	res, err := st.JobList(context.Background(), river.NewJobListParams().Kinds(kind).First(1000))
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Jobs)
}

// By default every feature is on and /api/health says so, in a fixed order.
func TestFeatureHealthListsEveryFeatureByDefault(t *testing.T) {
	g := startGateway(t, config.DriverSQLite)
	got := healthFeatures(t, g)
	if !slices.Equal(got, config.FeatureNames) {
		t.Fatalf("health features = %v, want %v", got, config.FeatureNames)
	}
	g2 := startGateway(t, config.DriverSQLite, featureOff(config.FeaturePII, config.FeatureOTel))
	want := []string{"console", "analytics", "retention", "limits", "prometheus"}
	if got := healthFeatures(t, g2); !slices.Equal(got, want) {
		t.Fatalf("health features with pii and otel off = %v, want %v", got, want)
	}
}

// Analytics off: /api/analytics answers 404 "feature disabled: analytics",
// traces are stored without a rollup job, and the rest (proxying, traces)
// keeps working. Switched back on, new traffic is rolled up again; the
// traffic of the time it was off is not.
func TestFeatureAnalyticsOff(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, featureOff(config.FeatureAnalytics))
		for range 2 {
			if _, err := g.openai().Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
				t.Fatal(err)
			}
		}
		g.traces(2)
		for _, p := range []string{"summary", "usage", "cost", "models", "keys", "latency", "errors"} {
			expectFeatureDisabled(t, g, http.MethodGet, "/api/analytics/"+p, config.FeatureAnalytics)
		}
		if got := healthFeatures(t, g); slices.Contains(got, config.FeatureAnalytics) {
			t.Errorf("health lists analytics while it is off: %v", got)
		}
		if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		if n := jobsOfKind(t, g.cfg, "rollup_batch"); n != 0 {
			t.Fatalf("%d rollup jobs enqueued with analytics off, want none", n)
		}

		on := serveConfig(t, withFeatures(g.cfg, config.Features{}), g.fake, g.upstream)
		if _, err := on.openai().Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		on.traces(3)
		today := time.Now().UTC().Truncate(24 * time.Hour)
		window := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
		waitForRollups(t, on, "", window, 1)
	})
}

// withFeatures returns cfg with its features block replaced.
func withFeatures(cfg config.Config, f config.Features) config.Config {
	cfg.Features = f
	return cfg
}

// Retention off: the retention job never runs, so a trace far past
// retention.traces_days stays; switched back on, it is deleted at start.
func TestFeatureRetentionOff(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, featureOff(config.FeatureRetention))
		cfg := g.cfg
		if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		// A trace 40 days old, past the default traces_days (30).
		old := time.Now().UTC().AddDate(0, 0, -40).Truncate(time.Microsecond)
		st := openStore(t, cfg)
		if err := st.InsertTraces(context.Background(), []trace.Record{{
			ID: "old", Timestamp: old, CreatedAt: old, Provider: "openai", Model: "gpt-4o", ResponseStatus: 200,
		}}); err != nil {
			t.Fatal(err)
		}
		st.Close()

		off := serveConfig(t, cfg, g.fake, g.upstream)
		if _, err := off.openai().Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		// Key expiry is the other periodic job run at start: once it has
		// run, retention would have too.
		eventually(t, "the expire_keys job has run", func() bool {
			return completedJobs(t, cfg, "expire_keys") > 0
		})
		if got := len(off.traces(2)); got != 2 {
			t.Fatalf("traces with retention off = %d, want the old one kept and the new one", got)
		}
		if err := off.stop(); err != nil {
			t.Fatal(err)
		}
		if n := jobsOfKind(t, cfg, "retention"); n != 0 {
			t.Fatalf("%d retention jobs with retention off, want none", n)
		}

		on := serveConfig(t, withFeatures(cfg, config.Features{}), g.fake, g.upstream)
		eventually(t, "retention deletes the old trace once switched on", func() bool {
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			on.getJSON("/api/traces?limit=200", &list)
			return len(list.Items) == 1
		})
	})
}

// completedJobs counts River's completed jobs of kind, read through a
// second handle on the running gateway's store.
func completedJobs(t *testing.T, cfg config.Config, kind string) int {
	t.Helper()
	st := openStore(t, cfg)
	defer st.Close()
	res, err := st.JobList(context.Background(), river.NewJobListParams().Kinds(kind).States(rivertype.JobStateCompleted).First(100))
	if err != nil {
		t.Fatal(err)
	}
	return len(res.Jobs)
}

// openStore opens a second handle on a gateway's store (running or not);
// the caller closes it.
func openStore(t *testing.T, cfg config.Config) *opener.DB {
	t.Helper()
	st, err := opener.Open(context.Background(), cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Console, limits, pii, prometheus and otel off together: their routes
// answer 404 "feature disabled: NAME", their effects on the proxy are gone
// (a per-key limit of one call a minute and a PII block policy refuse
// nothing; no OTLP export), while analytics, traces and the API keep
// working.
func TestFeaturesOffLeaveTheRestWorking(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		var otlpHits atomic.Int64
		collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			otlpHits.Add(1)
			w.WriteHeader(http.StatusOK)
		}))
		t.Cleanup(collector.Close)
		g := startGateway(t, driver, withAuth, withOperator, withMetrics, func(c *config.Config) {
			c.Limits.PerKey.RequestsPerMinute = 1
			c.PII.Mode = config.PIIModeBlock
			c.Observability.OTel.Enabled = true
			c.Observability.OTel.Endpoint = collector.URL
			c.Observability.OTel.TracesEnabled = true
			c.Observability.OTel.MetricsEnabled = true
		}, featureOff(config.FeatureConsole, config.FeatureLimits, config.FeaturePII, config.FeaturePrometheus, config.FeatureOTel))

		expectFeatureDisabled(t, g, http.MethodGet, "/console/login", config.FeatureConsole)
		expectFeatureDisabled(t, g, http.MethodGet, "/console/static/app.css", config.FeatureConsole)
		expectFeatureDisabled(t, g, http.MethodGet, "/api/gateway-keys/acme-admin/limits", config.FeatureLimits)
		expectFeatureDisabled(t, g, http.MethodPut, "/api/workspaces/prod/limits", config.FeatureLimits)
		expectFeatureDisabled(t, g, http.MethodGet, "/metrics", config.FeaturePrometheus)
		if got, want := healthFeatures(t, g), []string{"analytics", "retention"}; !slices.Equal(got, want) {
			t.Errorf("health features = %v, want %v", got, want)
		}

		// Three calls past a limit of one a minute, one carrying PII under a
		// block policy: all reach the upstream.
		for i := range 2 {
			if _, err := g.sdkChat(t, acmeAdminToken, 0); err != nil {
				t.Fatalf("call %d with limits off: %v", i+1, err)
			}
		}
		status, body := g.do("POST", "/openai/v1/chat/completions",
			`{"model":"gpt-4o","messages":[{"role":"user","content":"`+piiPrompt+`"}]}`,
			map[string]string{"Authorization": "Bearer " + openAIKey, "X-OngoingAI-Gateway-Key": acmeAdminToken, "Content-Type": "application/json"})
		expect(t, "PII call with pii off: status", status, http.StatusOK)
		if status != http.StatusOK {
			t.Logf("body: %s", body)
		}
		if n := len(g.fake.Requests()); n != 3 {
			t.Errorf("%d requests reached the upstream, want 3", n)
		}

		// The rest keeps working: analytics and the key API.
		today := time.Now().UTC().Truncate(24 * time.Hour)
		window := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
		waitForRollups(t, g, acmeAdminToken, window, 3)
		if status, body := g.call(http.MethodGet, "/api/gateway-keys", acmeOwnerToken, ""); status != http.StatusOK {
			t.Errorf("GET /api/gateway-keys = %d %s", status, body)
		}

		// Shutdown flushes telemetry: with otel off there is nothing to send.
		if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		if n := otlpHits.Load(); n != 0 {
			t.Errorf("%d OTLP exports with otel off, want none", n)
		}
		// The same configuration with the features on exports, limits and
		// blocks: the test above would notice them.
		on := serveConfig(t, withFeatures(g.cfg, config.Features{}), g.fake, g.upstream)
		if status, _ := on.get("/console/login"); status != http.StatusOK {
			t.Errorf("console/login with console on = %d", status)
		}
		on.sdkChat(t, acmeAdminToken, 0)
		if _, err := on.sdkChat(t, acmeAdminToken, 0); err == nil {
			t.Error("second call within the minute admitted with limits on")
		}
		if err := on.stop(); err != nil {
			t.Fatal(err)
		}
		if otlpHits.Load() == 0 {
			t.Error("no OTLP export with otel on")
		}
	})
}
