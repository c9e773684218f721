package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/ongoingai/gateway/internal/jsonstr"
	"github.com/ongoingai/gateway/internal/pricing"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/trace"
)

// statusClientClosedRequest is recorded when the client left before any
// upstream response arrived (nginx's convention; never sent on the wire).
const statusClientClosedRequest = 499

// finish builds the trace record once the reverse proxy is done, whatever
// the path: complete, cancelled, upstream failure or WebSocket session.
func (c *call) finish() {
	if c.tap != nil {
		c.tap.endObservation()
	}
	end := time.Now()
	r := &trace.Record{
		Timestamp:     c.start.UTC(),
		Provider:      c.up.Name,
		RequestModel:  c.info.Model,
		RequestMethod: c.req.Method,
		RequestPath:   c.req.URL.Path,
		Streaming:     c.info.Stream,
		LatencyMS:     end.Sub(c.start).Milliseconds(),
		CreatedAt:     end.UTC(),
	}
	if id, err := uuid.NewV7(); err == nil {
		r.ID = id.String()
	} else {
		r.ID = uuid.NewString()
	}
	r.APIKeyHash, r.APIKeyLast4 = hashCredential(providerCredential(c.req.Header))
	if c.p.opts.Identity != nil {
		id := c.p.opts.Identity(c.req)
		r.OrgID, r.WorkspaceID, r.GatewayKeyID = id.OrgID, id.WorkspaceID, id.GatewayKeyID
	}
	opts := &c.p.opts
	r.RequestHeaders = c.p.headers.snapshot(c.req.Header)
	var cuts trace.BodyCuts
	if opts.CaptureBodies {
		stored := c.reqBody
		if c.policy.Stored != nil {
			stored = c.policy.Stored
		}
		r.RequestBody = truncate(stored, opts.BodyMaxSize)
		cuts.Request = len(r.RequestBody) < len(stored)
	}

	// The observer's account, read once: the outcome, the token counts and
	// the finish reasons all depend on it.
	var res providers.Result
	if c.tap != nil {
		res = c.observer.Result()
	}
	// The request id (set or validated by the telemetry middleware) ties
	// the trace to access logs and spans; the finish reasons also go to
	// the client span, through the record.
	r.FinishReasons = res.FinishReasons
	// The header is telemetry.RequestIDHeader, spelled out: telemetry's
	// tests import this package, so it cannot import telemetry.
	r.Metadata = metadataJSON(c.req.Header.Get("X-Request-Id"), res.FinishReasons)
	r.Metadata = jsonstr.AppendMembers(r.Metadata, tierMetadata(res.Tier))
	cancelled := c.clientGone()
	switch {
	case c.refused:
		r.ResponseStatus, r.Outcome = c.policy.Status, trace.OutcomeBlocked
	case c.limited:
		r.ResponseStatus, r.Outcome = http.StatusTooManyRequests, trace.OutcomeLimited
	case c.resp == nil:
		if cancelled {
			r.ResponseStatus, r.Outcome = statusClientClosedRequest, trace.OutcomeClientCancelled
		} else {
			r.ResponseStatus, r.Outcome = http.StatusBadGateway, trace.OutcomeUpstreamUnreachable
		}
	default:
		r.ResponseStatus = c.resp.StatusCode
		r.ResponseHeaders = c.p.headers.snapshot(c.resp.Header)
		complete := c.tap == nil || c.tap.eof
		switch {
		case c.resp.StatusCode >= 400:
			r.Outcome = trace.OutcomeUpstreamError
		case complete || res.Final:
			// A client that hangs up right after the closing usage event
			// (SDKs close the body at [DONE]) has had the whole answer.
			r.Outcome = trace.OutcomeOK
		case cancelled:
			r.Outcome = trace.OutcomeClientCancelled
		default:
			r.Outcome = trace.OutcomeUpstreamError // the upstream cut the body short
		}
	}
	if r.Outcome == trace.OutcomeClientCancelled && errors.Is(context.Cause(c.req.Context()), ErrGatewayShutdown) {
		// Not the client's doing: the gateway cut the call at its drain
		// deadline. What was delivered is accounted as for a cancel.
		r.Outcome = trace.OutcomeGatewayShutdown
		if c.resp == nil {
			r.ResponseStatus = http.StatusServiceUnavailable
		}
	}

	if c.tap != nil {
		if c.info.Stream || c.tap.sse {
			r.Streaming = true
		}
		r.StreamEvents = c.tap.events
		if !c.tap.firstByte.IsZero() {
			r.TimeToFirstByteMS = c.tap.firstByte.Sub(c.start).Milliseconds()
		}
		// A plain body is the whole answer at once: its first byte is its
		// first token. A stream's first token is its first event with
		// generated content; a stream that carried none has no TTFT.
		firstToken := c.tap.firstByte
		if c.tap.sse {
			firstToken = c.tap.firstToken
		}
		if !firstToken.IsZero() {
			ttft := firstToken.Sub(c.start)
			r.TimeToFirstTokenMS, r.TimeToFirstTokenUS = ttft.Milliseconds(), ttft.Microseconds()
		}
		if opts.CaptureBodies {
			r.ResponseBody = string(c.tap.capture.b)
			cuts.Response = c.tap.capture.truncated
		}
		c.account(r, res)
	}
	if r.Model == "" {
		r.Model = r.RequestModel
	}
	if c.policy.Storage != nil {
		r.RedactBeforeStore(c.policy.Storage, cuts)
	}
	c.settleLimits(r, end)
	if c.endCall != nil {
		c.endCall(r)
	}
	opts.Traces.Enqueue(r)
	c.p.putCall(c)
}

// account fills tokens and cost from what the observer saw. A response
// that ended before the provider's closing usage keeps what the provider
// reported (input tokens, when known) and estimates output from the text
// delivered, and says so (see estimateOutput).
func (c *call) account(r *trace.Record, res providers.Result) {
	r.Model = res.ResponseModel
	u := res.Usage
	estimateOutput(r, &u, res)
	r.InputTokens = u.InputTokens
	r.OutputTokens = u.OutputTokens
	r.TotalTokens = u.Total()
	r.CachedInputTokens = u.CachedInputTokens
	r.CacheWriteTokens = u.CacheWriteTokens
	r.CacheWrite1hTokens = u.CacheWrite1hTokens
	r.ReasoningTokens = u.ReasoningTokens

	model := r.Model
	if model == "" {
		model = r.RequestModel
	}
	// Priced at the call's start, with the price in force then and the
	// tier the response reports.
	prices := c.p.opts.Prices.Load()
	cost := prices.CostAt(model, r.Timestamp, trace.PricingTokens(r), pricing.Conditions{
		ServiceTier:  res.Tier.ServiceTier,
		Speed:        res.Tier.Speed,
		InferenceGeo: res.Tier.InferenceGeo,
	})
	r.CostNanoUSD = cost.NanoUSD
	r.EstimatedCostUSD = cost.USD()
	r.Priced = cost.Priced
	r.PricingVersion = cost.Version
	if !cost.Priced {
		r.PricingVersion = prices.Version()
	}
}

// tierMetadata is the trace metadata members (no braces) recording how the
// response says it was served: the conditions its price depends on, kept
// so that a repricing sees them too. The base tiers ("default" for OpenAI,
// "standard" for Anthropic) change nothing and are left out, which keeps
// the usual trace free of them. Nil when there is nothing to say.
func tierMetadata(t providers.Tier) []byte {
	if t.ServiceTier == "default" || t.ServiceTier == "standard" {
		t.ServiceTier = ""
	}
	if t == (providers.Tier{}) {
		return nil
	}
	out := make([]byte, 0, 64)
	for _, m := range [...]struct{ key, value string }{
		{`"service_tier":`, t.ServiceTier},
		{`"speed":`, t.Speed},
		{`"inference_geo":`, t.InferenceGeo},
	} {
		if m.value == "" {
			continue
		}
		if len(out) > 0 {
			out = append(out, ',')
		}
		out = append(out, m.key...)
		out = jsonstr.Append(out, m.value)
	}
	return out
}

// metadataJSON is the trace's metadata document, {"request_id": id,
// "finish_reasons": reasons} with empty members left out, byte for byte as
// encoding/json writes it. Finish reasons live here rather than in a column
// of their own because few queries need them and every row would pay for
// the column. One allocation (the values are bounded and almost never need
// escaping, so the size guess holds): every trace pays for it. It is nil
// when there is nothing to say.
func metadataJSON(id string, reasons []string) json.RawMessage {
	const (
		idKey      = `"request_id":`
		reasonsKey = `"finish_reasons":`
	)
	if id == "" && len(reasons) == 0 {
		return nil
	}
	size := len(`{,}`) + len(idKey) + len(id) + 2 + len(reasonsKey) + len(`[]`)
	for _, r := range reasons {
		size += len(r) + 3 // quotes and a comma
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	if id != "" {
		out = append(out, idKey...)
		out = jsonstr.Append(out, id)
	}
	if len(reasons) > 0 {
		if id != "" {
			out = append(out, ',')
		}
		out = append(out, reasonsKey...)
		out = append(out, '[')
		for i, r := range reasons {
			if i > 0 {
				out = append(out, ',')
			}
			out = jsonstr.Append(out, r)
		}
		out = append(out, ']')
	}
	return append(out, '}')
}

// estimateOutput is the one rule for a successful response whose closing
// usage never arrived, whatever cut it short: the client hanging up, the
// upstream resetting the connection mid-stream, the gateway shutting down,
// or a provider that sends no usage at all. The text already delivered
// was generated and is billed, so output tokens are at least its estimate,
// and the record is flagged tokens_estimated. An error response (status
// 400 and above) carries no generated text and is left alone.
func estimateOutput(r *trace.Record, u *providers.Usage, res providers.Result) {
	if res.Final || r.ResponseStatus >= 400 || res.DeliveredTextBytes <= 0 {
		return
	}
	u.OutputTokens = max(u.OutputTokens, estimateTokens(res.DeliveredTextBytes))
	r.TokensEstimated = true
}

// estimateTokens turns delivered text into a token estimate with the usual
// four-bytes-per-token rule; it is only used when the provider's own count
// never arrived, and the record is flagged tokens_estimated.
func estimateTokens(textBytes int64) int64 { return (textBytes + 3) / 4 }

func truncate(b []byte, max int64) string {
	if max > 0 && int64(len(b)) > max {
		b = b[:max]
	}
	return string(b)
}
