package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/trace"
)

// Exact accounting stories: a team calls models through the gateway with
// the official SDKs, and every trace carries the provider's own token counts
// and the exact cost from the price catalog.

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say hello")},
	}
}

func messageParams(model string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{
		Model:     anthropic.Model(model),
		MaxTokens: 256,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Say hello"))},
	}
}

// expectUsage checks a trace's token columns.
func expectUsage(t *testing.T, r trace.Record, input, output, cached, cacheWrite, reasoning int64) {
	t.Helper()
	expect(t, "input_tokens", r.InputTokens, input)
	expect(t, "output_tokens", r.OutputTokens, output)
	expect(t, "total_tokens", r.TotalTokens, input+output)
	expect(t, "cached_input_tokens", r.CachedInputTokens, cached)
	expect(t, "cache_write_tokens", r.CacheWriteTokens, cacheWrite)
	expect(t, "reasoning_tokens", r.ReasoningTokens, reasoning)
}

// captureHeaders sets tracing.capture_headers; headers are not stored by
// default.
func captureHeaders(names ...string) func(*config.Config) {
	return func(c *config.Config) { c.Tracing.CaptureHeaders = names }
}

func TestOpenAIChatIsTracedWithExactTokensAndCost(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		// Naming a credential header stores it redacted, never its value.
		g := startGateway(t, driver, captureHeaders("authorization", "content-type"))
		client := g.openai(fakeupstream.HeaderInputTokens, "1000", fakeupstream.HeaderCachedTokens, "200", fakeupstream.HeaderEvents, "50")

		res, err := client.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "client sees upstream usage", res.Usage.PromptTokens, int64(1000))

		r := g.oneTrace()
		expect(t, "provider", r.Provider, "openai")
		expect(t, "model", r.Model, "gpt-4o")
		expect(t, "request_model", r.RequestModel, "gpt-4o")
		expect(t, "request_method", r.RequestMethod, "POST")
		expect(t, "request_path", r.RequestPath, "/openai/v1/chat/completions")
		expect(t, "response_status", r.ResponseStatus, 200)
		expect(t, "outcome", r.Outcome, trace.OutcomeOK)
		expect(t, "streaming", r.Streaming, false)
		expect(t, "tokens_estimated", r.TokensEstimated, false)
		expectUsage(t, r, 1000, 50, 200, 0, 0)
		// 800 × $2.50 + 200 × $1.25 + 50 × $10.00 per 1M tokens
		expect(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.00275)
		expect(t, "priced", r.Priced, true)
		if r.PricingVersion == "" {
			t.Error("pricing_version is empty")
		}
		sum := sha256.Sum256([]byte(openAIKey))
		expect(t, "api_key_hash", r.APIKeyHash, hex.EncodeToString(sum[:]))
		expect(t, "api_key_last4", r.APIKeyLast4, "7a3f")
		expect(t, "stored Authorization", r.RequestHeaders["Authorization"], "[REDACTED]")
		if r.ResponseHeaders["Content-Type"] == "" {
			t.Error("response headers were not captured")
		}
		if _, ok := r.RequestHeaders["User-Agent"]; ok || len(r.RequestHeaders) != 2 {
			t.Errorf("stored request headers beyond the ones named: %v", r.RequestHeaders)
		}
		if r.ID == "" || r.Timestamp.IsZero() || r.CreatedAt.Before(r.Timestamp) {
			t.Errorf("id/timestamps wrong: %q %v %v", r.ID, r.Timestamp, r.CreatedAt)
		}

		// What reached the provider: prefix stripped, the credential untouched,
		// and gzip asked for by the SDK (so the gateway parsed a decoded copy).
		reqs := g.fake.Requests()
		expect(t, "upstream path", reqs[0].Path, "/v1/chat/completions")
		expect(t, "upstream Authorization", reqs[0].Header.Get("Authorization"), "Bearer "+openAIKey)
		if !strings.Contains(reqs[0].Header.Get("Accept-Encoding"), "gzip") {
			t.Errorf("upstream Accept-Encoding = %q: the SDK's gzip request was not forwarded", reqs[0].Header.Get("Accept-Encoding"))
		}
	})
}

// Headers are stored only when tracing.capture_headers names them: an SDK's
// request headers and a provider's response headers would cost more bytes
// than the rest of the trace. The request id still ties the trace to logs.
func TestTracesStoreNoHeadersByDefault(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.openai("X-Request-Id", "req-no-headers_1")
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		r := g.oneTrace()
		if r.RequestHeaders != nil || r.ResponseHeaders != nil {
			t.Errorf("headers stored by default: request %v, response %v", r.RequestHeaders, r.ResponseHeaders)
		}
		expect(t, "request id in metadata", string(r.Metadata), `{"request_id":"req-no-headers_1","finish_reasons":["stop"]}`)
		expect(t, "outcome", r.Outcome, trace.OutcomeOK)
	})
}

func TestOpenAIStreamWithoutUsageIsStillExactAndClientStreamUnchanged(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.openai(fakeupstream.HeaderInputTokens, "321", fakeupstream.HeaderEvents, "12")

		stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o-mini"))
		var chunks []openai.ChatCompletionChunk
		var text strings.Builder
		for stream.Next() {
			c := stream.Current()
			chunks = append(chunks, c)
			if len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		// role chunk + 12 content chunks + finish chunk, and no usage chunk
		expect(t, "chunks", len(chunks), 14)
		for i, c := range chunks {
			if c.JSON.Usage.Valid() || c.JSON.Usage.Raw() != "" {
				t.Fatalf("chunk %d carries usage %q the client did not ask for", i, c.JSON.Usage.Raw())
			}
			if len(c.Choices) == 0 {
				t.Fatalf("chunk %d has no choices: the injected usage chunk leaked", i)
			}
		}
		expect(t, "text", text.String(), fakeupstream.Text(12))

		if body := string(g.fake.Requests()[0].Body); !strings.Contains(body, `"include_usage":true`) {
			t.Errorf("gateway did not ask upstream for usage: %s", body)
		}
		r := g.oneTrace()
		expect(t, "streaming", r.Streaming, true)
		expect(t, "outcome", r.Outcome, trace.OutcomeOK)
		expect(t, "tokens_estimated", r.TokensEstimated, false)
		expectUsage(t, r, 321, 12, 0, 0, 0)
		expect(t, "stream_events", r.StreamEvents, int64(15)) // 14 chunks + [DONE]
		if r.TimeToFirstTokenUS <= 0 || r.TimeToFirstTokenUS > r.LatencyMS*1000+1000 {
			t.Errorf("time_to_first_token_us = %d with latency_ms %d", r.TimeToFirstTokenUS, r.LatencyMS)
		}
		// 321 × $0.15 + 12 × $0.60 per 1M = $55.35 per 1M
		expect(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.00005535)
	})
}

func TestOpenAIStreamWithClientRequestedUsageKeepsTheUsageChunk(t *testing.T) {
	g := startGateway(t, "sqlite")
	params := chatParams("gpt-4o")
	params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	stream := g.openai(fakeupstream.HeaderInputTokens, "40", fakeupstream.HeaderEvents, "3").Chat.Completions.NewStreaming(context.Background(), params)
	var last openai.ChatCompletionChunk
	for stream.Next() {
		last = stream.Current()
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, "client's usage chunk prompt_tokens", last.Usage.PromptTokens, int64(40))
	r := g.oneTrace()
	expectUsage(t, r, 40, 3, 0, 0, 0)
}

func TestOpenAIStreamInjectionCanBeTurnedOff(t *testing.T) {
	off := false
	g := startGateway(t, "sqlite", func(c *config.Config) { c.Proxy.InjectStreamUsage = &off })
	stream := g.openai(fakeupstream.HeaderEvents, "3").Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
	for stream.Next() {
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if body := string(g.fake.Requests()[0].Body); strings.Contains(body, "include_usage") {
		t.Errorf("usage injected although disabled: %s", body)
	}
	r := g.oneTrace()
	expect(t, "tokens_estimated (no usage without injection)", r.TokensEstimated, true)
	expect(t, "output estimated from delivered text", r.OutputTokens, int64((len(fakeupstream.Text(3))+3)/4))
}

func TestOpenAIResponsesAPIWithReasoningAndCache(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		client := g.openai(fakeupstream.HeaderInputTokens, "500", fakeupstream.HeaderCachedTokens, "100",
			fakeupstream.HeaderEvents, "20", fakeupstream.HeaderReasoningTokens, "30")
		params := responses.ResponseNewParams{
			Model: "o3",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("think")},
		}
		if _, err := client.Responses.New(context.Background(), params); err != nil {
			t.Fatal(err)
		}
		stream := client.Responses.NewStreaming(context.Background(), params)
		for stream.Next() {
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		for _, r := range g.traces(2) {
			expect(t, "outcome", r.Outcome, trace.OutcomeOK)
			expectUsage(t, r, 500, 50, 100, 0, 30)
			// 400 × $2 + 100 × $0.50 + 50 × $8 per 1M
			expect(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.00125)
		}
	})
}

func TestOpenAIEmbeddingsAndLegacyCompletions(t *testing.T) {
	g := startGateway(t, "sqlite")
	client := g.openai(fakeupstream.HeaderInputTokens, "1000", fakeupstream.HeaderEvents, "7")
	if _, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: openai.EmbeddingModelTextEmbedding3Small,
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Completions.New(context.Background(), openai.CompletionNewParams{
		Model:  "my-finetune",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("hello")},
	}); err != nil {
		t.Fatal(err)
	}
	traces := g.traces(2)
	byPath := map[string]trace.Record{}
	for _, r := range traces {
		byPath[r.RequestPath] = r
	}
	emb := byPath["/openai/v1/embeddings"]
	expectUsage(t, emb, 1000, 0, 0, 0, 0)
	expect(t, "embedding cost ($0.02 per 1M)", emb.EstimatedCostUSD, 0.00002)
	cmp := byPath["/openai/v1/completions"]
	expectUsage(t, cmp, 1000, 7, 0, 0, 0)
	expect(t, "unknown model is unpriced", cmp.Priced, false)
	expect(t, "unknown model costs 0", cmp.EstimatedCostUSD, 0.0)
}

func TestAnthropicMessagesWithCacheReadsAndWrites(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, captureHeaders("*"))
		client := g.anthropic(fakeupstream.HeaderInputTokens, "100", fakeupstream.HeaderCachedTokens, "2000",
			fakeupstream.HeaderCacheWriteTokens, "500", fakeupstream.HeaderEvents, "40",
			fakeupstream.HeaderResponseModel, "dated")
		msg, err := client.Messages.New(context.Background(), messageParams("claude-sonnet-4"))
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "client sees input_tokens", msg.Usage.InputTokens, int64(100))
		stream := client.Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4"))
		var text strings.Builder
		for stream.Next() {
			ev := stream.Current()
			if d, ok := ev.AsAny().(anthropic.ContentBlockDeltaEvent); ok {
				text.WriteString(d.Delta.Text)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		expect(t, "streamed text", text.String(), fakeupstream.Text(40))

		for _, r := range g.traces(2) {
			expect(t, "provider", r.Provider, "anthropic")
			expect(t, "model (response's dated snapshot)", r.Model, "claude-sonnet-4-20250514")
			expect(t, "request_model", r.RequestModel, "claude-sonnet-4")
			expect(t, "tokens_estimated", r.TokensEstimated, false)
			// input = 100 uncached + 2000 cache reads + 500 cache writes
			expectUsage(t, r, 2600, 40, 2000, 500, 0)
			// 100 × $3 + 2000 × $0.30 + 500 × $3.75 + 40 × $15 per 1M
			expect(t, "estimated_cost_usd", r.EstimatedCostUSD, 0.003375)
			sum := sha256.Sum256([]byte(anthropicKey))
			expect(t, "api_key_hash (x-api-key)", r.APIKeyHash, hex.EncodeToString(sum[:]))
			expect(t, "stored x-api-key", r.RequestHeaders["X-Api-Key"], "[REDACTED]")
		}
	})
}
