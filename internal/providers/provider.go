// Package providers holds one adapter per API dialect (OpenAI, Anthropic).
// An adapter inspects a request before it is forwarded (model, stream flag,
// asking upstream for stream usage) and observes the response as it streams
// past, producing exact token usage in bounded memory.
package providers

// Usage is the token accounting of one call, normalised across dialects:
//   - InputTokens counts every input token the provider processed, cached
//     reads and cache writes included (OpenAI prompt_tokens; Anthropic
//     input_tokens + cache_read_input_tokens + cache_creation_input_tokens).
//   - CachedInputTokens and CacheWriteTokens are subsets of InputTokens.
//   - CacheWrite1hTokens is the subset of CacheWriteTokens written with
//     Anthropic's 1-hour lifetime (usage.cache_creation
//     .ephemeral_1h_input_tokens); the rest has the 5-minute lifetime.
//   - OutputTokens includes ReasoningTokens.
type Usage struct {
	InputTokens        int64
	OutputTokens       int64
	CachedInputTokens  int64
	CacheWriteTokens   int64
	CacheWrite1hTokens int64
	ReasoningTokens    int64
	// Found is true once the provider reported usage; false means the
	// counts are absent or estimated.
	Found bool
}

// Total is input plus output.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// RequestInfo is what the gateway learns from a request body.
type RequestInfo struct {
	Model  string
	Stream bool
	// UsageInjected is true when PrepareRequest asked upstream for stream
	// usage the client did not ask for; the observer then hides the extra
	// usage-only chunk (and the null usage fields) from the client.
	UsageInjected bool
	// MaxOutputTokens is the output cap the request sets (max_tokens,
	// max_output_tokens or max_completion_tokens), or 0 when it sets none.
	MaxOutputTokens int64
}

// Adapter is one API dialect.
type Adapter interface {
	// Format names the dialect: "openai" or "anthropic".
	Format() string
	// PrepareRequest reads the (already size-capped) request body of a call
	// to path (prefix stripped, e.g. "/v1/chat/completions") and returns
	// what it learned and the body to forward, which is body itself unless
	// the adapter rewrote it. A body that is not JSON is forwarded untouched.
	PrepareRequest(path string, body []byte, injectStreamUsage bool) (RequestInfo, []byte)
	// NewObserver returns an observer for one response. contentType is the
	// upstream response's Content-Type; SSE responses are fed event by
	// event, everything else as raw (decoded) body bytes.
	NewObserver(path string, info RequestInfo, contentType string) Observer
}

// Observer watches one response and accumulates its usage in O(1) memory.
type Observer interface {
	// Write feeds decoded bytes of a non-SSE body. It never fails.
	Write(p []byte) (int, error)
	// OnEvent is called for each SSE event with its event name and data.
	// It returns the data to forward to the client, which is data itself
	// unless the event must be rewritten, and forward=false when the event
	// must not reach the client at all (the injected usage-only chunk).
	OnEvent(event string, data []byte) (out []byte, forward bool)
	// StreamEvent and EndStreamEvent read an event too large to hold in
	// memory, such as a Responses API response.completed that repeats a
	// multi-megabyte output: its data arrives in pieces through
	// StreamEvent, is scanned as it comes, and EndStreamEvent (with the
	// event's name) completes it. Memory stays bounded whatever its size,
	// and its usage is read as from OnEvent. The event already went to the
	// client and cannot be rewritten.
	StreamEvent(p []byte)
	EndStreamEvent(event string)
	// Result is the usage, response model and finish reasons seen so far.
	// DeliveredText counts the bytes of generated text seen so far, so a
	// cancelled stream can be estimated.
	Result() Result
	// GeneratedBytes is how many bytes of generated content (text,
	// reasoning, tool-call arguments) the stream events have carried so
	// far: the first event that makes it positive is the first token.
	// Events that only open a message (Anthropic message_start, an OpenAI
	// chunk with only a role) carry none. It is cheap enough to call
	// after every event.
	GeneratedBytes() int64
	// Release hands the observer's memory back for the next response; the
	// gateway calls it once it has read the Result. The observer must not
	// be used afterwards; the Result already returned stays valid.
	Release()
}

// Result is what an observer has seen.
type Result struct {
	Usage         Usage
	ResponseModel string
	// DeliveredTextBytes is the length of generated text (content and
	// reasoning deltas) seen in the stream, for estimating output tokens
	// when a stream is cut before its usage arrives.
	DeliveredTextBytes int64
	// Final is true once the provider's closing usage has been seen (the
	// OpenAI usage chunk, Anthropic message_delta, Responses API terminal
	// event, or a complete JSON body). Usage seen before that, such as
	// Anthropic's message_start, is partial.
	Final bool
	// FinishReasons say why the model stopped, in the provider's own
	// words, distinct and in the order first seen: each choice's
	// finish_reason for OpenAI chat and legacy completions ("stop",
	// "length", "tool_calls"…), body or stream chunk; Anthropic's
	// stop_reason ("end_turn", "max_tokens"…), body or message_delta; for
	// the Responses API, which has no finish reason, the reason an
	// incomplete response gives ("max_output_tokens", "content_filter")
	// and otherwise its terminal status ("completed", "failed",
	// "cancelled"). Empty when none was seen: a stream cut before its
	// end, an error body, embeddings. At most MaxFinishReasons values of
	// at most MaxFinishReasonBytes each. The slice may be shared with
	// other Results and must not be modified.
	FinishReasons []string
	// Tier is how the response says it was served, the conditions that
	// change its price; empty members were not reported.
	Tier Tier
}

// Tier is what a response reports about how it was served, as the
// provider spells it.
type Tier struct {
	// ServiceTier is OpenAI's service_tier ("default", "flex",
	// "priority") or Anthropic's usage.service_tier ("standard",
	// "priority", "batch").
	ServiceTier string
	// Speed is Anthropic's usage.speed ("fast" in fast mode).
	Speed string
	// InferenceGeo is Anthropic's usage.inference_geo ("us", "global").
	InferenceGeo string
}
