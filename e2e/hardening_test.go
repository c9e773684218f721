package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/trace"
)

// Hardening stories: what a hostile or careless client sends must never
// reach the upstream in a form the gateway did not mean to forward. The
// requests are written by hand on a raw TCP connection, because client
// libraries clean exactly the inputs under test (dot segments, trailers).

// rawResponse is what came back on a raw connection.
type rawResponse struct {
	status int
	header http.Header
	close  bool // the gateway said it closes the connection
	body   string
}

// raw sends req, written verbatim, on a new connection to the gateway and
// reads one response. The read deadline only keeps a broken gateway from
// hanging the test; nothing is timed.
func (g *gateway) raw(req string) rawResponse {
	g.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
	if err != nil {
		g.t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		g.t.Fatal(err)
	}
	return readRaw(g.t, conn)
}

func readRaw(t *testing.T, conn net.Conn) rawResponse {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{status: resp.StatusCode, header: resp.Header, close: resp.Close, body: string(b)}
}

// withBasePath points openai at the fake under /base, and adds groq, an
// OpenAI-compatible provider whose upstream has a base path, as in the
// README.
func withBasePath(url string) func(*config.Config) {
	return func(c *config.Config) {
		p := c.Providers["openai"]
		p.Upstream = url + "/base"
		c.Providers["openai"] = p
		c.Providers["groq"] = config.Provider{Upstream: url + "/groq-base/openai", Prefix: "/groq", Format: config.FormatOpenAI}
	}
}

func TestDotSegmentsAndEncodedSlashesNeverReachTheUpstream(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)
		g.stop()
		// The same fake, now behind base paths.
		cfg := g.cfg
		withBasePath(g.upstream.URL)(&cfg)
		g = serveConfig(t, cfg, g.fake, g.upstream)

		for _, target := range []string{
			"/groq/../../admin/secret",
			"/groq/v1/../../../admin",
			"/openai/v1/%2e%2e/%2e%2e/admin",
			"/openai/v1/%2E%2e/admin",
			"/openai/v1/..%2f..%2fadmin",
			"/openai/v1/..%2F..%2Fadmin",
			"/openai/v1%2fchat/completions",
			"/openai/v1/..%5c..%5cadmin",
			"/openai/./v1/models",
			"/openai/v1/models/.",
			"/api/../openai/v1/models",
			"/api/traces/%2e%2e",
			"/api/health/..",
		} {
			for _, method := range []string{"GET", "POST"} {
				r := g.raw(method + " " + target + " HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + openAIKey +
					"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
				expectJSONError(t, method+" "+target, r.status, r.body, 400, "invalid request path")
			}
		}
		if reqs := g.fake.Requests(); len(reqs) != 0 {
			t.Fatalf("refused paths reached the upstream: %+v", reqs[0])
		}

		// Dots inside a segment are ordinary characters.
		r := g.raw("GET /groq/v1/models/a..b HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + openAIKey + "\r\nConnection: close\r\n\r\n")
		if r.status == 400 {
			t.Fatalf("a clean path was refused: %s", r.body)
		}
		reqs := g.fake.Requests()
		if len(reqs) != 1 {
			t.Fatalf("upstream got %d requests, want 1", len(reqs))
		}
		expect(t, "path under the base", reqs[0].Path, "/groq-base/openai/v1/models/a..b")
		tr := g.oneTrace() // the refusals left no trace
		expect(t, "traced path", tr.RequestPath, "/groq/v1/models/a..b")
	})
}

func TestGatewayTokensNeverReachTheUpstream(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	const body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	for _, mode := range []string{"auth-off", "auth-on"} {
		t.Run(mode, func(t *testing.T) {
			eachDriver(t, func(t *testing.T, driver string) {
				var opts []func(*config.Config)
				token := "ogw_notAKeyButShapedLikeOne0123456789abcdefghij"
				if mode == "auth-on" {
					opts = append(opts, withAuth)
					token = acmeOwnerToken
				}
				g := startGateway(t, driver, opts...)
				head := "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n" +
					gatewayHeader + ": " + token + "\r\nConnection: close\r\n"
				chunked := func(extra, trailer string) string {
					return head + extra + "Transfer-Encoding: chunked\r\nTrailer: " + strings.SplitN(trailer, ":", 2)[0] + "\r\n\r\n" +
						fmt.Sprintf("%x\r\n%s\r\n0\r\n%s\r\n\r\n", len(body), body, trailer)
				}
				fixed := func(extra string) string {
					return head + extra + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
				}
				bearer := "Authorization: Bearer " + openAIKey + "\r\n"

				// The gateway key header as a trailer is removed; the
				// call goes through, and a harmless trailer with it.
				r := g.raw(chunked(bearer, gatewayHeader+": "+token+"\r\nX-Checksum: abc"))
				expect(t, "trailer gateway key: status", r.status, 200)
				reqs := g.fake.Requests()
				if len(reqs) != 1 {
					t.Fatalf("upstream got %d requests, want 1", len(reqs))
				}
				expect(t, "trailers forwarded at all", reqs[0].Trailer.Get("X-Checksum"), "abc")
				for _, h := range []http.Header{reqs[0].Header, reqs[0].Trailer} {
					for name, vs := range h {
						for _, v := range vs {
							if strings.Contains(v, "ogw_") {
								t.Errorf("%s forwarded a gateway token", name)
							}
						}
					}
				}

				for _, c := range []struct{ name, req, msg string }{
					{"token in another trailer", chunked(bearer, "X-Other: "+token), "gateway key in forwarded header"},
					{"x-api-key beside Authorization", fixed(bearer + "X-Api-Key: " + token + "\r\n"), "gateway key in provider credential header"},
					{"api-key beside Authorization", fixed(bearer + "Api-Key: " + token + "\r\n"), "gateway key in provider credential header"},
					{"Basic credentials", fixed("Authorization: " + basic("user:"+token) + "\r\n"), "gateway key in provider credential header"},
					{"Token scheme", fixed("Authorization: Token " + token + "\r\n"), "gateway key in provider credential header"},
					{"another header", fixed(bearer + "X-Custom: " + token + "\r\n"), "gateway key in forwarded header"},
				} {
					r := g.raw(c.req)
					expectJSONError(t, c.name, r.status, r.body, 400, c.msg)
				}

				if n := len(g.fake.Requests()); n != 1 {
					t.Fatalf("upstream got %d requests, want only the one with a stripped trailer", n)
				}
			})
		})
	}
}

func TestSlowRequestBodiesAreCutOffWith408(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) { c.Server.ReadBodyTimeout = 300 * time.Millisecond })
		const clients, announced = 4, 32 << 20
		conns := make([]net.Conn, clients)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range conns {
			conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer %s\r\n"+
				"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"model\":\"gpt-4o\",", openAIKey, announced)
			conns[i] = conn
		}
		for _, conn := range conns {
			r := readRaw(t, conn)
			expectJSONError(t, "trickled body", r.status, r.body, 408, "request body timeout")
			expect(t, "connection closed", r.close, true)
		}
		runtime.ReadMemStats(&after)
		// The buffers grow with the bytes received; the old code allocated
		// the announced 32 MiB per request before the first byte arrived.
		if got := after.TotalAlloc - before.TotalAlloc; got > announced {
			t.Errorf("%d requests announcing %d bytes and sending 18 allocated %d bytes", clients, announced, got)
		}
		if n := len(g.fake.Requests()); n != 0 {
			t.Errorf("%d incomplete requests reached the upstream", n)
		}

		// The deadline covers the body only: a stream that outlasts it,
		// after a body received in time, is not cut.
		stream := g.openai(fakeupstream.HeaderEvents, "8", fakeupstream.HeaderInterval, "100ms").
			Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
		var text strings.Builder
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream after the body deadline: %v", err)
		}
		expect(t, "streamed text", text.String(), fakeupstream.Text(8))
		r := g.oneTrace()
		expect(t, "outcome", r.Outcome, trace.OutcomeOK)
		expect(t, "tokens_estimated", r.TokensEstimated, false)
	})
}

// A client trickling the body of an /api call holds its connection no
// longer than server.read_body_timeout either: the handler answers 408,
// and a request refused before its body is read (here an anonymous
// mutation, 403) is answered and closed at the same bound rather than
// when the client pleases.
func TestSlowAPIBodiesAreCutOff(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, func(c *config.Config) { c.Server.ReadBodyTimeout = 300 * time.Millisecond })
		trickle := func(key string) rawResponse {
			t.Helper()
			conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "POST /api/orgs HTTP/1.1\r\nHost: gw\r\nX-OngoingAI-Gateway-Key: %s\r\n"+
				"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":", key)
			return readRaw(t, conn)
		}
		r := trickle(acmeOwnerToken)
		expectJSONError(t, "trickled /api body", r.status, r.body, 408, "request body timeout")
		expect(t, "connection closed after 408", r.close, true)

		r = trickle("ogw_" + strings.Repeat("x", 43))
		expect(t, "unknown key, trickled body", r.status, 401)
		expect(t, "connection closed after 401", r.close, true)
	})
}

func TestUpstreamResetMidStreamEstimatesDeliveredOutput(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver)

		stream := g.openai(fakeupstream.HeaderEvents, "50", fakeupstream.HeaderResetAfter, "5").
			Chat.Completions.NewStreaming(context.Background(), chatParams("gpt-4o"))
		var text strings.Builder
		for stream.Next() {
			if c := stream.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		if stream.Err() == nil {
			t.Fatal("the client saw a complete stream")
		}
		stream.Close()
		expect(t, "delivered text", text.String(), fakeupstream.Text(5))
		r := g.oneTrace()
		expect(t, "outcome", r.Outcome, trace.OutcomeUpstreamError)
		expect(t, "response_status", r.ResponseStatus, 200)
		expect(t, "tokens_estimated", r.TokensEstimated, true)
		expect(t, "output_tokens (from delivered text)", r.OutputTokens, int64((len(fakeupstream.Text(5))+3)/4))
		if r.EstimatedCostUSD <= 0 {
			t.Errorf("delivered text costs money; got %v", r.EstimatedCostUSD)
		}

		// Anthropic reports input tokens first; they stay exact.
		as := g.anthropic(fakeupstream.HeaderInputTokens, "900", fakeupstream.HeaderEvents, "50", fakeupstream.HeaderResetAfter, "3").
			Messages.NewStreaming(context.Background(), messageParams("claude-sonnet-4"))
		for as.Next() {
		}
		if err := as.Err(); err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("anthropic stream error = %v, want a broken stream", err)
		}
		as.Close()
		var ar trace.Record
		for _, tr := range g.traces(2) {
			if tr.Provider == "anthropic" {
				ar = tr
			}
		}
		expect(t, "anthropic outcome", ar.Outcome, trace.OutcomeUpstreamError)
		expect(t, "anthropic input_tokens (from message_start)", ar.InputTokens, int64(900))
		expect(t, "anthropic tokens_estimated", ar.TokensEstimated, true)
		expect(t, "anthropic output_tokens", ar.OutputTokens, int64((len(fakeupstream.Text(3))+3)/4))
	})
}
