package telemetry

import (
	"context"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/trace"
)

const (
	incomingTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID  = "00f067aa0ba902b7"
)

func chat(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

// spansWithRequestID returns the spans of one request, found by the
// request id both of its spans carry.
func spansWithRequestID(spans []*tracepb.Span, id string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if attrMap(s.Attributes)[string(AttrRequestID)] == id {
			out = append(out, s)
		}
	}
	return out
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

// A story: an application with its own tracing calls the gateway through
// the OpenAI SDK, once plainly and once streaming. Its trace continues
// through the gateway's server span and client span to the upstream, the
// client span carries the GenAI attributes of the call, the GenAI and
// gateway metrics count it, and the access log names it, all without a
// credential in sight.
func TestCallsAreTracedMeasuredAndLogged(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()

	// 1. A plain chat call continuing the caller's trace.
	var resp *http.Response
	client := h.client(map[string]string{
		"traceparent":                      "00-" + incomingTraceID + "-" + incomingSpanID + "-01",
		RequestIDHeader:                    "app-req.0001",
		fakeupstream.HeaderInputTokens:     "20",
		fakeupstream.HeaderCachedTokens:    "3",
		fakeupstream.HeaderReasoningTokens: "2",
		fakeupstream.HeaderEvents:          "4",
		fakeupstream.HeaderResponseModel:   "dated",
	})
	res, err := client.Chat.Completions.New(ctx, chat("gpt-4o-mini"), option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if res.Usage.PromptTokens != 20 || res.Usage.CompletionTokens != 6 {
		t.Fatalf("usage = %+v", res.Usage)
	}
	if got := resp.Header.Get(RequestIDHeader); got != "app-req.0001" {
		t.Errorf("response X-Request-ID = %q, want the client's id echoed", got)
	}
	if got := resp.Header.Values(RequestIDHeader); len(got) != 1 {
		t.Errorf("response X-Request-ID has %d values %q, want exactly one", len(got), got)
	}
	if got := resp.Header.Get(UpstreamRequestIDHeader); !strings.HasPrefix(got, "req_") {
		t.Errorf("X-Upstream-Request-ID = %q, want the upstream's own request id", got)
	}

	// 2. A streamed call, with its own trace.
	streamClient := h.client(map[string]string{
		RequestIDHeader:                "app-req.0002",
		fakeupstream.HeaderInputTokens: "30",
		fakeupstream.HeaderEvents:      "5",
	})
	stream := streamClient.Chat.Completions.NewStreaming(ctx, chat("gpt-4o-mini"))
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()

	// 3. A model the price catalog does not know.
	unknownClient := h.client(map[string]string{RequestIDHeader: "app-req.0003"})
	if _, err := unknownClient.Chat.Completions.New(ctx, chat("acme-llm-7")); err != nil {
		t.Fatal(err)
	}

	// 4. An upstream rate limit.
	limitedClient := h.client(map[string]string{RequestIDHeader: "app-req.0004", fakeupstream.HeaderStatus: "429"})
	_, err = limitedClient.Chat.Completions.New(ctx, chat("gpt-4o-mini"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
		t.Fatalf("want a 429 from the upstream, got %v", err)
	}

	h.tel.ObserveWriter(fixedStats)
	h.waitServed(4)
	h.shutdown()

	// Spans of call 1: server span continuing the caller, client span under it.
	spans := spansWithRequestID(h.rc.Spans(), "app-req.0001")
	server := spanNamed(t, spans, tracepb.Span_SPAN_KIND_SERVER, "POST")
	client1 := spanNamed(t, spans, tracepb.Span_SPAN_KIND_CLIENT, "chat")
	if hexID(server.TraceId) != incomingTraceID || hexID(server.ParentSpanId) != incomingSpanID {
		t.Errorf("server span trace/parent = %s/%s, want the caller's %s/%s",
			hexID(server.TraceId), hexID(server.ParentSpanId), incomingTraceID, incomingSpanID)
	}
	if server.Name != "POST /openai/*" {
		t.Errorf("server span name = %q, want method and route", server.Name)
	}
	if hexID(client1.TraceId) != incomingTraceID || hexID(client1.ParentSpanId) != hexID(server.SpanId) {
		t.Errorf("client span is not a child of the server span")
	}
	if client1.Name != "chat gpt-4o-mini" {
		t.Errorf("client span name = %q, want \"chat gpt-4o-mini\"", client1.Name)
	}
	expectAttrs(t, "server span", attrMap(server.Attributes), map[string]any{
		"http.request.method":       "POST",
		"http.route":                "/openai/*",
		"http.response.status_code": int64(200),
		"url.path":                  "/openai/v1/chat/completions",
	})
	rec := h.record("app-req.0001")
	upstreamURL := mustURL(t, h.upstream.URL)
	expectAttrs(t, "client span", attrMap(client1.Attributes), map[string]any{
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "openai",
		"gen_ai.request.model":                 "gpt-4o-mini",
		"gen_ai.response.model":                rec.Model,
		"gen_ai.usage.input_tokens":            int64(20),
		"gen_ai.usage.output_tokens":           int64(6),
		"gen_ai.usage.cache_read.input_tokens": int64(3),
		"gen_ai.usage.reasoning.output_tokens": int64(2),
		"gen_ai.response.finish_reasons":       `["stop"]`,
		"server.address":                       upstreamURL.Hostname(),
		"server.port":                          mustPort(t, upstreamURL),
		"http.response.status_code":            int64(200),
		string(AttrOrgID):                      "org_1",
		string(AttrWorkspaceID):                "ws_1",
		string(AttrGatewayKeyID):               "gk_1",
		string(AttrOutcome):                    "ok",
		string(AttrEstimatedCost):              rec.EstimatedCostUSD,
		string(AttrPriced):                     true,
		string(AttrRecordID):                   rec.ID,
		string(AttrRequestID):                  "app-req.0001",
	})
	if rec.Model == "gpt-4o-mini" || !strings.HasPrefix(rec.Model, "gpt-4o-mini-") {
		t.Errorf("test setup: response model %q should be a dated snapshot", rec.Model)
	}
	if rec.EstimatedCostUSD <= 0 {
		t.Errorf("test setup: call 1 should be priced, got %v", rec.EstimatedCostUSD)
	}

	// The upstream saw the gateway's client span as its parent.
	upstreamReq := h.fake.Requests()[0]
	wantTP := "00-" + incomingTraceID + "-" + hexID(client1.SpanId) + "-01"
	if got := upstreamReq.Header.Get("traceparent"); got != wantTP {
		t.Errorf("upstream traceparent = %q, want %q", got, wantTP)
	}
	if got := upstreamReq.Header.Get(RequestIDHeader); got != "app-req.0001" {
		t.Errorf("upstream X-Request-ID = %q, want the request id forwarded", got)
	}

	// The streamed call: a fresh trace (no traceparent), time to first chunk.
	spans2 := spansWithRequestID(h.rc.Spans(), "app-req.0002")
	client2 := spanNamed(t, spans2, tracepb.Span_SPAN_KIND_CLIENT, "chat")
	server2 := spanNamed(t, spans2, tracepb.Span_SPAN_KIND_SERVER, "POST")
	if len(server2.ParentSpanId) != 0 {
		t.Errorf("a request without traceparent should start a root span")
	}
	a2 := attrMap(client2.Attributes)
	expectAttrs(t, "stream span", a2, map[string]any{
		"gen_ai.usage.input_tokens":      int64(30),
		"gen_ai.usage.output_tokens":     int64(5),
		"gen_ai.response.finish_reasons": `["stop"]`,
		string(AttrStreaming):            true,
	})
	if ttfc, ok := a2["gen_ai.response.time_to_first_chunk"].(float64); !ok || ttfc <= 0 {
		t.Errorf("stream span time_to_first_chunk = %v, want a positive number of seconds", a2["gen_ai.response.time_to_first_chunk"])
	}

	// The failed call is an error span with the status as error.type.
	client4 := spanNamed(t, spansWithRequestID(h.rc.Spans(), "app-req.0004"), tracepb.Span_SPAN_KIND_CLIENT, "chat")
	expectAttrs(t, "429 span", attrMap(client4.Attributes), map[string]any{
		"error.type":        "429",
		string(AttrOutcome): "upstream_error",
	})
	if client4.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("429 client span status = %v, want error", client4.Status.GetCode())
	}
	if r, ok := attrMap(client4.Attributes)["gen_ai.response.finish_reasons"]; ok {
		t.Errorf("429 client span has finish reasons %v: an error body gives none", r)
	}

	// Resource.
	if h.rc.resource["service.name"] != "ongoingai-gateway" || h.rc.resource["service.version"] != "test" {
		t.Errorf("resource = %v", h.rc.resource)
	}

	// GenAI metrics, with the response model bounded to its catalog name.
	tokens := h.rc.Metric("gen_ai.client.token.usage")
	// Call 1 answered as a dated snapshot and call 2 as the plain name:
	// one series, because labels carry the catalog name.
	in := pointWith(t, tokens, map[string]any{
		"gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o-mini",
		"gen_ai.response.model": "gpt-4o-mini", "gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
		"server.address": upstreamURL.Hostname(),
	})
	if in.count != 2 || in.value != 50 {
		t.Errorf("input tokens of gpt-4o-mini calls = count %d sum %v, want 2 and 50 (the 429 has no usage)", in.count, in.value)
	}
	for _, p := range metricPoints(tokens) {
		if p.attrs["gen_ai.response.model"] == rec.Model {
			t.Errorf("a dated snapshot name became a metric label: %v", p.attrs)
		}
	}
	out := sumPoints(tokens, map[string]any{"gen_ai.token.type": "output", "gen_ai.request.model": "gpt-4o-mini"})
	if out.value != 11 {
		t.Errorf("output tokens = %v, want 6+5", out.value)
	}
	pointWith(t, tokens, map[string]any{"gen_ai.request.model": ModelOther, "gen_ai.response.model": ModelOther})
	for _, p := range metricPoints(tokens) {
		if p.attrs["gen_ai.request.model"] == "acme-llm-7" || p.attrs["gen_ai.response.model"] == "acme-llm-7" {
			t.Errorf("an unknown model became a metric label: %v", p.attrs)
		}
	}
	dur := h.rc.Metric("gen_ai.client.operation.duration")
	if p := pointWith(t, dur, map[string]any{"error.type": "429"}); p.count != 1 {
		t.Errorf("operation.duration with error.type 429: count %d, want 1", p.count)
	}
	if p := sumPoints(dur, map[string]any{"gen_ai.operation.name": "chat"}); p.count != 4 {
		t.Errorf("operation.duration count = %d, want 4 calls", p.count)
	}
	if p := pointWith(t, h.rc.Metric("gen_ai.client.operation.time_to_first_chunk"), map[string]any{"gen_ai.request.model": "gpt-4o-mini"}); p.count != 1 {
		t.Errorf("time_to_first_chunk count = %d, want the one stream", p.count)
	}

	// Gateway request metrics and cost.
	reqs := h.rc.Metric(MetricRequests)
	if p := pointWith(t, reqs, map[string]any{"provider": "openai", "route_class": "proxy", "status_class": "2xx"}); p.value != 3 {
		t.Errorf("2xx proxy requests = %v, want 3", p.value)
	}
	if p := pointWith(t, reqs, map[string]any{"provider": "openai", "route_class": "proxy", "status_class": "4xx"}); p.value != 1 {
		t.Errorf("4xx proxy requests = %v, want 1", p.value)
	}
	if p := pointWith(t, h.rc.Metric(MetricRequestDuration), map[string]any{"status_class": "2xx"}); p.count != 3 {
		t.Errorf("request duration count = %d, want 3", p.count)
	}
	wantCost := h.record("app-req.0001").EstimatedCostUSD + h.record("app-req.0002").EstimatedCostUSD
	if p := pointWith(t, h.rc.Metric(MetricEstimatedCost), map[string]any{"provider": "openai", "model": "gpt-4o-mini"}); math.Abs(p.value-wantCost) > 1e-12 {
		t.Errorf("estimated cost = %v, want %v", p.value, wantCost)
	}
	for _, m := range []string{MetricRequests, MetricEstimatedCost, "gen_ai.client.token.usage", "gen_ai.client.operation.duration"} {
		for _, p := range metricPoints(h.rc.Metric(m)) {
			for k := range p.attrs {
				if strings.Contains(k, "org") || strings.Contains(k, "key") || strings.Contains(k, "path") || strings.Contains(k, "request_id") {
					t.Errorf("%s has a high-cardinality label %q", m, k)
				}
			}
		}
	}

	// Trace pipeline gauges and counters from Writer.Stats.
	if p := pointWith(t, h.rc.Metric(MetricTraceQueueDepth), nil); p.value != 7 {
		t.Errorf("queue depth = %v, want 7", p.value)
	}
	if p := pointWith(t, h.rc.Metric(MetricTraceDropped), nil); p.value != 4 {
		t.Errorf("dropped = %v, want 4", p.value)
	}
	if p := pointWith(t, h.rc.Metric(MetricTraceFlushDuration), nil); p.value != 0.0125 {
		t.Errorf("flush duration = %v s, want 0.0125", p.value)
	}
	// Write failures: one series per class, zeros included, and no other.
	failures := h.rc.Metric(MetricTraceWriteFailures)
	for class, want := range map[string]float64{"timeout": 1, "connection": 1, "constraint": 0, "other": 0} {
		if p := pointWith(t, failures, map[string]any{"error.type": class}); p.value != want {
			t.Errorf("write failures of class %s = %v, want %v", class, p.value, want)
		}
	}
	if n := len(metricPoints(failures)); n != len(trace.FailureClasses) {
		t.Errorf("%d write-failure series, want one per class (%d)", n, len(trace.FailureClasses))
	}

	// Access log: one line per request, correlated with the trace.
	if n := len(h.accessLines()); n != 4 {
		t.Errorf("%d access lines, want 4:\n%s", n, h.logs.String())
	}
	line := h.accessLine("app-req.0001")
	expectAttrs(t, "access line", line, map[string]any{
		"method":        "POST",
		"route":         "/openai/*",
		"status":        float64(200),
		"provider":      "openai",
		"model":         rec.Model,
		"input_tokens":  float64(20),
		"output_tokens": float64(6),
		"outcome":       "ok",
		"trace_id":      incomingTraceID,
		"span_id":       hexID(server.SpanId),
	})
	if _, ok := line["latency_ms"].(float64); !ok {
		t.Errorf("access line has no latency_ms: %v", line)
	}

	// No credential anywhere.
	h.rc.assertNoSecrets(t, secrets...)
	for _, s := range secrets {
		if strings.Contains(h.logs.String(), s) {
			t.Errorf("logs contain secret %q", s)
		}
	}
}

// fixedStats stands in for trace.Writer.Stats with distinctive numbers.
func fixedStats() trace.Stats {
	return trace.Stats{
		Capacity: 100, Depth: 7, HighWater: 9, Enqueued: 50, Written: 39, Dropped: 4,
		WriteFailures: 2, WriteFailuresByClass: map[string]int64{"timeout": 1, "connection": 1, "constraint": 0, "other": 0},
		LastFlushAt: time.Unix(1700000000, 0), LastFlushDuration: 12.5, LastBatchSize: 13,
	}
}

func mustPort(t *testing.T, u *url.URL) int64 {
	t.Helper()
	p, err := strconv.ParseInt(u.Port(), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func expectAttrs(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: missing %s (want %v)", what, k, v)
		} else if g != v {
			t.Errorf("%s: %s = %v (%T), want %v (%T)", what, k, g, g, v, v)
		}
	}
}

// sumPoints adds up the points matching want.
func sumPoints(m *metricspb.Metric, want map[string]any) dataPoint {
	var total dataPoint
	for _, p := range metricPoints(m) {
		if includes(p.attrs, want) {
			total.value += p.value
			total.count += p.count
		}
	}
	return total
}

// The Anthropic dialect, streamed: cache reads and writes reach the span,
// and the provider name is Anthropic's.
func TestAnthropicStreamSpan(t *testing.T) {
	h := newHarness(t)
	c := h.anthropic(map[string]string{
		RequestIDHeader:                     "ant-1",
		fakeupstream.HeaderInputTokens:      "40",
		fakeupstream.HeaderCachedTokens:     "8",
		fakeupstream.HeaderCacheWriteTokens: "4",
		fakeupstream.HeaderEvents:           "3",
	})
	stream := c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 64,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	})
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()
	h.waitServed(1)
	h.shutdown()

	rec := h.record("ant-1")
	span := spanNamed(t, spansWithRequestID(h.rc.Spans(), "ant-1"), tracepb.Span_SPAN_KIND_CLIENT, "chat claude-sonnet-4-5")
	expectAttrs(t, "anthropic span", attrMap(span.Attributes), map[string]any{
		"gen_ai.provider.name":                     "anthropic",
		"gen_ai.operation.name":                    "chat",
		"gen_ai.usage.input_tokens":                rec.InputTokens,
		"gen_ai.usage.output_tokens":               int64(3),
		"gen_ai.usage.cache_read.input_tokens":     int64(8),
		"gen_ai.usage.cache_creation.input_tokens": int64(4),
		"gen_ai.response.finish_reasons":           `["end_turn"]`,
		string(AttrStreaming):                      true,
	})
	if rec.InputTokens != 52 {
		t.Errorf("test setup: anthropic input tokens = %d, want 40+8+4 normalised", rec.InputTokens)
	}
	h.rc.assertNoSecrets(t, secrets...)
}
