package fakeupstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// These tests speak raw HTTP to check what SDKs hide: encodings, headers,
// exact bytes, and how handlers end.

const chatBody = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`

const chatStreamBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`

const messagesBody = `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}`

// rawClient does not add or undo compression, so the test sees the wire.
func rawClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableCompression: true}}
}

// newRequest builds an authenticated request for path in its dialect.
func newRequest(t *testing.T, ctx context.Context, hs *httptest.Server, path, body string, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if strings.HasPrefix(path, "/v1/messages") {
		req.Header.Set("X-Api-Key", "sk-ant-test")
		req.Header.Set("Anthropic-Version", "2023-06-01")
	} else {
		req.Header.Set("Authorization", "Bearer sk-test")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return req
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := rawClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// decode undoes a Content-Encoding with an independent decoder.
func decode(t *testing.T, encoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch encoding {
	case "":
		return body
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		var d *zstd.Decoder
		d, err = zstd.NewReader(bytes.NewReader(body))
		if err == nil {
			defer d.Close()
		}
		r = d
	default:
		t.Fatalf("unexpected Content-Encoding %q", encoding)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", encoding, err)
	}
	return out
}

// chatContent extracts the message text of a chat completion body.
func chatContent(t *testing.T, body []byte) string {
	t.Helper()
	var v struct {
		Choices []struct {
			Message struct{ Content string } `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.Choices) != 1 {
		t.Fatalf("not a chat completion (%v): %.200s", err, body)
	}
	return v.Choices[0].Message.Content
}

type sseEvent struct{ name, data string }

// parseSSE splits a complete event stream into events.
func parseSSE(t *testing.T, body []byte) []sseEvent {
	t.Helper()
	var events []sseEvent
	for block := range strings.SplitSeq(strings.TrimSuffix(string(body), "\n\n"), "\n\n") {
		var ev sseEvent
		for line := range strings.SplitSeq(block, "\n") {
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			default:
				t.Fatalf("unexpected SSE line %q", line)
			}
		}
		events = append(events, ev)
	}
	return events
}

func TestGzipNegotiation(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	ctx := context.Background()

	// Real APIs gzip JSON for clients that offer it.
	res, body := do(t, newRequest(t, ctx, hs, "/v1/chat/completions", chatBody, map[string]string{"Accept-Encoding": "br, gzip"}))
	check(t, "Content-Encoding", res.Header.Get("Content-Encoding"), "gzip")
	check(t, "Vary", res.Header.Get("Vary"), "Accept-Encoding")
	check(t, "gzipped content", chatContent(t, decode(t, "gzip", body)), fakeupstream.Text(5))

	// Nothing offered, or gzip refused: identity, with an exact length.
	for _, accept := range []string{"", "gzip;q=0, identity"} {
		res, body = do(t, newRequest(t, ctx, hs, "/v1/chat/completions", chatBody, map[string]string{"Accept-Encoding": accept}))
		check(t, "Content-Encoding for "+strconv.Quote(accept), res.Header.Get("Content-Encoding"), "")
		check(t, "Content-Length", res.ContentLength, int64(len(body)))
		check(t, "plain content", chatContent(t, body), fakeupstream.Text(5))
	}

	// Event streams stay uncompressed even when gzip is offered.
	res, body = do(t, newRequest(t, ctx, hs, "/v1/chat/completions", chatStreamBody, map[string]string{"Accept-Encoding": "gzip"}))
	check(t, "stream Content-Encoding", res.Header.Get("Content-Encoding"), "")
	check(t, "stream Content-Type", res.Header.Get("Content-Type"), "text/event-stream; charset=utf-8")
	events := parseSSE(t, body)
	check(t, "last event", events[len(events)-1].data, "[DONE]")
}

func TestForcedEncoding(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	ctx := context.Background()
	for _, enc := range []string{"gzip", "br", "deflate", "zstd", "identity"} {
		want := enc
		if enc == "identity" {
			want = ""
		}
		headers := map[string]string{fakeupstream.HeaderEncoding: enc, "Accept-Encoding": "gzip"}

		res, body := do(t, newRequest(t, ctx, hs, "/v1/chat/completions", chatBody, headers))
		check(t, enc+" JSON Content-Encoding", res.Header.Get("Content-Encoding"), want)
		check(t, enc+" JSON content", chatContent(t, decode(t, want, body)), fakeupstream.Text(5))

		res, body = do(t, newRequest(t, ctx, hs, "/v1/messages", `{"model":"m","max_tokens":5,"stream":true}`, headers))
		check(t, enc+" SSE Content-Encoding", res.Header.Get("Content-Encoding"), want)
		events := parseSSE(t, decode(t, want, body))
		check(t, enc+" SSE first event", events[0].name, "message_start")
		check(t, enc+" SSE last event", events[len(events)-1].name, "message_stop")
	}
}

func TestHugeBody(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	const size = 10_000_000

	// Non-streaming: one 10 MB string, announced by an exact Content-Length.
	res, body := do(t, newRequest(t, context.Background(), hs, "/v1/chat/completions", chatBody,
		map[string]string{fakeupstream.HeaderContentBytes: "10MB"}))
	check(t, "Content-Length", res.ContentLength, int64(len(body)))
	content := chatContent(t, body)
	check(t, "content length", len(content), size)
	if !strings.HasPrefix(content, "Hello") {
		t.Errorf("padded content lost its words: %.40q", content)
	}

	// Streaming: the same size spread over the deltas, read as it comes.
	client := anthropicClient(hs, map[string]string{
		fakeupstream.HeaderContentBytes: strconv.Itoa(size),
		fakeupstream.HeaderEvents:       "100",
	})
	stream := client.Messages.NewStreaming(context.Background(), messageParams())
	defer stream.Close()
	total, deltas := 0, 0
	for stream.Next() {
		if d := stream.Current().Delta.Text; d != "" {
			total += len(d)
			deltas++
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check(t, "streamed bytes", total, size)
	check(t, "deltas", deltas, 100)
}

func TestAuthentication(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	ctx := context.Background()

	req := newRequest(t, ctx, hs, "/v1/chat/completions", chatBody, nil)
	req.Header.Del("Authorization")
	res, body := do(t, req)
	check(t, "OpenAI without key", res.StatusCode, http.StatusUnauthorized)
	var oe struct {
		Error struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.Unmarshal(body, &oe); err != nil || oe.Error.Type != "invalid_request_error" || oe.Error.Message == "" {
		t.Errorf("OpenAI 401 body = %s", body)
	}

	type anthropicError struct {
		Type  string
		Error struct{ Type, Message string }
	}
	for _, tc := range []struct {
		name    string
		drop    string
		add     map[string]string
		status  int
		errType string
	}{
		{"without key", "X-Api-Key", nil, 401, "authentication_error"},
		{"without version", "Anthropic-Version", nil, 400, "invalid_request_error"},
		{"with bearer token", "X-Api-Key", map[string]string{"Authorization": "Bearer oauth-token"}, 200, ""},
	} {
		req := newRequest(t, ctx, hs, "/v1/messages", messagesBody, tc.add)
		req.Header.Del(tc.drop)
		res, body := do(t, req)
		check(t, "Anthropic "+tc.name, res.StatusCode, tc.status)
		if tc.errType == "" {
			continue
		}
		var ae anthropicError
		if err := json.Unmarshal(body, &ae); err != nil || ae.Type != "error" || ae.Error.Type != tc.errType {
			t.Errorf("Anthropic %s body = %s", tc.name, body)
		}
	}
}

func TestBadRequests(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name, path, body string
		headers          map[string]string
		status           int
		mention          string
	}{
		{"unknown OpenAI path", "/v1/nope", chatBody, nil, 404, "Invalid URL (POST /v1/nope)"},
		{"unknown Anthropic path", "/v1/messages/nope", messagesBody, nil, 404, "not_found_error"},
		{"not JSON", "/v1/chat/completions", "{", nil, 400, "could not parse"},
		{"no model", "/v1/chat/completions", `{"messages":[]}`, nil, 400, "model"},
		{"no max_tokens", "/v1/messages", `{"model":"m"}`, nil, 400, "max_tokens"},
		{"no embedding input", "/v1/embeddings", `{"model":"m"}`, nil, 400, "input"},
		{"bad events", "/v1/chat/completions", chatBody, map[string]string{fakeupstream.HeaderEvents: "many"}, 400, fakeupstream.HeaderEvents},
		{"negative tokens", "/v1/messages", messagesBody, map[string]string{fakeupstream.HeaderInputTokens: "-1"}, 400, fakeupstream.HeaderInputTokens},
		{"bad interval", "/v1/chat/completions", chatBody, map[string]string{fakeupstream.HeaderInterval: "soon"}, 400, fakeupstream.HeaderInterval},
		{"bad status", "/v1/chat/completions", chatBody, map[string]string{fakeupstream.HeaderStatus: "302"}, 400, fakeupstream.HeaderStatus},
		{"bad size", "/v1/chat/completions", chatBody, map[string]string{fakeupstream.HeaderContentBytes: "huge"}, 400, fakeupstream.HeaderContentBytes},
		{"bad encoding", "/v1/chat/completions", chatBody, map[string]string{fakeupstream.HeaderEncoding: "lzma"}, 400, fakeupstream.HeaderEncoding},
	} {
		res, body := do(t, newRequest(t, ctx, hs, tc.path, tc.body, tc.headers))
		check(t, tc.name+" status", res.StatusCode, tc.status)
		check(t, tc.name+" Content-Type", res.Header.Get("Content-Type"), "application/json")
		if !json.Valid(body) || !strings.Contains(string(body), tc.mention) {
			t.Errorf("%s: body %s should be JSON mentioning %q", tc.name, body, tc.mention)
		}
	}
}

func TestChatStreamWireFormat(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{})
	body := `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`
	res, raw := do(t, newRequest(t, context.Background(), hs, "/v1/chat/completions", body,
		map[string]string{fakeupstream.HeaderEvents: "2"}))
	check(t, "Cache-Control", res.Header.Get("Cache-Control"), "no-cache")
	if res.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
	events := parseSSE(t, raw)
	check(t, "events", len(events), 6) // role, 2 content, finish, usage, [DONE]
	for i, ev := range events[:5] {
		check(t, "event name", ev.name, "")
		var chunk struct {
			Choices []json.RawMessage `json:"choices"`
			Usage   json.RawMessage   `json:"usage"`
		}
		if err := json.Unmarshal([]byte(ev.data), &chunk); err != nil {
			t.Fatalf("event %d is not JSON: %v", i, err)
		}
		if i < 4 {
			check(t, "usage", string(chunk.Usage), "null")
		} else {
			check(t, "usage chunk choices", len(chunk.Choices), 0)
			if !strings.Contains(string(chunk.Usage), `"prompt_tokens":11,"completion_tokens":2,"total_tokens":13`) {
				t.Errorf("usage = %s", chunk.Usage)
			}
		}
	}
	check(t, "terminator", events[5].data, "[DONE]")
}

func TestStreamInterval(t *testing.T) {
	_, hs := start(t, fakeupstream.Options{StreamInterval: time.Millisecond})
	stream := openAIClient(hs, map[string]string{fakeupstream.HeaderInterval: "2ms", fakeupstream.HeaderEvents: "3"}).
		Chat.Completions.NewStreaming(context.Background(), chatParams())
	defer stream.Close()
	var text strings.Builder
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	check(t, "text", text.String(), fakeupstream.Text(3))
}

func TestRecording(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{MaxRecorded: 3, MaxRecordedBody: 10})
	ctx := context.Background()

	req := newRequest(t, ctx, hs, "/v1/chat/completions?trace=1", chatBody, map[string]string{"X-Custom": "yes"})
	do(t, req)
	got := fake.Requests()
	if len(got) != 1 {
		t.Fatalf("recorded %d requests, want 1", len(got))
	}
	r := got[0]
	check(t, "method", r.Method, http.MethodPost)
	check(t, "path", r.Path, "/v1/chat/completions")
	check(t, "query", r.RawQuery, "trace=1")
	check(t, "header", r.Header.Get("X-Custom"), "yes")
	check(t, "authorization", r.Header.Get("Authorization"), "Bearer sk-test")
	check(t, "body (cut)", string(r.Body), chatBody[:10])
	check(t, "body size", r.BodySize, int64(len(chatBody)))
	check(t, "canceled", r.Canceled, false)

	// Only the last three are kept, oldest first.
	for i := range 4 {
		do(t, newRequest(t, ctx, hs, "/v1/embeddings?n="+strconv.Itoa(i), `{"model":"m","input":"x"}`, nil))
	}
	got = fake.Requests()
	if len(got) != 3 {
		t.Fatalf("recorded %d requests, want 3", len(got))
	}
	for i, r := range got {
		check(t, "ring order", r.RawQuery, "n="+strconv.Itoa(i+1))
	}

	fake.Reset()
	check(t, "after Reset", len(fake.Requests()), 0)
	do(t, newRequest(t, ctx, hs, "/v1/embeddings", `{"model":"m","input":"x"}`, nil))
	check(t, "after Reset and one call", len(fake.Requests()), 1)
}

func TestRecordingOff(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{MaxRecorded: -1})
	do(t, newRequest(t, context.Background(), hs, "/v1/chat/completions", chatBody, nil))
	check(t, "recorded", len(fake.Requests()), 0)
}

// waitFor polls cond; the deadline only guards against a hung test, it is
// not a measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitIdle proves every handler returned.
func waitIdle(t *testing.T, fake *fakeupstream.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.WaitIdle(ctx); err != nil {
		t.Fatalf("handlers still running: %v", err)
	}
	check(t, "in flight", fake.InFlight(), 0)
}

func TestCancelStopsStream(t *testing.T) {
	// Hang after two content events on every streaming endpoint, read what
	// was sent, hang up, and check the handler noticed.
	for _, tc := range []struct {
		path, body, delta string
	}{
		{"/v1/chat/completions", chatStreamBody, `"delta":{"content":`},
		{"/v1/completions", `{"model":"m","stream":true}`, `"text":"`},
		{"/v1/responses", `{"model":"m","stream":true}`, `"type":"response.output_text.delta"`},
		{"/v1/messages", `{"model":"m","max_tokens":5,"stream":true}`, `"type":"text_delta"`},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/v1/"), func(t *testing.T) {
			fake, hs := start(t, fakeupstream.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			res, err := rawClient().Do(newRequest(t, ctx, hs, tc.path, tc.body,
				map[string]string{fakeupstream.HeaderHangAfter: "2"}))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()

			br := bufio.NewReader(res.Body)
			for deltas := 0; deltas < 2; {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("stream ended after %d deltas: %v", deltas, err)
				}
				if strings.Contains(line, tc.delta) {
					deltas++
				}
			}
			check(t, "in flight while hanging", fake.InFlight(), 1)

			cancel()
			waitIdle(t, fake)
			check(t, "recorded as canceled", fake.Requests()[0].Canceled, true)
		})
	}
}

func TestResetAfterDropsTheConnectionMidStream(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	res, err := rawClient().Do(newRequest(t, context.Background(), hs, "/v1/chat/completions",
		`{"model":"m","stream":true}`, map[string]string{fakeupstream.HeaderResetAfter: "2"}))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("the body ended cleanly: %s", body)
	}
	check(t, "deltas before the reset", strings.Count(string(body), `"delta":{"content":`), 2)
	check(t, "no closing event", strings.Contains(string(body), "[DONE]"), false)
	waitIdle(t, fake)
}

func TestHangAfterLastEventWithholdsTheEnd(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := openAIClient(hs, map[string]string{fakeupstream.HeaderHangAfter: "100", fakeupstream.HeaderEvents: "3"}).
		Chat.Completions.NewStreaming(ctx, chatParams())
	defer stream.Close()
	var text strings.Builder
	for text.String() != fakeupstream.Text(3) && stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			if c.Choices[0].FinishReason != "" {
				t.Fatal("got the finish chunk; the stream should hang before it")
			}
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	check(t, "text before the hang", text.String(), fakeupstream.Text(3))
	cancel()
	if stream.Next() {
		t.Fatal("stream went on after cancel")
	}
	waitIdle(t, fake)
}

func TestCancelDuringHangNonStream(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := rawClient().Do(newRequest(t, ctx, hs, "/v1/messages", messagesBody,
		map[string]string{fakeupstream.HeaderHangAfter: "0"}))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	check(t, "status", res.StatusCode, http.StatusOK)
	check(t, "in flight", fake.InFlight(), 1)
	cancel()
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Fatal("read a complete body from a hanging response")
	}
	waitIdle(t, fake)
	check(t, "canceled", fake.Requests()[0].Canceled, true)
}

func TestCancelDuringLatency(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := rawClient().Do(newRequest(t, ctx, hs, "/v1/chat/completions", chatBody, nil))
		errc <- err
	}()
	waitFor(t, "the request to arrive", func() bool { return len(fake.Requests()) == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error = %v, want context.Canceled", err)
	}
	waitIdle(t, fake)
	check(t, "canceled", fake.Requests()[0].Canceled, true)
}

func TestCloseReleasesHangingHandlers(t *testing.T) {
	fake, hs := start(t, fakeupstream.Options{})
	res, err := rawClient().Do(newRequest(t, context.Background(), hs, "/v1/chat/completions", chatStreamBody,
		map[string]string{fakeupstream.HeaderHangAfter: "0"}))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	check(t, "in flight", fake.InFlight(), 1)

	fake.Close()
	waitIdle(t, fake)
	res2, body := do(t, newRequest(t, context.Background(), hs, "/v1/chat/completions", chatBody, nil))
	check(t, "status after Close", res2.StatusCode, http.StatusServiceUnavailable)
	if !strings.Contains(string(body), `"error"`) {
		t.Errorf("503 body = %s", body)
	}
}

func TestListenAndServeReportsErrors(t *testing.T) {
	if err := fakeupstream.ListenAndServe("256.0.0.1:bad", fakeupstream.Options{}); err == nil {
		t.Fatal("ListenAndServe accepted an invalid address")
	}
}
