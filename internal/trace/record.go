// Package trace owns the trace record (the public shape of one proxied call)
// and the asynchronous writer that batches records into a store without ever
// blocking the proxy.
package trace

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcome says how a proxied call ended, from the gateway's point of view.
type Outcome string

const (
	OutcomeOK                  Outcome = "ok"
	OutcomeUpstreamError       Outcome = "upstream_error"
	OutcomeUpstreamUnreachable Outcome = "upstream_unreachable"
	OutcomeClientCancelled     Outcome = "client_cancelled"
	// OutcomeGatewayShutdown: the gateway cut the call because it was
	// shutting down and server.shutdown_timeout had passed. Tokens are
	// what was delivered, estimated as for a client cancel.
	OutcomeGatewayShutdown Outcome = "gateway_shutdown"
	// OutcomeBlocked is a request the PII policy refused; it never
	// reached the upstream.
	OutcomeBlocked Outcome = "blocked"
)

// Record is one proxied call. Its JSON field names are a public API
// (GET /api/traces): rename nothing.
type Record struct {
	ID                 string            `json:"id"`
	Timestamp          time.Time         `json:"timestamp"` // request start, UTC
	Provider           string            `json:"provider"`
	Model              string            `json:"model"` // response model when present, else request model
	RequestModel       string            `json:"request_model"`
	RequestMethod      string            `json:"request_method"`
	RequestPath        string            `json:"request_path"` // as the client sent it, prefix included, query excluded
	ResponseStatus     int               `json:"response_status"`
	Outcome            Outcome           `json:"outcome"`
	InputTokens        int64             `json:"input_tokens"`
	OutputTokens       int64             `json:"output_tokens"`
	TotalTokens        int64             `json:"total_tokens"`
	CachedInputTokens  int64             `json:"cached_input_tokens"`
	CacheWriteTokens   int64             `json:"cache_write_tokens"`
	ReasoningTokens    int64             `json:"reasoning_tokens"`
	TokensEstimated    bool              `json:"tokens_estimated"`
	LatencyMS          int64             `json:"latency_ms"`
	TimeToFirstTokenMS int64             `json:"time_to_first_token_ms"`
	TimeToFirstTokenUS int64             `json:"time_to_first_token_us"`
	Streaming          bool              `json:"streaming"`
	StreamEvents       int64             `json:"stream_events"`
	APIKeyHash         string            `json:"api_key_hash"`
	APIKeyLast4        string            `json:"api_key_last4"`
	EstimatedCostUSD   float64           `json:"estimated_cost_usd"`
	CostNanoUSD        int64             `json:"-"` // exact cost in 1e-9 USD; EstimatedCostUSD is derived from it
	Priced             bool              `json:"priced"`
	PricingVersion     string            `json:"pricing_version"`
	OrgID              string            `json:"org_id"`
	WorkspaceID        string            `json:"workspace_id"`
	GatewayKeyID       string            `json:"gateway_key_id"`
	RequestHeaders     map[string]string `json:"request_headers,omitempty"`
	ResponseHeaders    map[string]string `json:"response_headers,omitempty"`
	RequestBody        string            `json:"request_body,omitempty"`
	ResponseBody       string            `json:"response_body,omitempty"`
	Metadata           json.RawMessage   `json:"metadata,omitempty"`
	CreatedAt          time.Time         `json:"created_at"`
	// FinishReasons are why the model stopped, as the provider said (see
	// providers.Result.FinishReasons), for whoever watches the live call
	// (the telemetry client span). They are stored, and served, inside
	// Metadata as "finish_reasons", which keeps the row narrow; a record
	// read back from a store leaves this field empty. Shared: never modify.
	FinishReasons []string `json:"-"`
}

// StorableText makes s storable as text on every engine: Postgres rejects
// invalid UTF-8 and NUL bytes (in text columns and in jsonb job arguments
// alike), and one such string, which a client can put in a model name or a
// path, would otherwise fail the whole batch it travels in. Invalid bytes
// and NULs become U+FFFD; valid text, the usual case, is returned as is
// without allocating. The stores apply it to every text column and
// rollup keys to every key field, so both always agree on a trace's text.
func StorableText(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
