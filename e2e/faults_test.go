package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// Stories of a gateway whose store or whose own process goes away: the
// drain at shutdown, a database that is down or hung. Fault injection uses
// throwaway clusters (testdb.StartCluster), never the shared server.

// hangGuard bounds a step that used to hang forever, so that a regression
// fails the test with a message instead of running into go test's global
// timeout. It is a safety net, not a timing assertion: it is minutes
// where the step takes at most a few seconds.
const hangGuard = 2 * time.Minute

// syncBuffer is a log sink shared by the gateway's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// record returns the attributes of the last log record with message msg.
func (s *syncBuffer) record(t *testing.T, msg string) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var found map[string]any
	for line := range strings.SplitSeq(s.b.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			found = rec
		}
	}
	if found == nil {
		t.Fatalf("no log record %q in:\n%s", msg, s.b.String())
	}
	return found
}

// faultConfig is the config of a gateway in front of a fresh fake upstream.
func faultConfig(t *testing.T, driver, dsn string) (config.Config, *fakeupstream.Server, *httptest.Server) {
	t.Helper()
	fake := fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); upstream.Close() })
	cfg := config.Default()
	cfg.Server.Host = "127.0.0.1"
	cfg.Storage.Driver = driver
	if driver == config.DriverSQLite {
		cfg.Storage.Path = testdb.SQLitePath(t)
	} else {
		cfg.Storage.DSN = dsn
	}
	for name, p := range cfg.Providers {
		p.Upstream = upstream.URL
		cfg.Providers[name] = p
	}
	cfg.Tracing.FlushInterval = 5 * time.Millisecond
	return cfg, fake, upstream
}

// serveLogged is serveConfig with the gateway's JSON log kept for the test.
func serveLogged(t *testing.T, cfg config.Config, fake *fakeupstream.Server, upstream *httptest.Server) (*gateway, *syncBuffer) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case serveErr = <-done:
			case <-time.After(hangGuard):
				t.Fatalf("Serve did not return within %s of shutdown", hangGuard)
			}
		})
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return &gateway{t: t, URL: "http://" + ln.Addr().String(), fake: fake, upstream: upstream, cfg: cfg, app: a, stop: stop}, logs
}

// openStreams starts n endless chat streams through the gateway and
// returns once every one has delivered content to its client. Each
// stream's reader runs until the connection ends; wait waits for all.
func openStreams(t *testing.T, g *gateway, n int) (wait func()) {
	t.Helper()
	var started, ended sync.WaitGroup
	started.Add(n)
	ended.Add(n)
	body := `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"tell me everything"}]}`
	for range n {
		go func() {
			defer ended.Done()
			signalled := false
			defer func() {
				if !signalled {
					started.Done()
				}
			}()
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/openai/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+openAIKey)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set(fakeupstream.HeaderEvents, "100000")
			req.Header.Set(fakeupstream.HeaderInterval, "20ms")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("stream: %v", err)
				return
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			events := 0
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: {") {
					if events++; events == 3 && !signalled {
						signalled = true
						started.Done()
					}
				}
			}
		}()
	}
	started.Wait()
	return ended.Wait
}

// A gateway asked to stop while streams run lets them go on until
// server.shutdown_timeout, then cuts them. Each cut stream is traced with
// outcome gateway_shutdown and the output it delivered (estimated, as for
// a client cancel), because the trace writer gets its own drain time after
// the handlers return. Before, the writer shared the expired drain context:
// 50 cut streams left 0 traces while the log said lost_total 0.
func TestShutdownTracesTheStreamsItCuts(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		const streams = 50
		dsn := ""
		if driver == config.DriverPostgres {
			dsn = testdb.PostgresDSN(t)
		}
		cfg, fake, upstream := faultConfig(t, driver, dsn)
		cfg.Server.ShutdownTimeout = 100 * time.Millisecond
		cfg.Server.TraceDrainTimeout = time.Minute // generous: every trace must land
		g, logs := serveLogged(t, cfg, fake, upstream)

		wait := openStreams(t, g, streams)
		if err := g.stop(); err != nil {
			t.Fatalf("Serve: %v", err)
		}
		wait() // every client saw its stream end

		drained := logs.record(t, "trace writer drained")
		lost := int64(drained["lost_total"].(float64))
		written := int64(drained["written_total"].(float64))

		st, err := opener.Open(context.Background(), cfg.Storage)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		items, _, err := st.ListTraces(context.Background(), store.TraceFilter{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(items))+lost != streams || written != int64(len(items)) {
			t.Errorf("stored %d, written_total %d, lost_total %d: want stored + lost = %d", len(items), written, lost, streams)
		}
		expect(t, "lost_total", lost, 0)
		for _, r := range items {
			if r.Outcome != trace.OutcomeGatewayShutdown || r.OutputTokens <= 0 || !r.TokensEstimated || r.ResponseStatus != http.StatusOK {
				t.Errorf("trace %s: outcome %s, status %d, output_tokens %d, estimated %v; want gateway_shutdown, 200, > 0, true",
					r.ID, r.Outcome, r.ResponseStatus, r.OutputTokens, r.TokensEstimated)
			}
		}
		if m := logs.record(t, "shutdown_timeout reached: cutting requests still in flight"); m["requests"].(float64) != streams {
			t.Errorf("cut %v requests, want %d", m["requests"], streams)
		}
	})
}

// When the store is gone at shutdown, the traces of the cut streams cannot
// be stored: they are counted as lost_total and logged at error level,
// and shutdown still ends within its bounds.
func TestShutdownCountsTracesItCannotStore(t *testing.T) {
	c := testdb.StartCluster(t)
	const streams = 10
	cfg, fake, upstream := faultConfig(t, config.DriverPostgres, c.DSN())
	cfg.Server.ShutdownTimeout = 100 * time.Millisecond
	cfg.Server.TraceDrainTimeout = time.Second
	g, logs := serveLogged(t, cfg, fake, upstream)

	wait := openStreams(t, g, streams)
	c.Stop()
	if err := g.stop(); err == nil {
		t.Error("Serve returned nil although traces were lost")
	}
	wait()
	drained := logs.record(t, "trace writer drained")
	expect(t, "lost_total", drained["lost_total"].(float64), streams)
	expect(t, "written_total", drained["written_total"].(float64), 0)
	expect(t, "level", drained["level"].(string), "ERROR")
}

// A Postgres that accepts TCP but never answers used to hang `serve`
// forever with no log line. Opening the store is bounded by
// storage.connect_timeout and fails with an error naming the store.
func TestServeFailsWithinConnectTimeoutOnAHungStore(t *testing.T) {
	c := testdb.StartCluster(t)
	cfg, _, _ := faultConfig(t, config.DriverPostgres, c.DSN())
	cfg.Storage.ConnectTimeout = 500 * time.Millisecond
	c.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatalf("serve still hanging after %s on a frozen store", hangGuard)
	}
	if err == nil || !strings.Contains(err.Error(), "storage (postgres)") || !strings.Contains(err.Error(), "storage.connect_timeout") {
		t.Fatalf("serve = %v, want an error naming the store and storage.connect_timeout", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("serve returned only when the test's own guard ran out: %v", err)
	}
	logs.record(t, "opening store") // the operator sees what it waits for
}

// health and readiness with a healthy store, on both drivers.
func TestHealthIsOKAndReadyWithAHealthyStore(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		for _, path := range []string{"/api/health", "/api/health?ready=1"} {
			status, body := g.get(path)
			expect(t, path+" status", status, http.StatusOK)
			var h healthBody
			if err := json.Unmarshal([]byte(body), &h); err != nil {
				t.Fatalf("%s: %s", path, body)
			}
			expect(t, path+" status field", h.Status, "ok")
			expect(t, path+" checks.store", h.Checks.Store, "ok")
			expect(t, path+" checks.trace_writer", h.Checks.TraceWriter, "ok")
		}
		status, body := g.get("/api/health?ready=maybe")
		expectJSONError(t, "ready=maybe", status, body, http.StatusBadRequest, `invalid parameter "ready": must be 1, true, 0 or false`)
	})
}

type healthBody struct {
	Status string `json:"status"`
	Checks struct {
		Store       string `json:"store"`
		TraceWriter string `json:"trace_writer"`
	} `json:"checks"`
}

// A store that is down or hung after start: API reads answer 503 "store
// unavailable" within storage.read_timeout instead of hanging, /api/health
// says degraded (200) and its readiness answer is 503, and all recover
// once the store is back. Nothing shown to clients names the store's host,
// port, user or database.
func TestStoreOutageDegradesHealthAndAPIReads(t *testing.T) {
	c := testdb.StartCluster(t)
	dsn := c.DSN()
	cfg, fake, upstream := faultConfig(t, config.DriverPostgres, dsn)
	cfg.Storage.ReadTimeout = 500 * time.Millisecond
	cfg.Storage.HealthInterval = 50 * time.Millisecond
	g, _ := serveLogged(t, cfg, fake, upstream)
	// Cleanups run last-in first-out: thaw before the gateway stops, or
	// its drain would wait on the frozen server.
	t.Cleanup(c.Thaw)

	secrets := []string{strconv.Itoa(c.Port()), "127.0.0.1", dsn[strings.LastIndex(dsn, "/")+1:], "user="}
	if i := strings.IndexByte(secrets[2], '?'); i >= 0 {
		secrets[2] = secrets[2][:i]
	}
	noLeak := func(what, body string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q to the client: %s", what, s, body)
			}
		}
	}
	healthIs := func(want string, wantReady int) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for {
			status, body := g.get("/api/health")
			var h healthBody
			_ = json.Unmarshal([]byte(body), &h)
			if h.Status == want {
				expect(t, "health HTTP status", status, http.StatusOK)
				noLeak("/api/health", body)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("health still %q, want %q: %s", h.Status, want, body)
			}
			time.Sleep(10 * time.Millisecond)
		}
		status, body := g.get("/api/health?ready=1")
		expect(t, "ready status", status, wantReady)
		noLeak("/api/health?ready=1", body)
	}
	tracesAnswer := func(want int) {
		t.Helper()
		deadline := time.Now().Add(hangGuard)
		for {
			status, body := g.get("/api/traces")
			if status == want {
				if want != http.StatusOK {
					expectJSONError(t, "/api/traces", status, body, want, "store unavailable")
					noLeak("/api/traces", body)
				}
				return
			}
			// A restarted server first hands the pool its broken
			// connections back: those reads fail too, then it recovers.
			if time.Now().After(deadline) {
				t.Fatalf("/api/traces = %d %s, want %d", status, body, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	healthIs("ok", http.StatusOK)
	tracesAnswer(http.StatusOK)

	c.Freeze()
	tracesAnswer(http.StatusServiceUnavailable)
	status, body := g.get("/api/analytics/summary")
	expectJSONError(t, "/api/analytics/summary", status, body, http.StatusServiceUnavailable, "store unavailable")
	tenancyReadsUnavailable := func() {
		t.Helper()
		for _, path := range []string{"/api/gateway-keys", "/api/orgs", "/api/workspaces", "/api/audit"} {
			status, body := g.get(path)
			expectJSONError(t, path, status, body, http.StatusServiceUnavailable, "store unavailable")
			noLeak(path, body)
		}
	}
	tenancyReadsUnavailable()
	healthIs("degraded", http.StatusServiceUnavailable)
	c.Thaw()
	healthIs("ok", http.StatusOK)
	tracesAnswer(http.StatusOK)

	c.Stop()
	tracesAnswer(http.StatusServiceUnavailable)
	tenancyReadsUnavailable()
	healthIs("degraded", http.StatusServiceUnavailable)
	c.Start()
	healthIs("ok", http.StatusOK)
	tracesAnswer(http.StatusOK)
}

// A call the upstream has not answered yet when the drain ends is cut too:
// its client, still connected, gets 503 "gateway shutting down" rather
// than an empty 200, and its trace says gateway_shutdown with that status.
func TestShutdownAnswersCallsStillWaitingForTheUpstream(t *testing.T) {
	cfg, fake, upstream := faultConfig(t, config.DriverSQLite, "")
	cfg.Server.ShutdownTimeout = 100 * time.Millisecond
	g, _ := serveLogged(t, cfg, fake, upstream)

	type answer struct {
		status int
		body   string
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, g.URL+"/openai/v1/chat/completions",
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Authorization", "Bearer "+openAIKey)
		req.Header.Set(fakeupstream.HeaderLatency, "1h")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(body)}
	}()
	for fake.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := g.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	a := <-answered
	expectJSONError(t, "cut call", a.status, a.body, http.StatusServiceUnavailable, "gateway shutting down")

	st, err := opener.Open(context.Background(), cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	items, _, err := st.ListTraces(context.Background(), store.TraceFilter{Limit: 10})
	if err != nil || len(items) != 1 {
		t.Fatalf("traces = %d, %v; want 1", len(items), err)
	}
	expect(t, "outcome", items[0].Outcome, trace.OutcomeGatewayShutdown)
	expect(t, "response_status", items[0].ResponseStatus, http.StatusServiceUnavailable)
}
