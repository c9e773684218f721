package providers

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestForFormat(t *testing.T) {
	for _, format := range []string{"openai", "anthropic"} {
		a, ok := ForFormat(format)
		if !ok || a.Format() != format {
			t.Errorf("ForFormat(%q) = %v, %v", format, a, ok)
		}
	}
	if a, ok := ForFormat("gemini"); ok || a != nil {
		t.Errorf("ForFormat(gemini) = %v, %v", a, ok)
	}
	if OpenAI().Format() != "openai" || Anthropic().Format() != "anthropic" {
		t.Error("constructors return the wrong dialect")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		a    adapter
		path string
		want endpoint
	}{
		{adapter{FormatOpenAI}, "/v1/chat/completions", endpointChatCompletions},
		{adapter{FormatOpenAI}, "/openai/v1/chat/completions", endpointChatCompletions},
		{adapter{FormatOpenAI}, "/v1/chat/completions/", endpointChatCompletions},
		{adapter{FormatOpenAI}, "/v1/completions", endpointCompletions},
		{adapter{FormatOpenAI}, "/v1/embeddings", endpointEmbeddings},
		{adapter{FormatOpenAI}, "/v1/responses", endpointResponses},
		{adapter{FormatOpenAI}, "/v1/responses?stream=true", endpointResponses},
		{adapter{FormatOpenAI}, "/v1/responses/resp_123", endpointOther},
		{adapter{FormatOpenAI}, "/v1/chat/completions/chatcmpl-1", endpointOther},
		{adapter{FormatOpenAI}, "/v1/models", endpointOther},
		{adapter{FormatOpenAI}, "/v1/messages", endpointOther},
		{adapter{FormatAnthropic}, "/v1/messages", endpointMessages},
		{adapter{FormatAnthropic}, "/anthropic/v1/messages", endpointMessages},
		{adapter{FormatAnthropic}, "/v1/messages/count_tokens", endpointOther},
		{adapter{FormatAnthropic}, "/v1/messages/batches", endpointOther},
		{adapter{FormatAnthropic}, "/v1/chat/completions", endpointOther},
	}
	for _, tt := range tests {
		if got := tt.a.classify(tt.path); got != tt.want {
			t.Errorf("%s classify(%q) = %d, want %d", tt.a.format, tt.path, got, tt.want)
		}
	}
}

func TestPrepareRequestReadsModelAndStream(t *testing.T) {
	tests := []struct {
		name string
		a    Adapter
		path string
		body string
		want RequestInfo
	}{
		{"chat", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`, RequestInfo{Model: "gpt-4o"}},
		{"escaped model", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o\u002dmini","stream":false}`, RequestInfo{Model: "gpt-4o-mini"}},
		{"nested model ignored", OpenAI(), "/v1/chat/completions", `{"metadata":{"model":"x"},"messages":[{"model":"y"}],"model":"gpt-4o"}`, RequestInfo{Model: "gpt-4o"}},
		{"responses stream", OpenAI(), "/v1/responses", `{"model":"o4-mini","input":"Hi","stream":true}`, RequestInfo{Model: "o4-mini", Stream: true}},
		{"anthropic stream", Anthropic(), "/v1/messages", `{"model":"claude-sonnet-4-20250514","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Hi"}]}`, RequestInfo{Model: "claude-sonnet-4-20250514", Stream: true, MaxOutputTokens: 1024}},
		{"responses output cap", OpenAI(), "/v1/responses", `{"model":"o4-mini","input":"Hi","max_output_tokens":300}`, RequestInfo{Model: "o4-mini", MaxOutputTokens: 300}},
		{"chat completion cap", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o","max_completion_tokens":77,"messages":[]}`, RequestInfo{Model: "gpt-4o", MaxOutputTokens: 77}},
		{"negative cap ignored", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o","max_tokens":-5}`, RequestInfo{Model: "gpt-4o"}},
		{"embeddings", OpenAI(), "/v1/embeddings", `{"input":"The food was delicious","model":"text-embedding-3-small","encoding_format":"float"}`, RequestInfo{Model: "text-embedding-3-small"}},
		{"stream not a bool", OpenAI(), "/v1/responses", `{"model":"m","stream":"yes"}`, RequestInfo{Model: "m"}},
		{"last key wins", OpenAI(), "/v1/responses", `{"model":"a","stream":true,"model":"b","stream":false}`, RequestInfo{Model: "b"}},
		{"not JSON", OpenAI(), "/v1/chat/completions", `model=gpt-4o&stream=true`, RequestInfo{}},
		{"truncated JSON", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o","stream":true`, RequestInfo{}},
		{"trailing garbage", OpenAI(), "/v1/chat/completions", `{"model":"gpt-4o","stream":true} x`, RequestInfo{}},
		{"empty", OpenAI(), "/v1/chat/completions", ``, RequestInfo{}},
		{"top-level array", OpenAI(), "/v1/chat/completions", `[{"model":"gpt-4o"}]`, RequestInfo{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			info, out := tt.a.PrepareRequest(tt.path, body, true)
			if info != tt.want {
				t.Errorf("info %+v, want %+v", info, tt.want)
			}
			if !sameSlice(out, body) {
				t.Errorf("body rewritten to %s", out)
			}
		})
	}
}

// sameSlice reports whether a and b are the very same bytes, not copies.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func TestPrepareRequestInjectsStreamUsage(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		body     string
		wantBody string // "" means untouched
	}{
		{
			name:     "no stream_options",
			path:     "/v1/chat/completions",
			body:     `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`,
			wantBody: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`,
		},
		{
			name:     "pretty-printed, stream last",
			path:     "/v1/chat/completions",
			body:     "{\n  \"model\": \"gpt-4o\",\n  \"messages\": [],\n  \"stream\" : true\n}\n",
			wantBody: "{\n  \"model\": \"gpt-4o\",\n  \"messages\": [],\n  \"stream\" : true,\"stream_options\":{\"include_usage\":true}\n}\n",
		},
		{
			name:     "empty stream_options",
			path:     "/v1/chat/completions",
			body:     `{"model":"gpt-4o","stream":true,"stream_options":{}}`,
			wantBody: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:     "other stream_options kept",
			path:     "/v1/chat/completions",
			body:     `{"model":"gpt-4o","stream_options":{"include_obfuscation":false},"stream":true}`,
			wantBody: `{"model":"gpt-4o","stream_options":{"include_usage":true,"include_obfuscation":false},"stream":true}`,
		},
		{
			name:     "include_usage false is overridden",
			path:     "/v1/chat/completions",
			body:     `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage": false ,"include_obfuscation":true}}`,
			wantBody: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage": true ,"include_obfuscation":true}}`,
		},
		{
			name:     "stream_options null",
			path:     "/v1/chat/completions",
			body:     `{"model":"gpt-4o","stream":true,"stream_options":null}`,
			wantBody: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:     "legacy completions",
			path:     "/v1/completions",
			body:     `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","stream":true}`,
			wantBody: `{"model":"gpt-3.5-turbo-instruct","prompt":"Say this is a test","stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:     "compatible upstream under another base",
			path:     "/groq/openai/v1/chat/completions",
			body:     `{"model":"llama-3.3-70b-versatile","stream":true}`,
			wantBody: `{"model":"llama-3.3-70b-versatile","stream":true,"stream_options":{"include_usage":true}}`,
		},
		{name: "client already asked", path: "/v1/chat/completions", body: `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`},
		{name: "not streamed", path: "/v1/chat/completions", body: `{"model":"gpt-4o","stream":false}`},
		{name: "stream_options not an object", path: "/v1/chat/completions", body: `{"model":"gpt-4o","stream":true,"stream_options":"x"}`},
		{name: "responses API reports usage anyway", path: "/v1/responses", body: `{"model":"gpt-4.1","input":"Hi","stream":true}`},
		{name: "embeddings", path: "/v1/embeddings", body: `{"model":"text-embedding-3-small","input":"x","stream":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			orig := bytes.Clone(body)
			info, out := OpenAI().PrepareRequest(tt.path, body, true)
			if !bytes.Equal(body, orig) {
				t.Fatalf("the caller's body was modified")
			}
			if tt.wantBody == "" {
				if info.UsageInjected || !sameSlice(out, body) {
					t.Fatalf("rewrote to %s (injected %v)", out, info.UsageInjected)
				}
				return
			}
			if !info.UsageInjected || !info.Stream {
				t.Fatalf("info %+v", info)
			}
			if string(out) != tt.wantBody {
				t.Fatalf("body\n got %s\nwant %s", out, tt.wantBody)
			}
			assertOnlyIncludeUsageChanged(t, orig, out)
			// Without permission nothing is touched.
			info, out = OpenAI().PrepareRequest(tt.path, body, false)
			if info.UsageInjected || !sameSlice(out, body) {
				t.Fatalf("rewrote with injection off")
			}
		})
	}
}

// assertOnlyIncludeUsageChanged decodes both bodies and checks that the
// rewrite kept every field and only set stream_options.include_usage.
func assertOnlyIncludeUsageChanged(t *testing.T, before, after []byte) {
	t.Helper()
	var b, a map[string]any
	if err := json.Unmarshal(before, &b); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(after, &a); err != nil {
		t.Fatalf("rewritten body is not JSON: %v\n%s", err, after)
	}
	opts, _ := b["stream_options"].(map[string]any)
	if opts == nil {
		opts = map[string]any{}
	}
	opts["include_usage"] = true
	b["stream_options"] = opts
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("rewrite changed more than include_usage:\n got %v\nwant %v", a, b)
	}
}

func TestAnthropicNeverRewrites(t *testing.T) {
	body := []byte(`{"model":"claude-sonnet-4-20250514","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Hello"}]}`)
	info, out := Anthropic().PrepareRequest("/v1/messages", body, true)
	if info.UsageInjected || !sameSlice(out, body) || !info.Stream {
		t.Fatalf("info %+v, body %s", info, out)
	}
}

// TestPrepareRequestLargeBodyAllocations reads a multi-megabyte request
// and checks the cost does not grow with it: only the model string is
// allocated.
func TestPrepareRequestLargeBodyAllocations(t *testing.T) {
	body := largeRequest(1 << 20)
	// Many runs, because the race detector makes sync.Pool drop a quarter
	// of what it is given and the average must still round down to one.
	allocs := testing.AllocsPerRun(50, func() {
		info, out := OpenAI().PrepareRequest("/v1/chat/completions", body, true)
		if info.Model != "gpt-4o" || !info.Stream || info.UsageInjected || !sameSlice(out, body) {
			t.Fatalf("info %+v", info)
		}
	})
	if allocs > 1 {
		t.Fatalf("%v allocations reading a %d-byte request", allocs, len(body))
	}
}

// largeRequest returns a streamed chat request of about size bytes that
// already asks for usage, with the flags after a huge message.
func largeRequest(size int) []byte {
	content := strings.Repeat(`Summarise this: \"quoted\" text\n`, size/34)
	return []byte(`{"messages":[{"role":"user","content":"` + content + `"}],"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`)
}

func BenchmarkPrepareRequest(b *testing.B) {
	body := largeRequest(1 << 20)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		OpenAI().PrepareRequest("/v1/chat/completions", body, true)
	}
}

func BenchmarkPrepareRequestInject(b *testing.B) {
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello!"}],"stream":true}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		OpenAI().PrepareRequest("/v1/chat/completions", body, true)
	}
}
