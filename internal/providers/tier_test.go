package providers

import (
	"reflect"
	"testing"
)

// Claude Code's usual stream: the cache writes split by lifetime in
// message_start, fast mode and US-only inference reported in usage.
var anthropicFastCacheStream = sseStream(
	"message_start", `{"type":"message_start","message":{"id":"msg_3","type":"message","role":"assistant","content":[],"model":"claude-opus-4-6","usage":{"input_tokens":5,"cache_creation_input_tokens":3000,"cache_read_input_tokens":20000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":1,"service_tier":"standard","speed":"fast","inference_geo":"us"}}}`,
	"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
	"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Done."}}`,
	"content_block_stop", `{"type":"content_block_stop","index":0}`,
	"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}`,
	"message_stop", `{"type":"message_stop"}`,
)

func TestObserverReadsCacheLifetimesAndTiers(t *testing.T) {
	want := Result{
		Usage: Usage{InputTokens: 5 + 3000 + 20000, OutputTokens: 7, CachedInputTokens: 20000,
			CacheWriteTokens: 3000, CacheWrite1hTokens: 2000, Found: true},
		ResponseModel: "claude-opus-4-6", DeliveredTextBytes: 5, Final: true,
		FinishReasons: []string{"end_turn"},
		Tier:          Tier{ServiceTier: "standard", Speed: "fast", InferenceGeo: "us"},
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		got, _ := runStream(t, Anthropic(), "/v1/messages", RequestInfo{Stream: true}, anthropicFastCacheStream, chunk)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d:\n got %+v\nwant %+v", chunk, got, want)
		}
	}

	body := `{"id":"msg_4","type":"message","model":"claude-sonnet-5-5","content":[{"type":"text","text":"ok"}],"stop_reason":"end_turn",` +
		`"usage":{"input_tokens":3,"cache_creation_input_tokens":500,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":500},"output_tokens":2,"service_tier":"batch"}}`
	o := Anthropic().NewObserver("/v1/messages", RequestInfo{}, "application/json")
	defer o.Release()
	o.Write([]byte(body))
	got := o.Result()
	if got.Usage.CacheWriteTokens != 500 || got.Usage.CacheWrite1hTokens != 500 || got.Tier != (Tier{ServiceTier: "batch"}) {
		t.Errorf("body: usage %+v, tier %+v", got.Usage, got.Tier)
	}
}

// A 1-hour count larger than the writes it belongs to is clamped.
func TestObserverClampsCacheWrite1h(t *testing.T) {
	body := `{"model":"claude-opus-4-6","usage":{"input_tokens":1,"cache_creation_input_tokens":10,"cache_creation":{"ephemeral_1h_input_tokens":99},"output_tokens":1}}`
	o := Anthropic().NewObserver("/v1/messages", RequestInfo{}, "application/json")
	defer o.Release()
	o.Write([]byte(body))
	if u := o.Result().Usage; u.CacheWrite1hTokens != 10 {
		t.Errorf("CacheWrite1hTokens = %d, want 10", u.CacheWrite1hTokens)
	}
}

func TestObserverReadsOpenAIServiceTier(t *testing.T) {
	stream := sseStream(
		"", `{"id":"c","object":"chat.completion.chunk","model":"gpt-5.4","service_tier":"flex","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
		"", `{"id":"c","object":"chat.completion.chunk","model":"gpt-5.4","service_tier":"flex","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]}`,
		"", `{"id":"c","object":"chat.completion.chunk","model":"gpt-5.4","service_tier":"flex","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}`,
		"", `[DONE]`,
	)
	got, _ := runStream(t, OpenAI(), "/v1/chat/completions", RequestInfo{Stream: true}, stream, 5)
	if got.Tier != (Tier{ServiceTier: "flex"}) {
		t.Errorf("chat stream tier = %+v, want flex", got.Tier)
	}
	resp := sseStream("response.completed", `{"type":"response.completed","response":{"id":"r","status":"completed","model":"gpt-5.5","service_tier":"priority","usage":{"input_tokens":3,"output_tokens":4}}}`)
	got, _ = runStream(t, OpenAI(), "/v1/responses", RequestInfo{Stream: true}, resp, 1<<20)
	if got.Tier != (Tier{ServiceTier: "priority"}) || got.Usage.OutputTokens != 4 {
		t.Errorf("responses tier = %+v, usage %+v", got.Tier, got.Usage)
	}
}

// GeneratedBytes stays zero through the events that only open a message,
// and turns positive at the first one with content, in each dialect.
func TestGeneratedBytesMarksTheFirstToken(t *testing.T) {
	cases := []struct {
		name     string
		adapter  Adapter
		path     string
		events   []string // name, data pairs
		firstGen int      // index (in events) of the first event with content
	}{
		{"anthropic text", Anthropic(), "/v1/messages", []string{
			"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":1,"output_tokens":1}}}`,
			"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			"ping", `{"type":"ping"}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}`,
		}, 3},
		{"anthropic tool input", Anthropic(), "/v1/messages", []string{
			"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":1,"output_tokens":1}}}`,
			"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"t","name":"f","input":{}}}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}`,
		}, 2},
		{"anthropic thinking", Anthropic(), "/v1/messages", []string{
			"message_start", `{"type":"message_start","message":{"model":"m","usage":{"input_tokens":1,"output_tokens":1}}}`,
			"content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`,
		}, 1},
		{"openai role chunk", OpenAI(), "/v1/chat/completions", []string{
			"", `{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			"", `{"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}`,
		}, 1},
		{"openai tool call", OpenAI(), "/v1/chat/completions", []string{
			"", `{"model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}`,
			"", `{"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a"}}]},"finish_reason":null}]}`,
		}, 1},
		{"openai reasoning", OpenAI(), "/v1/chat/completions", []string{
			"", `{"model":"m","choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`,
			"", `{"model":"m","choices":[{"index":0,"delta":{"reasoning_content":"hmm"},"finish_reason":null}]}`,
		}, 1},
		{"responses", OpenAI(), "/v1/responses", []string{
			"response.created", `{"type":"response.created","response":{"id":"r","status":"in_progress","model":"m"}}`,
			"response.output_item.added", `{"type":"response.output_item.added","item":{"type":"message","content":[]}}`,
			"response.output_text.delta", `{"type":"response.output_text.delta","delta":"Hi"}`,
		}, 2},
		{"responses reasoning summary", OpenAI(), "/v1/responses", []string{
			"response.created", `{"type":"response.created","response":{"id":"r","status":"in_progress","model":"m"}}`,
			"response.reasoning_summary_text.delta", `{"type":"response.reasoning_summary_text.delta","delta":"Thinking"}`,
		}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.adapter.NewObserver(tc.path, RequestInfo{Stream: true}, "text/event-stream")
			defer o.Release()
			for i := 0; i < len(tc.events); i += 2 {
				o.OnEvent(tc.events[i], []byte(tc.events[i+1]))
				generated := o.GeneratedBytes() > 0
				if want := i/2 >= tc.firstGen; generated != want {
					t.Fatalf("after event %d (%s): generated = %v, want %v", i/2, tc.events[i+1], generated, want)
				}
			}
		})
	}
}
