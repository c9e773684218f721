package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/trace"
)

func TestClientCancelledStreamIsTracedWithEstimatedOutput(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		stream := g.openai(fakeupstream.HeaderEvents, "50", fakeupstream.HeaderHangAfter, "5").
			Chat.Completions.NewStreaming(ctx, chatParams("gpt-4o"))
		var text strings.Builder
		for stream.Next() {
			c := stream.Current()
			if len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				text.WriteString(c.Choices[0].Delta.Content)
				if text.Len() == len(fakeupstream.Text(5)) {
					break // the user hits Ctrl-C after five words
				}
			}
		}
		cancel()
		stream.Close()

		r := g.oneTrace()
		expect(t, "outcome", r.Outcome, trace.OutcomeClientCancelled)
		expect(t, "response_status", r.ResponseStatus, 200)
		expect(t, "tokens_estimated", r.TokensEstimated, true)
		expect(t, "output_tokens (from delivered text)", r.OutputTokens, int64((len(fakeupstream.Text(5))+3)/4))
		if r.EstimatedCostUSD <= 0 {
			t.Errorf("a cancelled stream still costs money; got %v", r.EstimatedCostUSD)
		}
		waitFor(t, "upstream request cancelled", func() bool {
			reqs := g.fake.Requests()
			return len(reqs) == 1 && reqs[0].Canceled
		})
	})
}

func TestClientCancelledAnthropicStreamKeepsExactInputTokens(t *testing.T) {
	g := startGateway(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream := g.anthropic(fakeupstream.HeaderInputTokens, "900", fakeupstream.HeaderEvents, "50", fakeupstream.HeaderHangAfter, "3").
		Messages.NewStreaming(ctx, messageParams("claude-sonnet-4"))
	deltas := 0
	for stream.Next() {
		if stream.Current().Type == "content_block_delta" {
			if deltas++; deltas == 3 {
				break
			}
		}
	}
	cancel()
	stream.Close()
	r := g.oneTrace()
	expect(t, "outcome", r.Outcome, trace.OutcomeClientCancelled)
	expect(t, "input_tokens (from message_start)", r.InputTokens, int64(900))
	expect(t, "tokens_estimated", r.TokensEstimated, true)
	expect(t, "output_tokens", r.OutputTokens, int64((len(fakeupstream.Text(3))+3)/4))
}

func TestUpstreamErrorsPassThroughUnchangedAndAreTraced(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		_, err := g.openai(fakeupstream.HeaderStatus, "429").Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
			t.Fatalf("SDK error = %v, want a 429 API error", err)
		}
		if apiErr.Type == "" || apiErr.Message == "" {
			t.Errorf("provider error body not passed through: %+v", apiErr)
		}

		req, _ := http.NewRequest(http.MethodPost, g.URL+"/openai/v1/chat/completions", strings.NewReader(`{"model":"gpt-4o","messages":[]}`))
		req.Header.Set("Authorization", "Bearer "+openAIKey)
		req.Header.Set(fakeupstream.HeaderStatus, "429")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		expect(t, "status", resp.StatusCode, 429)
		expect(t, "Retry-After", resp.Header.Get("Retry-After"), "7")
		var e struct {
			Error struct{ Type, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) != nil || e.Error.Type == "" {
			t.Errorf("body changed: %s", body)
		}

		for _, r := range g.traces(2) {
			expect(t, "outcome", r.Outcome, trace.OutcomeUpstreamError)
			expect(t, "response_status", r.ResponseStatus, 429)
			expect(t, "model", r.Model, "gpt-4o")
		}
	})
}

func TestUnknownPathsAre404AndNotTraced(t *testing.T) {
	g := startGateway(t, "sqlite")
	for _, p := range []string{"/nope", "/openaiX/v1/chat/completions", "/api/nope", "/anthropicx"} {
		status, body := g.do(http.MethodPost, p, `{}`, nil)
		expectJSONError(t, p, status, body, 404, "not found")
	}
	if _, err := g.openai().Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
		t.Fatal(err)
	}
	r := g.oneTrace() // exactly one: the 404s left nothing behind
	expect(t, "path", r.RequestPath, "/openai/v1/chat/completions")
}

func TestUnreachableUpstreamIs502AndTraced(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		dead := "http://" + ln.Addr().String()
		ln.Close()
		g := startGateway(t, driver, func(c *config.Config) {
			p := c.Providers["openai"]
			p.Upstream = dead
			c.Providers["openai"] = p
		})
		status, body := g.do(http.MethodPost, "/openai/v1/chat/completions", `{"model":"gpt-4o-mini","messages":[]}`,
			map[string]string{"Authorization": "Bearer " + openAIKey})
		expectJSONError(t, "unreachable", status, body, 502, "upstream request failed")
		r := g.oneTrace()
		expect(t, "outcome", r.Outcome, trace.OutcomeUpstreamUnreachable)
		expect(t, "response_status", r.ResponseStatus, 502)
		expect(t, "model", r.Model, "gpt-4o-mini")
		expect(t, "cost", r.EstimatedCostUSD, 0.0)
	})
}

func TestRequestBodyCap(t *testing.T) {
	g := startGateway(t, "sqlite", func(c *config.Config) { c.Proxy.MaxRequestBodyBytes = 1024 })
	big := `{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("x", 2000) + `"}]}`
	status, body := g.do(http.MethodPost, "/openai/v1/chat/completions", big, map[string]string{"Authorization": "Bearer " + openAIKey})
	expectJSONError(t, "oversized body", status, body, 413, "request body too large")
	if n := len(g.fake.Requests()); n != 0 {
		t.Errorf("oversized request reached the upstream (%d requests)", n)
	}
}

func TestForwardingKeepsQueryStripsPrefixGatewayKeyAndHopHeaders(t *testing.T) {
	g := startGateway(t, "sqlite", captureHeaders("*"))
	g.do(http.MethodGet, "/openai/v1/models?limit=5&after=x", "", map[string]string{
		"Authorization":           "Bearer " + openAIKey,
		"X-OngoingAI-Gateway-Key": "ogw_secret",
		"Connection":              "X-Hop",
		"X-Hop":                   "1",
		"X-Custom":                "kept",
		"X-Request-ID":            "req-abc_1",
	})
	reqs := g.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests", len(reqs))
	}
	r := reqs[0]
	expect(t, "path", r.Path, "/v1/models")
	expect(t, "query", r.RawQuery, "limit=5&after=x")
	expect(t, "credential", r.Header.Get("Authorization"), "Bearer "+openAIKey)
	expect(t, "gateway key removed", r.Header.Get("X-OngoingAI-Gateway-Key"), "")
	expect(t, "hop-by-hop removed", r.Header.Get("X-Hop"), "")
	expect(t, "end-to-end kept", r.Header.Get("X-Custom"), "kept")
	tr := g.oneTrace()
	expect(t, "trace path excludes query", tr.RequestPath, "/openai/v1/models")
	expect(t, "gateway key redacted", tr.RequestHeaders["X-Ongoingai-Gateway-Key"], "[REDACTED]")
	expect(t, "request id kept in the trace", string(tr.Metadata), `{"request_id":"req-abc_1"}`)
	expect(t, "request id forwarded", r.Header.Get("X-Request-Id"), "req-abc_1")
}

// decoders for each Content-Encoding the gateway must read.
var decoders = map[string]func(io.Reader) (io.Reader, error){
	"gzip":    func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
	"deflate": func(r io.Reader) (io.Reader, error) { return zlib.NewReader(r) },
	"br":      func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	"zstd":    func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r) },
}

func TestCompressedResponsesReachTheClientUntouchedAndAreParsed(t *testing.T) {
	g := startGateway(t, "sqlite")
	n := 0
	for enc, decode := range decoders {
		for _, stream := range []bool{false, true} {
			n++
			body := `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`
			if stream {
				body = `{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`
			}
			req, _ := http.NewRequest(http.MethodPost, g.URL+"/openai/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+openAIKey)
			req.Header.Set("Accept-Encoding", enc)
			req.Header.Set(fakeupstream.HeaderEncoding, enc)
			req.Header.Set(fakeupstream.HeaderInputTokens, "77")
			req.Header.Set(fakeupstream.HeaderEvents, "9")
			resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			expect(t, enc+" Content-Encoding", resp.Header.Get("Content-Encoding"), enc)
			dr, err := decode(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("%s: client got bytes it cannot decode: %v", enc, err)
			}
			plain, err := io.ReadAll(dr)
			if err != nil {
				t.Fatalf("%s (stream %v): decoding: %v", enc, stream, err)
			}
			if !bytes.Contains(plain, []byte(`"prompt_tokens":77`)) {
				t.Errorf("%s: decoded body lacks usage: %.200s", enc, plain)
			}
		}
	}
	for _, r := range g.traces(n) {
		expect(t, "tokens_estimated", r.TokensEstimated, false)
		expectUsage(t, r, 77, 9, 0, 0, 0)
	}
}

func TestLargeBodiesAndStreamsAreAccountedExactly(t *testing.T) {
	g := startGateway(t, "sqlite")
	client := g.openai(fakeupstream.HeaderContentBytes, "10MiB", fakeupstream.HeaderEvents, "64", fakeupstream.HeaderInputTokens, "5")
	res, err := client.Chat.Completions.New(context.Background(), chatParams("gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "content length", len(res.Choices[0].Message.Content), 10<<20)
	stream := client.Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
	got := 0
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			got += len(c.Choices[0].Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, "streamed content length", got, 10<<20)
	for _, r := range g.traces(2) {
		expect(t, "tokens_estimated", r.TokensEstimated, false)
		expectUsage(t, r, 5, 64, 0, 0, 0)
	}
}

func TestWebSocketUpgradePassesThrough(t *testing.T) {
	g := startGateway(t, "sqlite")
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	io.WriteString(conn, "GET /openai/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer "+openAIKey+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "status", resp.StatusCode, http.StatusSwitchingProtocols)
	expect(t, "accept", resp.Header.Get("Sec-WebSocket-Accept"), fakeupstream.WebSocketAccept(key))

	// One masked text frame "hello"; the echo comes back unmasked.
	mask := []byte{1, 2, 3, 4}
	payload := []byte("hello")
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask...)
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	conn.Write(frame)
	head := make([]byte, 2)
	if _, err := io.ReadFull(br, head); err != nil {
		t.Fatal(err)
	}
	echo := make([]byte, head[1]&0x7f)
	io.ReadFull(br, echo)
	expect(t, "echo", string(echo), "hello")
	conn.Close()
	r := g.oneTrace()
	expect(t, "websocket traced with status", r.ResponseStatus, 101)
}

// Codex first tries the Responses API over a WebSocket and falls back to
// HTTP streaming only on a 426 at the handshake. The gateway answers
// exactly that, before anything reaches the upstream, so every Codex turn
// goes over HTTP, where its usage is read exactly.
func TestResponsesWebSocketUpgradeIsRefusedWith426(t *testing.T) {
	g := startGateway(t, "sqlite")
	for _, path := range []string{"/openai/v1/responses", "/openai/v1/responses/"} {
		req, err := http.NewRequest("GET", g.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Connection", "keep-alive, Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Authorization", "Bearer "+openAIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		expectJSONError(t, path, resp.StatusCode, string(body), http.StatusUpgradeRequired, proxy.MsgResponsesWebSocket)
	}
	expect(t, "requests reaching the upstream", len(g.fake.Requests()), 0)
	// The HTTP fallback is proxied and accounted as usual.
	if _, err := g.openai().Responses.New(context.Background(), responses.ResponseNewParams{
		Model: "gpt-5.3-codex",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hi")},
	}); err != nil {
		t.Fatal(err)
	}
	expect(t, "fallback priced", g.oneTrace().Priced, true)
}

func TestExtraOpenAICompatibleProviderIsTracedUnderItsName(t *testing.T) {
	g := startGateway(t, "sqlite", func(c *config.Config) {
		c.Providers["groq"] = config.Provider{Upstream: c.Providers["openai"].Upstream, Prefix: "/groq", Format: "openai"}
	})
	client := openaiClientAt(g.URL+"/groq/v1/", fakeupstream.HeaderInputTokens, "12")
	if _, err := client.Chat.Completions.New(context.Background(), chatParams("llama-3.3-70b-versatile")); err != nil {
		t.Fatal(err)
	}
	r := g.oneTrace()
	expect(t, "provider", r.Provider, "groq")
	expect(t, "input_tokens", r.InputTokens, int64(12))
	expect(t, "priced", r.Priced, false)
}

func TestCaptureBodiesTruncatesAtBodyMaxSize(t *testing.T) {
	g := startGateway(t, "sqlite", func(c *config.Config) {
		c.Tracing.CaptureBodies = true
		c.Tracing.BodyMaxSize = 64
		// The raw window; with the default (auto) pii.mode the stored
		// copy is redacted and its cut token dropped (TestPIIStorageTruncated).
		c.PII.Mode = config.PIIModeOff
	})
	if _, err := g.openai(fakeupstream.HeaderInputTokens, "3", fakeupstream.HeaderEvents, "40").
		Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
		t.Fatal(err)
	}
	r := g.oneTrace()
	expect(t, "request body length", len(r.RequestBody), 64)
	expect(t, "response body length", len(r.ResponseBody), 64)
	if !strings.HasPrefix(r.ResponseBody, "{") {
		t.Errorf("captured response body is not the decoded JSON: %q", r.ResponseBody)
	}
	expectUsage(t, r, 3, 40, 0, 0, 0) // accounting unaffected by truncation
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
