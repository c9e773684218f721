// Package trace owns the trace record (the public shape of one proxied call)
// and the asynchronous writer that batches records into a store without ever
// blocking the proxy.
package trace

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ongoingai/gateway/internal/pricing"
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
	// OutcomeLimited is a request refused with 429 because it would have
	// exceeded a rate limit or budget (internal/limits); it never reached
	// the upstream and cost nothing.
	OutcomeLimited Outcome = "limited"
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
	CacheWrite1hTokens int64             `json:"cache_write_1h_tokens"` // the part of CacheWriteTokens written with Anthropic's 1-hour lifetime
	ReasoningTokens    int64             `json:"reasoning_tokens"`
	TokensEstimated    bool              `json:"tokens_estimated"`
	LatencyMS          int64             `json:"latency_ms"`
	TimeToFirstTokenMS int64             `json:"time_to_first_token_ms"` // to the first event carrying generated content; a plain body's first byte
	TimeToFirstByteMS  int64             `json:"time_to_first_byte_ms"`
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

	// redaction, when set, rewrites the stored copies before the record is
	// written (RedactBeforeStore); cuts says which bodies capture cut at
	// body_max_size. Unexported: neither gob (the spool) nor JSON sees
	// them, and the writer clears redaction once it has run.
	redaction Redaction
	cuts      BodyCuts
}

// Redaction rewrites what a record stores (headers, bodies, metadata)
// before it is written: the PII policy's redact_storage. The writer runs it
// on its own goroutine, never on the request path. An error means the
// stored copies could not be made safe: the writer then stores the record
// without its headers and bodies (never a raw body).
type Redaction interface {
	Redact(r *Record, cuts BodyCuts) error
}

// BodyCuts says which captured bodies hit tracing.body_max_size: the bytes
// past the window were never kept, and the value at its edge may be cut.
type BodyCuts struct {
	Request, Response bool
}

// RedactBeforeStore has the writer apply x to r before storing it; nil
// stores r as it is.
func (r *Record) RedactBeforeStore(x Redaction, cuts BodyCuts) {
	r.redaction, r.cuts = x, cuts
}

// applyRedaction runs r's redaction, if any, and clears it. On failure the
// headers and bodies are dropped and the metadata says so; it reports
// whether it failed.
func (r *Record) applyRedaction() (failed bool) {
	x := r.redaction
	if x == nil {
		return false
	}
	r.redaction = nil
	if err := x.Redact(r, r.cuts); err != nil {
		r.RequestHeaders, r.ResponseHeaders = nil, nil
		r.RequestBody, r.ResponseBody = "", ""
		r.Metadata = appendMember(r.Metadata, `"redaction_applied":false,"redaction_failed":true`)
		return true
	}
	return false
}

// appendMember adds members (`"k":v,...`) to a metadata object. The
// proxy's metadata (request id, finish reasons) holds no content, so it is
// kept when a redaction fails.
func appendMember(meta json.RawMessage, members string) json.RawMessage {
	if len(meta) < 2 {
		return json.RawMessage("{" + members + "}")
	}
	out := make(json.RawMessage, 0, len(meta)+len(members)+1)
	out = append(out, meta[:len(meta)-1]...)
	return append(append(append(out, ','), members...), '}')
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

// PricingTokens is the record's usage as the pricing package counts it,
// for pricing a call and repricing a stored one the same way.
func PricingTokens(r *Record) pricing.Tokens {
	return pricing.Tokens{
		Input:        r.InputTokens,
		Output:       r.OutputTokens,
		CachedInput:  r.CachedInputTokens,
		CacheWrite:   r.CacheWriteTokens,
		CacheWrite1h: r.CacheWrite1hTokens,
		Reasoning:    r.ReasoningTokens,
	}
}
