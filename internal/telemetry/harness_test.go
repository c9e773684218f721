package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/go-chi/chi/v5"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/trace"
)

// Credentials the tests send; none may appear in telemetry or logs.
const (
	providerKey      = "sk-proj-PROVIDERSECRET0001"
	gatewayKey       = "ogw_GATEWAYSECRET0002"
	gatewayKeyHeader = "X-Ongoingai-Gateway-Key"
	cookieValue      = "COOKIESECRET0003"
)

var secrets = []string{providerKey, gatewayKey, cookieValue}

// The proxy must accept the telemetry as its call observer.
var _ proxy.CallObserver = (*Telemetry)(nil)

// harness is a small gateway: the telemetry middleware in front of a chi
// router that mounts a real proxy for "openai" at /openai, whose upstream
// is the fake, plus the metrics handler. Records the proxy finishes are
// kept for comparison with what telemetry reported.
type harness struct {
	t        *testing.T
	tel      *Telemetry
	rc       *receiver
	fake     *fakeupstream.Server
	upstream *httptest.Server
	gw       *httptest.Server
	logs     *syncBuffer

	mu      sync.Mutex
	records []trace.Record

	// served counts requests whose handler chain, the middleware's
	// bookkeeping included, has returned. A client can read a complete
	// response before that, so tests wait on it instead of sleeping.
	servedMu   sync.Mutex
	servedCond *sync.Cond
	served     int
}

// newHarness builds the chain with OTLP traces and metrics pointed at an
// in-process receiver and Prometheus on; mutate adjusts the settings.
func newHarness(t *testing.T, mutate ...func(*config.Observability)) *harness {
	t.Helper()
	h := &harness{t: t, rc: newReceiver(t), logs: &syncBuffer{}}
	h.servedCond = sync.NewCond(&h.servedMu)
	h.fake = fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(h.fake)
	h.upstream = upstream
	t.Cleanup(func() { h.fake.Close(); upstream.Close() })

	obs := config.Default().Observability
	obs.OTel.Enabled = true
	obs.OTel.Endpoint = h.rc.srv.URL
	// Exports happen only when a test flushes or shuts down, so what the
	// receiver holds never depends on timing.
	obs.OTel.ExportInterval = time.Hour
	obs.Prometheus.Enabled = true
	obs.Log.Level = "debug"
	for _, m := range mutate {
		m(&obs)
	}
	providersCfg := map[string]config.Provider{
		"openai":    {Upstream: upstream.URL, Prefix: "/openai", Format: config.FormatOpenAI},
		"anthropic": {Upstream: upstream.URL, Prefix: "/anthropic", Format: config.FormatAnthropic},
	}
	logger := NewLogger(obs.Log, h.logs)
	tel, err := New(context.Background(), obs, Options{Version: "test", Logger: logger, Providers: providersCfg})
	if err != nil {
		t.Fatal(err)
	}
	h.tel = tel
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		tel.Shutdown(ctx)
	})

	px := proxy.New(proxy.Options{
		InjectStreamUsage:  true,
		CaptureHeaderNames: []string{"*"},
		GatewayKeyHeader:   gatewayKeyHeader,
		Traces:             h,
		Identity: func(*http.Request) proxy.Identity {
			return proxy.Identity{OrgID: "org_1", WorkspaceID: "ws_1", GatewayKeyID: "gk_1"}
		},
		Calls:  tel,
		Logger: logger,
	})
	r := chi.NewRouter()
	r.Use(tel.Middleware)
	ph := px.Handler(&proxy.Upstream{Name: "openai", Prefix: "/openai", Target: mustURL(t, upstream.URL), Adapter: providers.OpenAI()})
	r.Handle("/openai", ph)
	r.Handle("/openai/*", ph)
	ah := px.Handler(&proxy.Upstream{Name: "anthropic", Prefix: "/anthropic", Target: mustURL(t, upstream.URL), Adapter: providers.Anthropic()})
	r.Handle("/anthropic/*", ah)
	r.Method(http.MethodGet, obs.Prometheus.Path, tel.MetricsHandler())
	r.Get("/api/health", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"ok"}`)) })
	h.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		defer func() {
			h.servedMu.Lock()
			h.served++
			h.servedMu.Unlock()
			h.servedCond.Broadcast()
		}()
		r.ServeHTTP(w, req)
	}))
	t.Cleanup(h.gw.Close)
	return h
}

// waitServed blocks until n requests have been completely handled.
func (h *harness) waitServed(n int) {
	h.servedMu.Lock()
	defer h.servedMu.Unlock()
	for h.served < n {
		h.servedCond.Wait()
	}
}

// Enqueue implements proxy.Enqueuer.
func (h *harness) Enqueue(r *trace.Record) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, *r)
	return true
}

// record returns the trace record of the call with request id id; the
// request id reaches the record through the captured request headers.
func (h *harness) record(id string) trace.Record {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.records {
		if r.RequestHeaders[http.CanonicalHeaderKey(RequestIDHeader)] == id {
			return r
		}
	}
	h.t.Fatalf("no trace record for request id %q", id)
	return trace.Record{}
}

// client is the official OpenAI SDK pointed at the gateway, sending the
// credentials the leak checks look for plus extra headers.
func (h *harness) client(headers map[string]string) openai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(h.gw.URL + "/openai/v1/"),
		option.WithAPIKey(providerKey),
		option.WithMaxRetries(0),
		option.WithHeader(gatewayKeyHeader, gatewayKey),
		option.WithHeader("Cookie", "session="+cookieValue),
	}
	for k, v := range headers {
		opts = append(opts, option.WithHeader(k, v))
	}
	return openai.NewClient(opts...)
}

// anthropic is the official Anthropic SDK pointed at the gateway.
func (h *harness) anthropic(headers map[string]string) anthropic.Client {
	opts := []anthropicoption.RequestOption{
		anthropicoption.WithBaseURL(h.gw.URL + "/anthropic"),
		anthropicoption.WithAPIKey(providerKey),
		anthropicoption.WithMaxRetries(0),
		anthropicoption.WithHeader(gatewayKeyHeader, gatewayKey),
	}
	for k, v := range headers {
		opts = append(opts, anthropicoption.WithHeader(k, v))
	}
	return anthropic.NewClient(opts...)
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (h *harness) shutdown() {
	h.t.Helper()
	if err := h.tel.Shutdown(context.Background()); err != nil {
		h.t.Fatalf("Shutdown: %v", err)
	}
}

// accessLines returns the parsed access log lines.
func (h *harness) accessLines() []map[string]any {
	h.t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

func (h *harness) accessLine(requestID string) map[string]any {
	h.t.Helper()
	for _, l := range h.accessLines() {
		if l["request_id"] == requestID {
			return l
		}
	}
	h.t.Fatalf("no access line with request_id %q in:\n%s", requestID, h.logs.String())
	return nil
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
