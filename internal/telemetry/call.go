package telemetry

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/semconv/v1.41.0/genaiconv"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/ongoingai/gateway/internal/trace"
)

// Gateway span attributes. They mirror the trace record's JSON names, so a
// span and its stored trace read alike.
const (
	AttrRequestID       = attribute.Key("ongoingai.request_id")
	AttrRecordID        = attribute.Key("ongoingai.record_id")
	AttrOrgID           = attribute.Key("ongoingai.org_id")
	AttrWorkspaceID     = attribute.Key("ongoingai.workspace_id")
	AttrGatewayKeyID    = attribute.Key("ongoingai.gateway_key_id")
	AttrOutcome         = attribute.Key("ongoingai.outcome")
	AttrEstimatedCost   = attribute.Key("ongoingai.estimated_cost_usd")
	AttrPriced          = attribute.Key("ongoingai.priced")
	AttrTokensEstimated = attribute.Key("ongoingai.tokens_estimated")
	AttrStreaming       = attribute.Key("ongoingai.streaming")
)

// ModelOther is the model label of metrics for models outside the price
// catalog: client-chosen names must not mint new time series.
const ModelOther = "other"

// StartCall implements proxy.CallObserver. It starts the client span of one
// upstream call and writes its traceparent into r's headers, which the
// proxy copies to the outgoing request; a client's own traceparent is
// replaced, so the upstream sees the gateway's span as its parent. The
// returned end func records the span's GenAI attributes and the call's
// metrics from the finished trace record.
func (t *Telemetry) StartCall(ctx context.Context, provider string, r *http.Request) (context.Context, func(*trace.Record)) {
	c := &upstreamCall{
		t:        t,
		ex:       exchangeFrom(ctx),
		provider: provider,
		op:       operationName(r.URL.Path),
		server:   t.upstreams[provider],
		start:    time.Now(),
	}
	if c.ex != nil {
		c.ex.provider = provider
	}
	if t.tracing {
		// The name is refined to "{operation} {model}" at the end, once
		// the record says which model was asked for; an endpoint that is
		// not a GenAI operation keeps the HTTP client span name.
		name := r.Method
		if c.op != "" {
			name = c.op
		}
		attrs := make([]attribute.KeyValue, 0, 5)
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(provider), semconv.HTTPRequestMethodKey.String(r.Method))
		if c.op != "" {
			attrs = append(attrs, semconv.GenAIOperationNameKey.String(c.op))
		}
		if c.server.host != "" {
			attrs = append(attrs, semconv.ServerAddress(c.server.host), semconv.ServerPort(c.server.port))
		}
		ctx, c.span = t.tracer.Start(ctx, name,
			oteltrace.WithSpanKind(oteltrace.SpanKindClient),
			oteltrace.WithAttributes(attrs...))
		t.propagator.Inject(ctx, propagation.HeaderCarrier(r.Header))
	}
	c.ctx = ctx
	return ctx, c.end
}

// upstreamCall is one call between StartCall and its end.
type upstreamCall struct {
	t        *Telemetry
	ctx      context.Context
	ex       *exchange
	span     oteltrace.Span
	provider string
	op       string
	server   serverAddr
	start    time.Time
}

func (c *upstreamCall) end(rec *trace.Record) {
	elapsed := time.Since(c.start)
	if c.ex != nil {
		c.ex.call = &callSummary{
			model:        rec.Model,
			inputTokens:  rec.InputTokens,
			outputTokens: rec.OutputTokens,
			outcome:      rec.Outcome,
			costUSD:      rec.EstimatedCostUSD,
		}
	}
	errType := errorType(rec)
	if c.span != nil {
		c.endSpan(rec, errType)
	}
	if c.t.metrics {
		c.record(rec, errType, elapsed)
	}
}

// endSpan completes the client span. Identity and cost go on the span, not
// on metrics: spans are per call, metrics must stay low-cardinality.
func (c *upstreamCall) endSpan(rec *trace.Record, errType string) {
	s := c.span
	if !s.IsRecording() {
		s.End() // sampled out: nothing to describe
		return
	}
	if c.op != "" && rec.RequestModel != "" {
		s.SetName(c.op + " " + rec.RequestModel)
	}
	attrs := make([]attribute.KeyValue, 0, 24)
	attrs = append(attrs,
		semconv.HTTPResponseStatusCode(rec.ResponseStatus),
		AttrOutcome.String(string(rec.Outcome)),
		AttrRecordID.String(rec.ID),
		AttrStreaming.Bool(rec.Streaming),
	)
	if c.ex != nil {
		attrs = append(attrs, AttrRequestID.String(c.ex.requestID))
	}
	if rec.RequestModel != "" {
		attrs = append(attrs, semconv.GenAIRequestModel(rec.RequestModel))
	}
	if rec.Model != "" && rec.ResponseStatus < 400 {
		attrs = append(attrs, semconv.GenAIResponseModel(rec.Model))
	}
	if c.op != "" && rec.Outcome != trace.OutcomeUpstreamUnreachable {
		attrs = append(attrs,
			semconv.GenAIUsageInputTokensKey.Int64(rec.InputTokens),
			semconv.GenAIUsageOutputTokensKey.Int64(rec.OutputTokens))
		if rec.CachedInputTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokensKey.Int64(rec.CachedInputTokens))
		}
		if rec.CacheWriteTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokensKey.Int64(rec.CacheWriteTokens))
		}
		if rec.ReasoningTokens > 0 {
			attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokensKey.Int64(rec.ReasoningTokens))
		}
		if rec.TokensEstimated {
			attrs = append(attrs, AttrTokensEstimated.Bool(true))
		}
	}
	if len(rec.FinishReasons) > 0 {
		// Bounded by the observer (a few short values), so safe on a span.
		attrs = append(attrs, semconv.GenAIResponseFinishReasons(rec.FinishReasons...))
	}
	if rec.Streaming && rec.TimeToFirstTokenUS > 0 {
		attrs = append(attrs, semconv.GenAIResponseTimeToFirstChunk(float64(rec.TimeToFirstTokenUS)/1e6))
	}
	if rec.Priced {
		attrs = append(attrs, AttrPriced.Bool(true), AttrEstimatedCost.Float64(rec.EstimatedCostUSD))
	} else {
		attrs = append(attrs, AttrPriced.Bool(false))
	}
	if rec.OrgID != "" {
		attrs = append(attrs, AttrOrgID.String(rec.OrgID))
	}
	if rec.WorkspaceID != "" {
		attrs = append(attrs, AttrWorkspaceID.String(rec.WorkspaceID))
	}
	if rec.GatewayKeyID != "" {
		attrs = append(attrs, AttrGatewayKeyID.String(rec.GatewayKeyID))
	}
	if errType != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
		if rec.Outcome != trace.OutcomeClientCancelled {
			s.SetStatus(codes.Error, string(rec.Outcome))
		}
	}
	s.SetAttributes(attrs...)
	s.End()
}

// record adds the call to the GenAI client metrics and the cost counter.
// Calls to endpoints that are not a GenAI operation (model lists, files)
// stay out of the GenAI metrics; the request metrics still count them.
func (c *upstreamCall) record(rec *trace.Record, errType string, elapsed time.Duration) {
	t := c.t
	ctx := c.ctx
	reqModel := t.modelLabel(rec.RequestModel)
	if c.op != "" {
		attrs := make([]attribute.KeyValue, 0, 5)
		if reqModel != "" {
			attrs = append(attrs, semconv.GenAIRequestModel(reqModel))
		}
		if rec.ResponseStatus < 400 {
			if m := t.modelLabel(rec.Model); m != "" {
				attrs = append(attrs, semconv.GenAIResponseModel(m))
			}
		}
		if c.server.host != "" {
			attrs = append(attrs, semconv.ServerAddress(c.server.host), semconv.ServerPort(c.server.port))
		}
		op := genaiconv.OperationNameAttr(c.op)
		prov := genaiconv.ProviderNameAttr(c.provider)
		if rec.Outcome == trace.OutcomeOK || rec.InputTokens > 0 || rec.OutputTokens > 0 {
			t.inst.tokenUsage.Record(ctx, rec.InputTokens, op, prov, genaiconv.TokenTypeInput, attrs...)
			t.inst.tokenUsage.Record(ctx, rec.OutputTokens, op, prov, genaiconv.TokenTypeOutput, attrs...)
		}
		if rec.Streaming && rec.TimeToFirstTokenUS > 0 {
			t.inst.timeToFirst.Record(ctx, float64(rec.TimeToFirstTokenUS)/1e6, op, prov, attrs...)
		}
		if errType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errType))
		}
		t.inst.opDuration.Record(ctx, elapsed.Seconds(), op, prov, attrs...)
	}
	if rec.Priced && rec.EstimatedCostUSD > 0 {
		model := reqModel
		if m := t.modelLabel(rec.Model); m != "" {
			model = m // what was billed: the response model when known
		}
		t.inst.cost.Add(ctx, rec.EstimatedCostUSD, metric.WithAttributes(
			attribute.String("provider", c.provider),
			attribute.String("model", model),
		))
	}
}

// modelLabel bounds a model name for use as a metric label: the catalog
// name it resolves to, ModelOther when the catalog does not know it, and ""
// when there is no model at all.
func (t *Telemetry) modelLabel(model string) string {
	if model == "" {
		return ""
	}
	if p, ok := t.prices.Lookup(model); ok {
		return p.Model
	}
	return ModelOther
}

// errorType is the error.type of a call that did not succeed: the HTTP
// status for an upstream error response, else the outcome. Both come from
// small fixed sets.
func errorType(rec *trace.Record) string {
	switch {
	case rec.Outcome == trace.OutcomeOK:
		return ""
	case rec.Outcome == trace.OutcomeUpstreamError && rec.ResponseStatus >= 400:
		return strconv.Itoa(rec.ResponseStatus)
	}
	return string(rec.Outcome)
}

// operationName maps an upstream API path to its GenAI operation, or ""
// when the endpoint is not one (GET /v1/models, files, batches). It matches
// the end of the path, as the provider adapters do, because compatible
// upstreams mount the same API under other bases.
func operationName(path string) string {
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"), strings.HasSuffix(path, "/messages"), strings.HasSuffix(path, "/responses"):
		return "chat"
	case strings.HasSuffix(path, "/completions"):
		return "text_completion"
	case strings.HasSuffix(path, "/embeddings"):
		return "embeddings"
	}
	return ""
}
