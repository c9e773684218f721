package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/trace"
)

func TestRootAndHealth(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		var root map[string]any
		g.getJSON("/", &root)
		expect(t, "name", root["name"], any("ongoingai-gateway"))
		expect(t, "status", root["status"], any("ok"))

		if _, err := g.openai().Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		g.oneTrace()
		var h struct {
			Status        string `json:"status"`
			Version       string `json:"version"`
			StorageDriver string `json:"storage_driver"`
			UptimeS       *int64 `json:"uptime_s"`
			Queue         struct {
				Depth, Capacity            *int
				WrittenTotal, DroppedTotal *int64
			} `json:"queue"`
		}
		// The trace is readable as soon as its batch commits, a moment
		// before the writer counts it written: poll for the count.
		var status int
		var body string
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			status, body = g.get("/api/health")
			if strings.Contains(body, `"written_total":1`) || time.Now().After(deadline) {
				break
			}
		}
		expect(t, "health status code", status, 200)
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatal(err)
		}
		raw := map[string]any{}
		json.Unmarshal([]byte(body), &raw)
		q, _ := raw["queue"].(map[string]any)
		expect(t, "status", h.Status, "ok")
		expect(t, "storage_driver", h.StorageDriver, driver)
		if h.Version == "" || h.UptimeS == nil || q["capacity"] == nil || q["depth"] == nil {
			t.Errorf("health misses fields: %s", body)
		}
		expect(t, "queue.written_total", q["written_total"], any(float64(1)))
		expect(t, "queue.dropped_total", q["dropped_total"], any(float64(0)))
	})
}

func TestTraceListPaginationFiltersAndErrors(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		ctx := context.Background()
		for i := range 5 {
			model := "gpt-4o"
			if i%2 == 1 {
				model = "gpt-4o-mini"
			}
			if _, err := g.openai().Chat.Completions.New(ctx, chatParams(model)); err != nil {
				t.Fatal(err)
			}
		}
		g.openai(fakeupstream.HeaderStatus, "500").Chat.Completions.New(ctx, chatParams("gpt-4o"))
		g.anthropic().Messages.New(ctx, messageParams("claude-3-5-haiku-latest"))
		all := g.traces(7)
		for i := 1; i < len(all); i++ {
			if all[i].Timestamp.After(all[i-1].Timestamp) {
				t.Fatalf("not newest first at %d", i)
			}
		}

		// Keyset pages of 3 cover everything exactly once, in order.
		var seen []string
		cursor := ""
		for page := 0; ; page++ {
			var list struct {
				Items      []trace.Record `json:"items"`
				NextCursor string         `json:"next_cursor"`
			}
			path := "/api/traces?limit=3"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			g.getJSON(path, &list)
			for _, it := range list.Items {
				seen = append(seen, it.ID)
				if it.RequestHeaders != nil || it.RequestBody != "" {
					t.Error("list items carry detail fields")
				}
			}
			if list.NextCursor == "" {
				break
			}
			cursor = list.NextCursor
			if page > 5 {
				t.Fatal("pagination does not end")
			}
		}
		expect(t, "paged items", len(seen), 7)
		for i, id := range seen {
			expect(t, "paged order", id, all[i].ID)
		}

		count := func(query string) int {
			var list struct {
				Items []trace.Record `json:"items"`
			}
			g.getJSON("/api/traces?"+query, &list)
			return len(list.Items)
		}
		expect(t, "provider=anthropic", count("provider=anthropic"), 1)
		expect(t, "model=gpt-4o-mini", count("model=gpt-4o-mini"), 2)
		expect(t, "status=500", count("status=500"), 1)
		expect(t, "api_key_hash", count("api_key_hash="+all[0].APIKeyHash), 1)
		expect(t, "from future", count("from=2999-01-01"), 0)
		expect(t, "to a past date", count("to=2000-01-01"), 0)
		expect(t, "to today (whole day)", count("to="+all[0].Timestamp.Format("2006-01-02")), 7)

		for _, c := range []struct{ query, msg string }{
			{"limit=0", `invalid parameter "limit": must be an integer between 1 and 200`},
			{"limit=201", `invalid parameter "limit": must be an integer between 1 and 200`},
			{"limit=x", `invalid parameter "limit": must be an integer between 1 and 200`},
			{"status=99", `invalid parameter "status": must be an integer between 100 and 599`},
			{"from=yesterday", `invalid parameter "from": must be an RFC3339 timestamp or a YYYY-MM-DD date before the year 9999`},
			{"from=2026-02-01&to=2026-01-01", `invalid parameter "to": must be after from`},
			{"api_key_hash=abc", `invalid parameter "api_key_hash": must be 64 lowercase hex characters (a SHA-256)`},
			{"cursor=!!", `invalid parameter "cursor": must be a next_cursor value returned by this endpoint`},
		} {
			status, body := g.get("/api/traces?" + c.query)
			expectJSONError(t, c.query, status, body, 400, c.msg)
		}
		status, body := g.get("/api/traces/00000000-0000-0000-0000-000000000000")
		expectJSONError(t, "missing trace", status, body, 404, "trace not found")
	})
}

// A deploy stops the gateway while streams are in flight: every stream
// finishes, every answered call is traced, and the process exits cleanly.
func TestGracefulShutdownDrainsStreamsAndTraces(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) { c.Tracing.FlushInterval = 200 * time.Millisecond }) // traces are still queued at shutdown
		const n = 40
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each stream lasts about two seconds, so that all of them
				// are in flight together even on a loaded machine.
				stream := g.openai(fakeupstream.HeaderEvents, "40", fakeupstream.HeaderInterval, "50ms").
					Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
				for stream.Next() {
				}
				errs <- stream.Err()
			}()
		}
		waitFor(t, "all streams in flight", func() bool { return g.fake.InFlight() == n })
		if err := g.stop(); err != nil {
			t.Fatalf("Serve returned %v, want a clean drain", err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a stream was cut by shutdown: %v", err)
			}
		}
		st := reopen(t, g.cfg)
		items, _, err := st.ListTraces(context.Background(), store.TraceFilter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "traces after shutdown", len(items), n)
		for _, r := range items {
			expect(t, "outcome", r.Outcome, trace.OutcomeOK)
			expect(t, "output_tokens", r.OutputTokens, int64(40))
		}
	})
}

// reopen opens the store a stopped gateway used.
func reopen(t *testing.T, cfg config.Config) store.Store {
	t.Helper()
	st, err := opener.Open(context.Background(), cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
