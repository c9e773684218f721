package providers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/ongoingai/gateway/internal/sse"
)

func TestObserverBodies(t *testing.T) {
	tests := []struct {
		name    string
		adapter Adapter
		path    string
		body    string
		want    Result
	}{
		{
			name: "chat completion", adapter: OpenAI(), path: "/v1/chat/completions", body: chatCompletionBody,
			want: Result{
				Tier:               Tier{ServiceTier: "default"},
				Usage:              Usage{InputTokens: 1117, OutputTokens: 46, Found: true},
				ResponseModel:      "gpt-4o-2024-08-06",
				DeliveredTextBytes: int64(len("The image shows a wooden boardwalk.")),
				FinishReasons:      []string{"stop"},
			},
		},
		{
			name: "chat completion with cache hit, reasoning and tool call", adapter: OpenAI(), path: "/v1/chat/completions", body: chatReasoningCachedBody,
			want: Result{
				Tier:               Tier{ServiceTier: "default"},
				Usage:              Usage{InputTokens: 2006, OutputTokens: 300, CachedInputTokens: 1920, ReasoningTokens: 256, Found: true},
				ResponseModel:      "o3-mini-2025-01-31",
				DeliveredTextBytes: int64(len(`{"location": "Boston, MA"}`)),
				FinishReasons:      []string{"tool_calls"},
			},
		},
		{
			name: "legacy completion", adapter: OpenAI(), path: "/v1/completions", body: legacyCompletionBody,
			want: Result{
				Usage:              Usage{InputTokens: 5, OutputTokens: 7, Found: true},
				ResponseModel:      "gpt-3.5-turbo-instruct",
				DeliveredTextBytes: int64(len("\n\nThis is indeed a test")),
				FinishReasons:      []string{"length"},
			},
		},
		{
			name: "embeddings", adapter: OpenAI(), path: "/v1/embeddings", body: embeddingsBody,
			want: Result{Usage: Usage{InputTokens: 8, Found: true}, ResponseModel: "text-embedding-3-small"},
		},
		{
			name: "responses with reasoning and cache hit", adapter: OpenAI(), path: "/v1/responses", body: responsesBody,
			want: Result{
				Usage:              Usage{InputTokens: 328, OutputTokens: 452, CachedInputTokens: 128, ReasoningTokens: 384, Found: true},
				ResponseModel:      "o4-mini-2025-04-16",
				DeliveredTextBytes: int64(len("Thinking.") + len("A scenic landscape.")),
				FinishReasons:      []string{"completed"},
			},
		},
		{
			name: "compatible upstream under another base", adapter: OpenAI(), path: "/openai/v1/chat/completions", body: chatCompletionBody,
			want: Result{
				Tier:               Tier{ServiceTier: "default"},
				Usage:              Usage{InputTokens: 1117, OutputTokens: 46, Found: true},
				ResponseModel:      "gpt-4o-2024-08-06",
				DeliveredTextBytes: int64(len("The image shows a wooden boardwalk.")),
				FinishReasons:      []string{"stop"},
			},
		},
		{
			name: "anthropic message with cache read and write", adapter: Anthropic(), path: "/v1/messages", body: anthropicBody,
			want: Result{
				Tier: Tier{ServiceTier: "standard"},
				Usage: Usage{
					InputTokens: 2095 + 4096 + 2051, OutputTokens: 503,
					CachedInputTokens: 4096, CacheWriteTokens: 2051, Found: true,
				},
				ResponseModel:      "claude-sonnet-4-20250514",
				DeliveredTextBytes: int64(len("Let me think.") + len("Hi! My name is Claude.")),
				FinishReasons:      []string{"end_turn"},
			},
		},
		{
			name: "anthropic count_tokens reports no usage", adapter: Anthropic(), path: "/v1/messages/count_tokens", body: anthropicCountTokensBody,
			want: Result{},
		},
		{
			name: "stored response retrieval is not billed twice", adapter: OpenAI(), path: "/v1/responses/resp_67ccd3a9", body: responsesBody,
			want: Result{ResponseModel: "o4-mini-2025-04-16"},
		},
		{
			name: "error body", adapter: OpenAI(), path: "/v1/chat/completions",
			body: `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			want: Result{},
		},
		{
			name: "not JSON", adapter: Anthropic(), path: "/v1/messages", body: "<html>502 Bad Gateway</html>",
			want: Result{},
		},
		{
			name: "usage null", adapter: OpenAI(), path: "/v1/chat/completions", body: `{"model":"m","usage":null}`,
			want: Result{ResponseModel: "m"},
		},
	}
	for _, tt := range tests {
		tt.want.Final = tt.want.Usage.Found // a body's usage is its whole account
		t.Run(tt.name, func(t *testing.T) {
			// Fed whole, and split at every byte boundary.
			for split := 0; split <= len(tt.body); split++ {
				o := tt.adapter.NewObserver(tt.path, RequestInfo{}, "application/json")
				o.Write([]byte(tt.body[:split]))
				o.Write([]byte(tt.body[split:]))
				if got := o.Result(); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("split at %d:\n got %+v\nwant %+v", split, got, tt.want)
				}
			}
			// And one byte at a time.
			o := tt.adapter.NewObserver(tt.path, RequestInfo{}, "application/json")
			for i := range len(tt.body) {
				o.Write([]byte{tt.body[i]})
			}
			if got := o.Result(); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("byte by byte:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestObserverHugeBody feeds a 50 MB body whose usage is at its very end
// in 32 KiB writes, as the proxy's tap would.
func TestObserverHugeBody(t *testing.T) {
	body := bigChatBody(50 << 20)
	o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{}, "application/json")
	for p := body; len(p) > 0; {
		n := min(32<<10, len(p))
		o.Write(p[:n])
		p = p[n:]
	}
	got := o.Result()
	want := Usage{InputTokens: 123, OutputTokens: 4567, CachedInputTokens: 100, ReasoningTokens: 7, Found: true}
	if got.Usage != want || got.ResponseModel != "gpt-4o-2024-08-06" {
		t.Fatalf("got %+v", got)
	}
	// The content is decoded text, so escapes count as the bytes they
	// stand for; encoding/json is the judge.
	var doc struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if want := int64(len(doc.Choices[0].Message.Content)); got.DeliveredTextBytes != want {
		t.Fatalf("text bytes %d, want %d", got.DeliveredTextBytes, want)
	}
}

// forwarded is what a proxy built on the framer and an observer sends to
// the client: untouched events as they came, rewritten events re-encoded,
// dropped events not at all.
type forwarded struct {
	obs Observer
	out []byte
}

func (f *forwarded) Event(ev sse.Event) {
	if ev.Truncated {
		return
	}
	data, ok := f.obs.OnEvent(ev.Name, ev.Data)
	switch {
	case !ok:
	case bytes.Equal(data, ev.Data):
		f.out = append(f.out, ev.Raw...)
	default:
		f.out = sse.AppendEvent(f.out, ev.Name, data)
	}
}

func (f *forwarded) Passthrough(b []byte) { f.out = append(f.out, b...) }

// runStream frames stream in pieces of size chunk through an observer and
// returns the result and the bytes forwarded to the client.
func runStream(t *testing.T, a Adapter, path string, info RequestInfo, stream string, chunk int) (Result, string) {
	t.Helper()
	o := a.NewObserver(path, info, "text/event-stream")
	fw := &forwarded{obs: o}
	fr := sse.NewFramer(1<<20, fw)
	for p := []byte(stream); len(p) > 0; {
		n := min(chunk, len(p))
		fr.Write(p[:n])
		p = p[n:]
	}
	fr.Close()
	return o.Result(), string(fw.out)
}

func TestObserverStreams(t *testing.T) {
	tests := []struct {
		name    string
		adapter Adapter
		path    string
		stream  string
		want    Result
		partial bool // usage seen, but not the closing usage: Final stays false
	}{
		{
			name: "chat completion", adapter: OpenAI(), path: "/v1/chat/completions", stream: openAIUsageStream,
			want: Result{
				Tier: Tier{ServiceTier: "default"}, Usage: Usage{InputTokens: 19, OutputTokens: 10, Found: true}, ResponseModel: "gpt-4o-2024-08-06", DeliveredTextBytes: 14,
				FinishReasons: []string{"stop"}},
		},
		{
			name: "chat completion reasoning tool call with cache hit", adapter: OpenAI(), path: "/v1/chat/completions", stream: reasoningToolStream,
			want: Result{
				Usage:              Usage{InputTokens: 100, OutputTokens: 40, CachedInputTokens: 64, ReasoningTokens: 30, Found: true},
				ResponseModel:      "deepseek-reasoner",
				DeliveredTextBytes: int64(len("Hmm") + len(`{"a":`) + len("1}")),
				FinishReasons:      []string{"tool_calls"},
			},
		},
		{
			name: "legacy completion", adapter: OpenAI(), path: "/v1/completions", stream: legacyCompletionStream,
			want: Result{Usage: Usage{InputTokens: 4, OutputTokens: 2, Found: true}, ResponseModel: "gpt-3.5-turbo-instruct", DeliveredTextBytes: 7,
				FinishReasons: []string{"length"}},
		},
		{
			name: "chat completion cut before usage", adapter: OpenAI(), path: "/v1/chat/completions",
			stream: sseStream("", chatChunk(`[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}]`, "null")),
			want:   Result{ResponseModel: "gpt-4o-2024-08-06", DeliveredTextBytes: 5, Tier: Tier{ServiceTier: "default"}},
		},
		{
			name: "responses", adapter: OpenAI(), path: "/v1/responses", stream: responsesStream,
			want: Result{
				Usage: Usage{InputTokens: 37, OutputTokens: 11, Found: true}, ResponseModel: "gpt-4.1-2025-04-14", DeliveredTextBytes: int64(len("Hi there!")),
				FinishReasons: []string{"completed"}},
		},
		{
			name: "responses incomplete with reasoning", adapter: OpenAI(), path: "/v1/responses", stream: responsesIncompleteStream,
			want: Result{Usage: Usage{InputTokens: 20, OutputTokens: 64, ReasoningTokens: 64, Found: true}, ResponseModel: "o4-mini-2025-04-16", DeliveredTextBytes: 4,
				FinishReasons: []string{"max_output_tokens"}},
		},
		{
			name: "responses failed", adapter: OpenAI(), path: "/v1/responses",
			stream: sseStream("response.failed", `{"type":"response.failed","sequence_number":1,"response":{"id":"resp_2","status":"failed","error":{"code":"server_error","message":"x"},"model":"gpt-4.1","output":[],"usage":{"input_tokens":9,"output_tokens":0,"total_tokens":9}}}`),
			want:   Result{Usage: Usage{InputTokens: 9, Found: true}, ResponseModel: "gpt-4.1", FinishReasons: []string{"failed"}},
		},
		{
			name: "anthropic with thinking and cache read", adapter: Anthropic(), path: "/v1/messages", stream: anthropicStream,
			want: Result{
				Usage:              Usage{InputTokens: 25 + 1800, OutputTokens: 15, CachedInputTokens: 1800, Found: true},
				ResponseModel:      "claude-sonnet-4-20250514",
				DeliveredTextBytes: int64(len("Let me think") + len("Hello!")),
				FinishReasons:      []string{"end_turn"},
			},
		},
		{
			name: "anthropic newer usage in message_delta, cache write, tool input", adapter: Anthropic(), path: "/v1/messages", stream: anthropicNewUsageStream,
			want: Result{
				Tier:               Tier{ServiceTier: "standard"},
				Usage:              Usage{InputTokens: 12 + 1000, OutputTokens: 42, CacheWriteTokens: 1000, Found: true},
				ResponseModel:      "claude-opus-4-1-20250805",
				DeliveredTextBytes: int64(len(`{"city": "Paris"}`)),
				FinishReasons:      []string{"tool_use"},
			},
		},
		{
			name: "anthropic cut after message_start", adapter: Anthropic(), path: "/v1/messages", partial: true,
			stream: anthropicStream[:bytes.Index([]byte(anthropicStream), []byte("event: content_block_stop"))],
			want: Result{
				Usage:              Usage{InputTokens: 1825, OutputTokens: 1, CachedInputTokens: 1800, Found: true},
				ResponseModel:      "claude-sonnet-4-20250514",
				DeliveredTextBytes: int64(len("Let me think")),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 7, 64, 1 << 20} {
				got, out := runStream(t, tt.adapter, tt.path, RequestInfo{Stream: true}, tt.stream, chunk)
				tt.want.Final = tt.want.Usage.Found && !tt.partial
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("chunk %d:\n got %+v\nwant %+v", chunk, got, tt.want)
				}
				if out != tt.stream {
					t.Fatalf("chunk %d: the client must see the stream untouched\n got %q\nwant %q", chunk, out, tt.stream)
				}
			}
		})
	}
}

func TestObserverHidesInjectedUsage(t *testing.T) {
	// What the client would have received had it not been given usage:
	// no "usage" member and no usage-only chunk.
	withoutUsage := func(choices string) string {
		return `{"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion.chunk","created":1741569952,` +
			`"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":` + choices +
			`,"obfuscation":"Xb2n"}`
	}
	want := sseStream(
		"", withoutUsage(`[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`),
		"", withoutUsage(`[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]`),
		"", withoutUsage(`[{"index":0,"delta":{"content":" there \u00e9"},"logprobs":null,"finish_reason":null}]`),
		"", withoutUsage(`[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]`),
		"", "[DONE]",
	)
	for _, chunk := range []int{1, 13, 1 << 20} {
		got, out := runStream(t, OpenAI(), "/v1/chat/completions", RequestInfo{Stream: true, UsageInjected: true}, openAIUsageStream, chunk)
		if out != want {
			t.Fatalf("chunk %d: client sees\n%s\nwant\n%s", chunk, out, want)
		}
		if got.Usage != (Usage{InputTokens: 19, OutputTokens: 10, Found: true}) || got.DeliveredTextBytes != 14 {
			t.Fatalf("chunk %d: usage still counted: %+v", chunk, got)
		}
	}

	// Legacy completions get the same treatment.
	_, out := runStream(t, OpenAI(), "/v1/completions", RequestInfo{Stream: true, UsageInjected: true}, legacyCompletionStream, 5)
	if bytes.Contains([]byte(out), []byte("usage")) || !bytes.Contains([]byte(out), []byte(`"text":" is"`)) {
		t.Fatalf("legacy completion stream: %s", out)
	}
}

func TestRemoveUsageNullKeepsEveryOtherByte(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":1,"usage":null}`, `{"a":1}`},
		{`{"a":1 , "usage" : null , "b":[2]}`, `{"a":1  , "b":[2]}`},
		{`{"usage":null,"a":1}`, `{"a":1}`},
		{`{ "usage" : null }`, `{  }`},
		{`{"usage":null}`, `{}`},
		{`{"choices":[{"usage":null}],"usage":null}`, `{"choices":[{"usage":null}]}`},
	}
	o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{Stream: true, UsageInjected: true}, "text/event-stream")
	for _, tt := range tests {
		got, ok := o.OnEvent("", []byte(tt.in))
		if !ok || string(got) != tt.want {
			t.Errorf("OnEvent(%s) = %s, %v; want %s", tt.in, got, ok, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("rewrite of %s is not JSON: %s", tt.in, got)
		}
	}
	// Without injection nothing is touched, and partial JSON is forwarded
	// as is.
	plain := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{Stream: true}, "text/event-stream")
	for _, in := range []string{`{"a":1,"usage":null}`, `{"choices":[],"usage":{"prompt_tokens":1}}`} {
		if got, ok := plain.OnEvent("", []byte(in)); !ok || string(got) != in {
			t.Errorf("uninjected OnEvent(%s) = %s, %v", in, got, ok)
		}
	}
	if got, ok := o.OnEvent("", []byte(`{"a":1,"usage":null`)); !ok || string(got) != `{"a":1,"usage":null` {
		t.Errorf("partial event rewritten: %s %v", got, ok)
	}
}

func TestObserverSurvivesTruncatedEvents(t *testing.T) {
	// The proxy may hand over only a prefix of an oversized event: every
	// prefix must be forwarded as is, and a count cut short ("1" of "19")
	// must never be taken for the real one.
	events := []struct {
		a    Adapter
		path string
		data string
		want Usage
	}{
		{OpenAI(), "/v1/chat/completions", chatChunk(`[]`, `{"prompt_tokens":19,"completion_tokens":10}`), Usage{InputTokens: 19, OutputTokens: 10, Found: true}},
		{OpenAI(), "/v1/responses", `{"type":"response.completed","response":{"model":"gpt-4.1","usage":{"input_tokens":37,"output_tokens":11}}}`, Usage{InputTokens: 37, OutputTokens: 11, Found: true}},
		{Anthropic(), "/v1/messages", `{"type":"message_start","message":{"model":"claude","usage":{"input_tokens":25,"output_tokens":1}}}`, Usage{InputTokens: 25, OutputTokens: 1, Found: true}},
	}
	for _, ev := range events {
		for i := 0; i < len(ev.data); i++ {
			o := ev.a.NewObserver(ev.path, RequestInfo{Stream: true, UsageInjected: true}, "text/event-stream")
			out, ok := o.OnEvent("", []byte(ev.data[:i]))
			if !ok || string(out) != ev.data[:i] {
				t.Fatalf("prefix %d of %s: forwarded %q, %v", i, ev.data, out, ok)
			}
			if u := o.Result().Usage; u.Found && u != ev.want {
				t.Fatalf("prefix %d of %s: usage %+v", i, ev.data, u)
			}
		}
	}
}

func TestResultIsCumulativeMidStream(t *testing.T) {
	o := Anthropic().NewObserver("/v1/messages", RequestInfo{Stream: true}, "text/event-stream")
	o.OnEvent("message_start", []byte(`{"type":"message_start","message":{"model":"claude-3-5-haiku-20241022","usage":{"input_tokens":10,"output_tokens":1}}}`))
	if got := o.Result(); !reflect.DeepEqual(got, Result{Usage: Usage{InputTokens: 10, OutputTokens: 1, Found: true}, ResponseModel: "claude-3-5-haiku-20241022"}) {
		t.Fatalf("after message_start: %+v", got)
	}
	o.OnEvent("message_delta", []byte(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":30}}`))
	if !o.Result().Final {
		t.Fatal("message_delta's usage did not make the account final")
	}
	if got := o.Result().Usage; got != (Usage{InputTokens: 10, OutputTokens: 30, Found: true}) {
		t.Fatalf("after message_delta: %+v", got)
	}
}

// FuzzOpenAIStream feeds arbitrary SSE bytes to a chat completions
// observer with injected usage and checks that it never panics, that a
// rewritten event is the original JSON minus its top-level usage, that only
// a usage-only chunk is dropped, and that the usage it reports is the last
// one encoding/json finds.
func FuzzOpenAIStream(f *testing.F) {
	f.Add([]byte(openAIUsageStream), uint8(13))
	f.Add([]byte(reasoningToolStream), uint8(1))
	f.Add([]byte("data: {\"usage\":null,\"choices\":[]}\r\n\r\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n"), uint8(3))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{Stream: true, UsageInjected: true}, "text/event-stream")
		var want Usage
		check := &eventCheck{t: t, obs: o, lastUsage: &want}
		fr := sse.NewFramer(4096, check)
		size := int(chunk%32) + 1
		for p := stream; len(p) > 0; {
			n := min(size, len(p))
			fr.Write(p[:n])
			p = p[n:]
		}
		fr.Close()
		if got := o.Result().Usage; got != want {
			t.Fatalf("usage %+v, encoding/json says %+v", got, want)
		}
	})
}

// eventCheck verifies each event's rewrite against encoding/json.
type eventCheck struct {
	t         *testing.T
	obs       Observer
	lastUsage *Usage
}

func (c *eventCheck) Passthrough([]byte) {}

func (c *eventCheck) Event(ev sse.Event) {
	t := c.t
	if ev.Truncated {
		return
	}
	in := bytes.Clone(ev.Data)
	out, forward := c.obs.OnEvent(ev.Name, ev.Data)
	if !bytes.Equal(ev.Data, in) {
		t.Fatalf("observer modified its input")
	}
	if bytes.Equal(bytes.TrimSpace(in), []byte("[DONE]")) || !json.Valid(in) {
		if !forward || !bytes.Equal(out, in) {
			t.Fatalf("non-JSON event %q changed: %q, %v", in, out, forward)
		}
		// A prefix may hold a complete usage object, which the observer
		// rightly takes (TestObserverSurvivesTruncatedEvents checks it);
		// encoding/json cannot judge that, so follow the observer here.
		*c.lastUsage = c.obs.Result().Usage
		return
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(in, &doc) != nil {
		return // valid JSON that is not an object: nothing to check
	}
	if r := referenceUsage(t, in, endpointChatCompletions); r.found {
		*c.lastUsage = r.usage
	}
	if topLevelKeys(t, in, "usage") > 1 || topLevelKeys(t, in, "choices") > 1 {
		// Repeated keys never come from upstream; only ask for valid JSON.
		if forward && !json.Valid(out) {
			t.Fatalf("rewrite of %s is not JSON: %s", in, out)
		}
		return
	}
	usage, hasUsage := doc["usage"]
	usageNull := hasUsage && string(bytes.TrimSpace(usage)) == "null"
	var choices []json.RawMessage
	choicesEmpty := doc["choices"] == nil || (json.Unmarshal(doc["choices"], &choices) == nil && len(choices) == 0)
	var usageObj map[string]json.RawMessage
	isObj := hasUsage && json.Unmarshal(usage, &usageObj) == nil && usageObj != nil

	if !forward {
		if !isObj || !choicesEmpty {
			t.Fatalf("dropped %s, which is not a usage-only chunk", in)
		}
		return
	}
	if isObj && choicesEmpty {
		t.Fatalf("forwarded usage-only chunk %s", in)
	}
	if !usageNull {
		if !bytes.Equal(out, in) {
			t.Fatalf("rewrote %s to %s without a null usage", in, out)
		}
		return
	}
	var rewritten map[string]json.RawMessage
	if err := json.Unmarshal(out, &rewritten); err != nil {
		t.Fatalf("rewrite of %s is not JSON: %s (%v)", in, out, err)
	}
	delete(doc, "usage")
	if !reflect.DeepEqual(rewritten, doc) {
		t.Fatalf("rewrite of %s lost more than usage: %s", in, out)
	}
}

// topLevelKeys counts the occurrences of name among the members of the
// top-level object in doc.
func topLevelKeys(t *testing.T, doc []byte, name string) int {
	dec := json.NewDecoder(bytes.NewReader(doc))
	if _, err := dec.Token(); err != nil { // the opening brace
		t.Fatal(err)
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		if tok == name {
			n++
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func BenchmarkObserverChatChunk(b *testing.B) {
	o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{Stream: true, UsageInjected: true}, "text/event-stream")
	data := []byte(chatChunk(`[{"index":0,"delta":{"content":" word"},"logprobs":null,"finish_reason":null}]`, "null"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		o.OnEvent("", data)
	}
}

func BenchmarkObserverAnthropicDelta(b *testing.B) {
	o := Anthropic().NewObserver("/v1/messages", RequestInfo{Stream: true}, "text/event-stream")
	data := []byte(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" word"}}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		o.OnEvent("content_block_delta", data)
	}
}

func BenchmarkObserverResponsesDelta(b *testing.B) {
	o := OpenAI().NewObserver("/v1/responses", RequestInfo{Stream: true}, "text/event-stream")
	data := []byte(`{"type":"response.output_text.delta","sequence_number":4,"item_id":"msg_67c9fdcf37fc8190ba82116e33fb28c507b8b0ad4e5eb654","output_index":0,"content_index":0,"delta":" word","logprobs":[]}`)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		o.OnEvent("response.output_text.delta", data)
	}
}

// BenchmarkObserverHugeBody reports the cost and allocations of reading a
// 50 MB response in 32 KiB writes.
func BenchmarkObserverHugeBody(b *testing.B) {
	body := bigChatBody(50 << 20)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{}, "application/json")
		for p := body; len(p) > 0; {
			n := min(32<<10, len(p))
			o.Write(p[:n])
			p = p[n:]
		}
		if !o.Result().Usage.Found {
			b.Fatal("no usage")
		}
	}
}

// TestObserverReleaseStartsClean runs responses of every kind through
// pooled observers, released after each, in changing orders: each result
// must equal what a never-used observer reports, so nothing of one
// response (model, usage, text, scanner state) leaks into the next.
func TestObserverReleaseStartsClean(t *testing.T) {
	type response struct {
		name    string
		adapter Adapter
		path    string
		info    RequestInfo
		body    string // a plain body, or
		stream  string // an SSE stream
	}
	responses := []response{
		{name: "chat body", adapter: OpenAI(), path: "/v1/chat/completions", body: string(bigChatBody(2000))},
		{name: "body without model", adapter: OpenAI(), path: "/v1/chat/completions",
			body: `{"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`},
		{name: "error body", adapter: OpenAI(), path: "/v1/chat/completions", body: `{"error":{"message":"no","type":"invalid_request_error"}}`},
		{name: "anthropic stream", adapter: Anthropic(), path: "/v1/messages", info: RequestInfo{Stream: true}, stream: anthropicStream},
		{name: "anthropic stream cut", adapter: Anthropic(), path: "/v1/messages", info: RequestInfo{Stream: true},
			stream: anthropicStream[:bytes.Index([]byte(anthropicStream), []byte("event: content_block_stop"))]},
		{name: "openai injected usage", adapter: OpenAI(), path: "/v1/chat/completions", info: RequestInfo{Stream: true, UsageInjected: true}, stream: openAIUsageStream},
		{name: "responses stream", adapter: OpenAI(), path: "/v1/responses", info: RequestInfo{Stream: true}, stream: responsesStream},
		{name: "not json", adapter: OpenAI(), path: "/v1/chat/completions", body: `<html>502</html>`},
		{name: "many choices, reasons of a compatible upstream", adapter: OpenAI(), path: "/v1/chat/completions",
			body: chatChoices(`"eos"`, `"length"`, `"abort\u00e9"`, `"eos"`)},
		{name: "responses incomplete", adapter: OpenAI(), path: "/v1/responses", info: RequestInfo{Stream: true}, stream: responsesIncompleteStream},
	}
	fresh := func(r response) Observer {
		a := r.adapter.(adapter)
		o := &observer{endpoint: a.classify(r.path), info: r.info}
		o.bodySchema, o.eventSchema = schemasFor(o.endpoint)
		return o
	}
	feed := func(o Observer, r response) (Result, string) {
		if r.stream == "" {
			o.Write([]byte(r.body))
			return o.Result(), ""
		}
		fw := &forwarded{obs: o}
		fr := sse.NewFramer(1<<20, fw)
		fr.Write([]byte(r.stream))
		fr.Close()
		return o.Result(), string(fw.out)
	}
	wantRes := make([]Result, len(responses))
	wantOut := make([]string, len(responses))
	for i, r := range responses {
		wantRes[i], wantOut[i] = feed(fresh(r), r)
	}
	for round := range 2 * len(responses) {
		for k := range responses {
			i := (k*(round+1) + round) % len(responses)
			r := responses[i]
			o := r.adapter.NewObserver(r.path, r.info, "")
			got, out := feed(o, r)
			o.Release()
			if !reflect.DeepEqual(got, wantRes[i]) || out != wantOut[i] {
				t.Fatalf("round %d, %s after reuse:\n got %+v %q\nwant %+v %q", round, r.name, got, out, wantRes[i], wantOut[i])
			}
		}
	}
}

// BenchmarkObserverResponse is one whole response per iteration, observer
// creation and release included: what the proxy pays per call.
func BenchmarkObserverResponse(b *testing.B) {
	body := bigChatBody(600)
	b.Run("chat-body", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := OpenAI().NewObserver("/v1/chat/completions", RequestInfo{}, "application/json")
			o.Write(body)
			if !o.Result().Usage.Found {
				b.Fatal("no usage")
			}
			o.Release()
		}
	})
	b.Run("anthropic-stream", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := Anthropic().NewObserver("/v1/messages", RequestInfo{Stream: true}, "text/event-stream")
			fw := forwarded{obs: o}
			fr := sse.NewFramer(1<<20, &fw)
			fr.Write([]byte(anthropicStream))
			fr.Close()
			if !o.Result().Final {
				b.Fatal("no usage")
			}
			o.Release()
		}
	})
}
