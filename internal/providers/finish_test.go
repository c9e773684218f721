package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// finishCase is one response and the finish reasons it must report.
type finishCase struct {
	name    string
	adapter Adapter
	path    string
	body    string // a plain body, or
	stream  string // an SSE stream
	want    []string
}

// observeFinish feeds c whole, split at a few places and (for streams) in
// small chunks, and checks the finish reasons each way.
func observeFinish(t *testing.T, c finishCase) {
	t.Helper()
	if c.stream != "" {
		for _, chunk := range []int{1, 7, 1 << 20} {
			got, out := runStream(t, c.adapter, c.path, RequestInfo{Stream: true}, c.stream, chunk)
			if !reflect.DeepEqual(got.FinishReasons, c.want) {
				t.Errorf("%s, chunk %d: finish reasons %q, want %q", c.name, chunk, got.FinishReasons, c.want)
			}
			if out != c.stream {
				t.Errorf("%s: the stream reached the client changed", c.name)
			}
		}
		return
	}
	for _, split := range []int{0, 1, len(c.body) / 3, len(c.body) / 2, len(c.body) - 1, len(c.body)} {
		o := c.adapter.NewObserver(c.path, RequestInfo{}, "application/json")
		o.Write([]byte(c.body[:split]))
		o.Write([]byte(c.body[split:]))
		got := o.Result()
		o.Release()
		if !reflect.DeepEqual(got.FinishReasons, c.want) {
			t.Errorf("%s, split at %d: finish reasons %q, want %q", c.name, split, got.FinishReasons, c.want)
		}
	}
}

// chatChoices returns a chat completion body with one choice per finish
// reason (raw JSON values: a quoted string or null).
func chatChoices(reasons ...string) string {
	var b strings.Builder
	b.WriteString(`{"id":"chatcmpl-n","object":"chat.completion","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[`)
	for i, r := range reasons {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"index":%d,"message":{"role":"assistant","content":"Hi %d"},"logprobs":null,"finish_reason":%s}`, i, i, r)
	}
	b.WriteString(`],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`)
	return b.String()
}

func TestFinishReasonsOpenAIChat(t *testing.T) {
	manyChoicesStream := sseStream(
		"", chatChunk(`[{"index":0,"delta":{"role":"assistant","content":"A"},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}]`, "null"),
		"", chatChunk(`[{"index":1,"delta":{},"finish_reason":"length"}]`, "null"),
		"", chatChunk(`[{"index":0,"delta":{"content":"!"},"finish_reason":null}]`, "null"),
		"", chatChunk(`[{"index":0,"delta":{},"finish_reason":"stop"}]`, "null"),
		"", chatChunk(`[]`, `{"prompt_tokens":5,"completion_tokens":8,"total_tokens":13}`),
		"", "[DONE]",
	)
	sameChunkStream := sseStream(
		"", chatChunk(`[{"index":0,"delta":{"content":"A"},"finish_reason":null},{"index":1,"delta":{"content":"B"},"finish_reason":null}]`, "null"),
		"", chatChunk(`[{"index":0,"delta":{},"finish_reason":"content_filter"},{"index":1,"delta":{},"finish_reason":"stop"}]`, "null"),
		"", "[DONE]",
	)
	finishing := chatChunk(`[{"index":0,"delta":{},"finish_reason":"stop"}]`, "null")
	for _, c := range []finishCase{
		{name: "n=3 body, reasons deduplicated in order", body: chatChoices(`"stop"`, `"length"`, `"stop"`), want: []string{"stop", "length"}},
		{name: "n=2 body, one choice still null", body: chatChoices(`null`, `"tool_calls"`), want: []string{"tool_calls"}},
		{name: "n=2 stream, choices finishing in turn", stream: manyChoicesStream, want: []string{"length", "stop"}},
		{name: "n=2 stream, both in one chunk", stream: sameChunkStream, want: []string{"content_filter", "stop"}},
		{name: "stream cancelled before any finish reason", stream: sseStream(
			"", chatChunk(`[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`, "null"),
			"", chatChunk(`[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]`, "null"),
		), want: nil},
		{name: "stream cut inside the finishing chunk", stream: "data: " + finishing[:strings.Index(finishing, `"stop"`)+3] + "\n\n", want: nil},
		{name: "legacy completion n=2 stream", path: "/v1/completions", stream: sseStream(
			"", `{"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"a","index":0,"logprobs":null,"finish_reason":"length"}],"model":"gpt-3.5-turbo-instruct"}`,
			"", `{"id":"cmpl-1","object":"text_completion","created":1,"choices":[{"text":"b","index":1,"logprobs":null,"finish_reason":"stop"}],"model":"gpt-3.5-turbo-instruct"}`,
			"", "[DONE]",
		), want: []string{"length", "stop"}},
		{name: "embeddings have none", path: "/v1/embeddings", body: embeddingsBody, want: nil},
		{name: "error body has none", body: `{"error":{"message":"bad","type":"invalid_request_error","finish_reason":"stop"}}`, want: nil},
		{name: "a finish_reason outside choices is not one", body: `{"finish_reason":"stop","choices":[{"message":{"finish_reason":"length"}}]}`, want: nil},
		{name: "compatible upstream's own vocabulary", body: chatChoices(`"eos"`, `"stop"`), want: []string{"eos", "stop"}},
	} {
		c.adapter = OpenAI()
		if c.path == "" {
			c.path = "/v1/chat/completions"
		}
		observeFinish(t, c)
	}
}

func TestFinishReasonsOpenAIResponses(t *testing.T) {
	body := func(status, details string) string {
		return `{"id":"resp_1","object":"response","created_at":1,"status":` + status + `,"error":null,"incomplete_details":` + details +
			`,"model":"gpt-4.1-2025-04-14","output":[{"type":"message","id":"msg_1","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}],` +
			`"usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}`
	}
	for _, c := range []finishCase{
		{name: "completed", body: body(`"completed"`, `null`), want: []string{"completed"}},
		{name: "incomplete: the reason, not the status", body: body(`"incomplete"`, `{"reason":"max_output_tokens"}`), want: []string{"max_output_tokens"}},
		{name: "incomplete by content filter", body: body(`"incomplete"`, `{"reason":"content_filter"}`), want: []string{"content_filter"}},
		{name: "incomplete without a reason", body: body(`"incomplete"`, `null`), want: []string{"incomplete"}},
		{name: "incomplete with an empty reason", body: body(`"incomplete"`, `{"reason":""}`), want: []string{"incomplete"}},
		{name: "failed", body: body(`"failed"`, `null`), want: []string{"failed"}},
		{name: "cancelled", body: body(`"cancelled"`, `null`), want: []string{"cancelled"}},
		{name: "escaped status", body: body(`"c\u006fmpleted"`, `null`), want: []string{"completed"}},
		{name: "queued in the background: not finished", body: body(`"queued"`, `null`), want: nil},
		{name: "in progress: not finished", body: body(`"in_progress"`, `null`), want: nil},
		{name: "an output item's status is not the response's", body: `{"output":[{"status":"completed"}]}`, want: nil},
		{name: "stream completed", stream: responsesStream, want: []string{"completed"}},
		{name: "stream incomplete", stream: responsesIncompleteStream, want: []string{"max_output_tokens"}},
		{name: "stream cut after response.created", stream: responsesStream[:bytes.Index([]byte(responsesStream), []byte("event: response.output_text.done"))], want: nil},
	} {
		c.adapter, c.path = OpenAI(), "/v1/responses"
		observeFinish(t, c)
	}

	// Mid-body, the status arrives before the reason that refines it; the
	// reason replaces it once read.
	doc := body(`"incomplete"`, `{"reason":"max_output_tokens"}`)
	o := OpenAI().NewObserver("/v1/responses", RequestInfo{}, "application/json")
	defer o.Release()
	cut := strings.Index(doc, `"error"`)
	o.Write([]byte(doc[:cut]))
	if got := o.Result().FinishReasons; !reflect.DeepEqual(got, []string{"incomplete"}) {
		t.Errorf("mid-body: %q", got)
	}
	o.Write([]byte(doc[cut:]))
	if got := o.Result().FinishReasons; !reflect.DeepEqual(got, []string{"max_output_tokens"}) {
		t.Errorf("whole body: %q", got)
	}
}

func TestFinishReasonsAnthropic(t *testing.T) {
	maxTokensBody := strings.Replace(anthropicBody, `"stop_reason": "end_turn"`, `"stop_reason": "max_tokens"`, 1)
	for _, c := range []finishCase{
		{name: "body", body: anthropicBody, want: []string{"end_turn"}},
		{name: "body cut by max_tokens", body: maxTokensBody, want: []string{"max_tokens"}},
		{name: "body with a null stop_reason", body: `{"type":"message","model":"claude","stop_reason":null}`, want: nil},
		{name: "stream", stream: anthropicStream, want: []string{"end_turn"}},
		{name: "stream ending in a tool use", stream: anthropicNewUsageStream, want: []string{"tool_use"}},
		{name: "stream cancelled before message_delta", stream: anthropicStream[:bytes.Index([]byte(anthropicStream), []byte("event: message_delta"))], want: nil},
		{name: "message_start's null stop_reason is not one", stream: sseStream("message_start", `{"type":"message_start","message":{"model":"claude","stop_reason":null,"usage":{"input_tokens":3}}}`), want: nil},
		{name: "error event", stream: sseStream("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`), want: nil},
	} {
		c.adapter, c.path = Anthropic(), "/v1/messages"
		observeFinish(t, c)
	}
}

func TestFinishReasonsAreBounded(t *testing.T) {
	var many []string
	for i := range MaxFinishReasons + 3 {
		many = append(many, fmt.Sprintf(`"reason_%d"`, i))
	}
	var wantMany []string
	for i := range MaxFinishReasons {
		wantMany = append(wantMany, fmt.Sprintf("reason_%d", i))
	}
	long := strings.Repeat("x", MaxFinishReasonBytes-1) + "é" // é straddles the limit
	for _, c := range []finishCase{
		{name: "at most MaxFinishReasons, the first seen", body: chatChoices(many...), want: wantMany},
		{name: "repeats do not use up the room", body: chatChoices(append([]string{`"stop"`, `"stop"`, `"stop"`}, many...)...), want: append([]string{"stop"}, wantMany[:MaxFinishReasons-1]...)},
		{name: "long reason cut at a UTF-8 boundary", body: chatChoices(`"` + long + `"`), want: []string{long[:MaxFinishReasonBytes-1]}},
		{name: "escapes decoded, then deduplicated", body: chatChoices(`"st\u006fp"`, `"stop"`, `"tab\there"`), want: []string{"stop", "tab\there"}},
		{name: "invalid UTF-8 replaced", body: chatChoices("\"bad\xffbyte\""), want: []string{"bad\ufffdbyte"}},
		{name: "empty, null and non-string values skipped", body: chatChoices(`""`, `null`, `1`, `{"a":"b"}`, `["c"]`, `true`), want: nil},
	} {
		c.adapter, c.path = OpenAI(), "/v1/chat/completions"
		observeFinish(t, c)
	}
}

func TestClipUTF8(t *testing.T) {
	for _, s := range []string{"", "abc", "héllo", "日本語", "🎉🎉", "a🎉", "ab🎉", "abc🎉", "\xff\xfe\xfd\xfc\xfb"} {
		for max := 0; max <= len(s)+1; max++ {
			got := clipUTF8([]byte(s), max)
			if len(got) > max || !bytes.HasPrefix([]byte(s), got) {
				t.Fatalf("clipUTF8(%q, %d) = %q", s, max, got)
			}
			if utf8.ValidString(s) && (!utf8.Valid(got) || len(got) < max-utf8.UTFMax+1 && len(got) < len(s)) {
				t.Fatalf("clipUTF8(%q, %d) = %q: split a rune or cut too much", s, max, got)
			}
		}
	}
}

// TestFinishReasonsDoNotAllocate: reading a known finish reason, and
// reporting it, costs nothing, as the rest of the observer's common path.
func TestFinishReasonsDoNotAllocate(t *testing.T) {
	var s reasonSet
	stop := []byte(`"stop"`) // as the scanner hands it over, from its own buffer
	if n := testing.AllocsPerRun(100, func() {
		s = reasonSet{}
		s.add(stop)
		s.add(stop)
		_ = s.list()
	}); n != 0 {
		t.Errorf("a known reason costs %.0f allocations", n)
	}
	if got := s.list(); !reflect.DeepEqual(got, []string{"stop"}) {
		t.Errorf("list = %q", got)
	}

	for _, c := range []struct {
		adapter Adapter
		path    string
		body    []byte
	}{
		{OpenAI(), "/v1/chat/completions", []byte(chatCompletionBody)},
		{OpenAI(), "/v1/responses", []byte(responsesBody)},
		{Anthropic(), "/v1/messages", []byte(anthropicBody)},
	} {
		o := c.adapter.NewObserver(c.path, RequestInfo{}, "application/json").(*observer)
		o.Write(c.body) // allocates the scanner and the model, kept for the next response
		want := o.Result().FinishReasons
		var got []string
		if n := testing.AllocsPerRun(100, func() {
			o.bodyStarted, o.reasons = false, reasonSet{}
			o.Write(c.body)
			got = o.Result().FinishReasons
		}); n != 0 {
			t.Errorf("%s: a response costs %.0f allocations", c.path, n)
		}
		if len(got) != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: finish reasons %q", c.path, got)
		}
	}
}

// referenceFinishReasons is what the observer must report for a valid
// document, worked out with encoding/json: every string at the dialect's
// finish reason path (each occurrence, as the scanner sees a repeated key
// too), or the Responses API rule; then deduplicated, clipped and capped.
func referenceFinishReasons(t *testing.T, doc []byte, ep endpoint) []string {
	t.Helper()
	var raw []string
	switch ep {
	case endpointChatCompletions:
		raw = stringsAtPath(t, doc, "choices", "[]", "finish_reason")
	case endpointMessages:
		raw = stringsAtPath(t, doc, "stop_reason")
	case endpointResponses:
		var root map[string]any
		if json.Unmarshal(doc, &root) != nil {
			return nil
		}
		switch status, _ := root["status"].(string); status {
		case "completed", "failed", "cancelled":
			raw = []string{status}
		case "incomplete":
			d, _ := root["incomplete_details"].(map[string]any)
			reason, _ := d["reason"].(string)
			if reason == "" {
				reason = "incomplete"
			}
			raw = []string{reason}
		}
	}
	var out []string
	for _, r := range raw {
		r = string(clipUTF8([]byte(r), MaxFinishReasonBytes))
		if r == "" || len(out) == MaxFinishReasons || slicesContains(out, r) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// stringsAtPath returns, in document order, every string value at path
// ("[]" standing for any array element), visiting repeated keys each time.
func stringsAtPath(t *testing.T, doc []byte, path ...string) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(doc))
	var out []string
	var walk func(pos int) // pos: path elements matched so far, -1 when off the path
	walk = func(pos int) {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		if pos >= 0 && pos < len(path) {
			want = path[pos]
		}
		switch v := tok.(type) {
		case json.Delim:
			if v != '{' && v != '[' {
				t.Fatalf("unexpected %v", v)
			}
			for dec.More() {
				next := -1
				if v == '{' {
					k, _ := dec.Token()
					if want != "" && want != "[]" && k.(string) == want {
						next = pos + 1
					}
				} else if want == "[]" {
					next = pos + 1
				}
				walk(next)
			}
			dec.Token() // the closing delimiter
		case string:
			if pos == len(path) {
				out = append(out, v)
			}
		}
	}
	walk(0)
	return out
}

// reasonCollector gathers what a bare scanner hands over, for the fuzzer.
type reasonCollector struct{ reasonSet }

func (c *reasonCollector) collect(raw []byte) { c.add(raw) }
