package telemetry

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/ongoingai/gateway/internal/config"
)

// Sampling is parent-based with the configured ratio for new traces: the
// caller's decision wins, and the upstream always gets a traceparent, so
// an unsampled call stays one trace across services.
func TestSamplingIsParentBasedRatio(t *testing.T) {
	cases := []struct {
		name        string
		ratio       float64
		traceparent string
		wantSpans   bool
		wantFlags   string // of the traceparent the upstream received
	}{
		{"ratio 0, no parent: nothing recorded", 0, "", false, "00"},
		{"ratio 0, sampled parent: recorded", 0, "00-" + incomingTraceID + "-" + incomingSpanID + "-01", true, "01"},
		{"ratio 1, unsampled parent: not recorded", 1, "00-" + incomingTraceID + "-" + incomingSpanID + "-00", false, "00"},
		{"ratio 1, no parent: recorded", 1, "", true, "01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, func(o *config.Observability) { o.OTel.SamplingRatio = tc.ratio })
			headers := map[string]string{RequestIDHeader: "sampled-call"}
			if tc.traceparent != "" {
				headers["traceparent"] = tc.traceparent
			}
			c := h.client(headers)
			if _, err := c.Chat.Completions.New(context.Background(), chat("gpt-4o-mini")); err != nil {
				t.Fatal(err)
			}
			h.waitServed(1)
			h.shutdown()

			got := len(h.rc.Spans()) > 0
			if got != tc.wantSpans {
				t.Errorf("spans exported = %v, want %v", got, tc.wantSpans)
			}
			tp := h.fake.Requests()[0].Header.Get("traceparent")
			parts := strings.Split(tp, "-")
			if len(parts) != 4 || parts[3] != tc.wantFlags {
				t.Fatalf("upstream traceparent = %q, want flags %s", tp, tc.wantFlags)
			}
			if tc.traceparent != "" && parts[1] != incomingTraceID {
				t.Errorf("upstream trace id = %s, want the caller's %s", parts[1], incomingTraceID)
			}
			if parts[2] == incomingSpanID {
				t.Errorf("upstream parent is the caller's span; want the gateway's client span")
			}
		})
	}
}

// A collector that hangs must not hold up a single request: spans wait in
// the batch processor's bounded queue and metrics in the reader, never in
// the request path.
func TestStuckCollectorNeverBlocksRequests(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	client := h.client(nil)
	if _, err := client.Chat.Completions.New(ctx, chat("gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}

	release := h.rc.holdExports()
	flushed := make(chan error, 1)
	go func() { flushed <- h.tel.ForceFlush(ctx) }()
	<-h.rc.arrived // an export is now stuck inside the collector

	for i := range 20 {
		res, err := client.Chat.Completions.New(ctx, chat("gpt-4o-mini"))
		if err != nil {
			t.Fatalf("call %d while the collector hangs: %v", i, err)
		}
		if res.Usage.TotalTokens == 0 {
			t.Fatalf("call %d: no usage", i)
		}
	}
	h.waitServed(21)
	if n := len(h.accessLines()); n != 21 {
		t.Errorf("%d access lines while the collector hangs, want 21", n)
	}
	select {
	case err := <-flushed:
		t.Fatalf("flush finished while the collector was still holding it: %v", err)
	default:
	}
	release()
	if err := <-flushed; err != nil {
		t.Errorf("flush after release: %v", err)
	}
}

// A collector that rejects exports costs the proxy nothing, and the
// failure is logged as a structured warning.
func TestRejectingCollectorIsLoggedNotFelt(t *testing.T) {
	h := newHarness(t)
	h.rc.failWith(http.StatusBadRequest) // not retryable: fails at once
	client := h.client(nil)
	for i := range 5 {
		if _, err := client.Chat.Completions.New(context.Background(), chat("gpt-4o-mini")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	h.waitServed(5)
	if err := h.tel.ForceFlush(context.Background()); err == nil {
		t.Errorf("ForceFlush against a rejecting collector reported no error")
	}
	if len(h.rc.Spans()) != 0 {
		t.Errorf("rejected spans were recorded")
	}
	// Background exports (the batch timer, the periodic reader) report
	// through OTel's error handler, which New points at the logger.
	otel.Handle(errors.New("export: 400 Bad Request"))
	otel.Handle(errors.New("export: 400 Bad Request"))
	if n := strings.Count(h.logs.String(), "telemetry export failed"); n != 1 {
		t.Errorf("export failure logged %d times, want once (rate limited):\n%s", n, h.logs.String())
	}
}

// With OTel off the middleware still assigns request ids and logs, and the
// proxy's outgoing request is left exactly as the client sent it.
func TestDisabledTelemetryPassesTraceContextThrough(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) {
		o.OTel.Enabled = false
		o.Prometheus.Enabled = false
	})
	if h.tel.tracing || h.tel.metrics {
		t.Fatal("providers built although every signal is off")
	}
	tp := "00-" + incomingTraceID + "-" + incomingSpanID + "-01"
	c := h.client(map[string]string{"traceparent": tp, RequestIDHeader: "off-1"})
	var resp *http.Response
	if _, err := c.Chat.Completions.New(context.Background(), chat("gpt-4o-mini"), option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	if got := h.fake.Requests()[0].Header.Get("traceparent"); got != tp {
		t.Errorf("upstream traceparent = %q, want the client's %q untouched", got, tp)
	}
	if resp.Header.Get(RequestIDHeader) != "off-1" {
		t.Errorf("request id not echoed with telemetry off")
	}
	h.waitServed(1)
	line := h.accessLine("off-1")
	// Logs still join the caller's trace.
	expectAttrs(t, "access line", line, map[string]any{"trace_id": incomingTraceID, "span_id": incomingSpanID, "provider": "openai", "outcome": "ok"})

	res, err := http.Get(h.gw.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics with Prometheus off: %d, want 404", res.StatusCode)
	}
	h.waitServed(2)
	h.shutdown()
	if len(h.rc.payloads) != 0 {
		t.Errorf("something was exported with OTel off")
	}
}

// OTel on for metrics only: no spans, but the traceparent of the caller
// still reaches the upstream unchanged.
func TestMetricsOnlyDoesNotTouchTraceContext(t *testing.T) {
	h := newHarness(t, func(o *config.Observability) { o.OTel.TracesEnabled = false })
	tp := "00-" + incomingTraceID + "-" + incomingSpanID + "-01"
	c := h.client(map[string]string{"traceparent": tp})
	if _, err := c.Chat.Completions.New(context.Background(), chat("gpt-4o-mini")); err != nil {
		t.Fatal(err)
	}
	h.waitServed(1)
	h.shutdown()
	if got := h.fake.Requests()[0].Header.Get("traceparent"); got != tp {
		t.Errorf("upstream traceparent = %q, want %q", got, tp)
	}
	if len(h.rc.Spans()) != 0 {
		t.Errorf("spans exported with traces disabled")
	}
	pointWith(t, h.rc.Metric("gen_ai.client.token.usage"), map[string]any{"gen_ai.token.type": "input"})
}

// Requests that never reach the proxy (API calls, scrapes, unknown paths,
// and provider paths refused by auth) are classified from the path alone.
func TestRouteClasses(t *testing.T) {
	h := newHarness(t)
	for _, p := range []string{"/api/health", "/nowhere", "/metrics"} {
		res, err := http.Get(h.gw.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	h.waitServed(3)
	h.shutdown()
	reqs := h.rc.Metric(MetricRequests)
	pointWith(t, reqs, map[string]any{"route_class": RouteClassAPI, "provider": "none", "status_class": "2xx"})
	pointWith(t, reqs, map[string]any{"route_class": RouteClassOther, "status_class": "4xx"})
	pointWith(t, reqs, map[string]any{"route_class": RouteClassMetrics, "status_class": "2xx"})
	server := spanNamed(t, h.rc.Spans(), tracepb.Span_SPAN_KIND_SERVER, "GET /api/health")
	expectAttrs(t, "api span", attrMap(server.Attributes), map[string]any{"http.route": "/api/health"})

	if got := h.tel.routeClass("/openai/v1/models", h.tel.providerOf("/openai/v1/models")); got != RouteClassProxy {
		t.Errorf("a provider path refused before the proxy is class %q, want proxy", got)
	}
	if got := h.tel.providerOf("/openaiX/v1"); got != "" {
		t.Errorf("/openaiX matched provider %q; prefixes are segment-safe", got)
	}
}
