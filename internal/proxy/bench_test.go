package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/internal/trace"
)

// The proxy benchmarks serve one call through Proxy.Handler with the
// upstream replayed from memory: the fake upstream renders each response
// once, and a replaying transport hands the same bytes back on every
// iteration. What remains is the proxy's own work per call (request
// inspection, the reverse proxy, the tap, the observer, the trace record),
// without sockets, so allocations per call are exact and stable. The
// replaying transport and the discarding client cost a constant handful of
// allocations that are counted too (see BenchmarkProxyHarness).

// sdkHeaders are the request headers openai-go and anthropic-sdk-go send.
var sdkHeaders = map[string]string{
	"Accept":                      "application/json",
	"Content-Type":                "application/json",
	"User-Agent":                  "OpenAI/Go 3.96.0",
	"X-Stainless-Arch":            "x64",
	"X-Stainless-Lang":            "go",
	"X-Stainless-Os":              "Linux",
	"X-Stainless-Package-Version": "3.96.0",
	"X-Stainless-Retry-Count":     "0",
	"X-Stainless-Runtime":         "go",
	"X-Stainless-Runtime-Version": "go1.26.0",
	"X-Request-Id":                "req_0123456789abcdef",
}

// benchCall is one kind of call: what the client sends and what the
// upstream answers.
type benchCall struct {
	name     string
	provider string // openai or anthropic
	path     string // below the prefix
	body     string
	fake     map[string]string // fake upstream controls, and Accept-Encoding
}

var benchCalls = []benchCall{
	{name: "openai-chat", provider: "openai", path: "/v1/chat/completions",
		body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}`},
	{name: "openai-chat-gzip", provider: "openai", path: "/v1/chat/completions",
		body: `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}`,
		fake: map[string]string{"Accept-Encoding": "gzip"}},
	{name: "anthropic-messages", provider: "anthropic", path: "/v1/messages",
		body: `{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"Say hello."}]}`},
	{name: "openai-stream-64", provider: "openai", path: "/v1/chat/completions",
		body: `{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count."}]}`,
		fake: map[string]string{fakeupstream.HeaderEvents: "64"}},
	{name: "openai-stream-64-inject", provider: "openai", path: "/v1/chat/completions",
		body: `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Count."}]}`,
		fake: map[string]string{fakeupstream.HeaderEvents: "64"}},
	{name: "anthropic-stream-64", provider: "anthropic", path: "/v1/messages",
		body: `{"model":"claude-sonnet-4","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Count."}]}`,
		fake: map[string]string{fakeupstream.HeaderEvents: "64"}},
}

// replay is an http.RoundTripper that answers every request with one
// recorded response.
type replay struct {
	status int
	header http.Header
	body   []byte
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(r.body)),
		ContentLength: -1,
		Request:       req,
	}, nil
}

// record renders the fake upstream's answer to the request the proxy
// forwards for bc (usage injected where the proxy would ask for it).
func record(tb testing.TB, bc benchCall, adapter providers.Adapter) *replay {
	tb.Helper()
	_, fwd := adapter.PrepareRequest(bc.path, []byte(bc.body), true)
	if fwd == nil {
		fwd = []byte(bc.body)
	}
	req := httptest.NewRequest(http.MethodPost, bc.path, bytes.NewReader(fwd))
	req.Header.Set("Authorization", "Bearer sk-bench")
	req.Header.Set("X-Api-Key", "sk-bench")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	for k, v := range bc.fake {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	fakeupstream.New(fakeupstream.Options{MaxRecorded: -1}).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("fake upstream: %d %s", rec.Code, rec.Body)
	}
	h := rec.Result().Header
	h.Del("Content-Length")
	return &replay{status: rec.Code, header: h, body: rec.Body.Bytes()}
}

// discard is a client that drops the body; it flushes, as a real
// connection does, so streaming takes the same path.
type discard struct {
	h      http.Header
	status int
	n      int64
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(status int)      { d.status = status }
func (d *discard) Flush()                      {}
func (d *discard) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// SetReadDeadline accepts the read deadline (server.read_body_timeout) as
// the server's writer does; without it http.ResponseController reports
// ErrNotSupported, wrapped, which allocates where the server would not.
func (d *discard) SetReadDeadline(time.Time) error { return nil }

// sink counts records and keeps the last one.
type sink struct {
	n    atomic.Int64
	last *trace.Record
}

func (s *sink) Enqueue(r *trace.Record) bool { s.n.Add(1); s.last = r; return true }

// benchProxy returns the handler for bc and a function that builds the
// client's request.
// wrap, when given, wraps the replaying transport.
func benchProxy(tb testing.TB, bc benchCall, opts Options, wrap ...func(*replay) http.RoundTripper) (http.Handler, func() *http.Request, *sink) {
	tb.Helper()
	adapter := providers.OpenAI()
	if bc.provider == "anthropic" {
		adapter = providers.Anthropic()
	}
	s := &sink{}
	rp := record(tb, bc, adapter)
	opts.Transport = rp
	for _, w := range wrap {
		opts.Transport = w(rp)
	}
	if opts.Traces == nil {
		opts.Traces = s
	}
	if opts.GatewayKeyHeader == "" {
		opts.GatewayKeyHeader = "X-Ongoingai-Gateway-Key"
	}
	if opts.GatewayTokenPrefix == "" {
		opts.GatewayTokenPrefix = "ogw_" // as the gateway runs: every header is scanned
	}
	if opts.ReadBodyTimeout == 0 {
		opts.ReadBodyTimeout = time.Minute
	}
	p := New(opts)
	target, _ := url.Parse("http://upstream.invalid")
	h := p.Handler(&Upstream{Name: bc.provider, Prefix: "/" + bc.provider, Target: target, Adapter: adapter})
	body := []byte(bc.body)
	newReq := func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, "/"+bc.provider+bc.path, bytes.NewReader(body))
		for k, v := range sdkHeaders {
			req.Header.Set(k, v)
		}
		if bc.provider == "anthropic" {
			req.Header.Set("X-Api-Key", "sk-ant-bench-0123456789")
			req.Header.Set("Anthropic-Version", "2023-06-01")
			req.Header.Set("User-Agent", "Anthropic/Go 1.19.0")
		} else {
			req.Header.Set("Authorization", "Bearer sk-proj-bench-0123456789")
		}
		req.Header.Set("X-Ongoingai-Gateway-Key", "ogw_bench")
		if ae := bc.fake["Accept-Encoding"]; ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		return req
	}
	return h, newReq, s
}

func runProxyBench(b *testing.B, opts Options) {
	for _, bc := range benchCalls {
		b.Run(bc.name, func(b *testing.B) {
			h, newReq, s := benchProxy(b, bc, opts)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, newReq())
			}
			if s.n.Load() == 0 || s.last.Outcome != trace.OutcomeOK || s.last.OutputTokens == 0 {
				b.Fatalf("calls not accounted: %d records, last %+v", s.n.Load(), s.last)
			}
		})
	}
}

// BenchmarkProxy is one proxied call as the gateway serves it by default.
func BenchmarkProxy(b *testing.B) {
	runProxyBench(b, Options{InjectStreamUsage: true})
}

// BenchmarkProxyAllHeaders is the same with every header captured (the
// behaviour before header capture became configurable).
func BenchmarkProxyAllHeaders(b *testing.B) {
	runProxyBench(b, Options{InjectStreamUsage: true, CaptureHeaderNames: []string{"*"}})
}

// BenchmarkProxyHarness is what the benchmark's own client request and
// replaying transport cost, to subtract from BenchmarkProxy.
func BenchmarkProxyHarness(b *testing.B) {
	bc := benchCalls[0]
	rt := record(b, bc, providers.OpenAI())
	_, newReq, _ := benchProxy(b, bc, Options{})
	b.ReportAllocs()
	for b.Loop() {
		req := newReq()
		resp, _ := rt.RoundTrip(req)
		io.Copy(io.Discard, resp.Body)
	}
}
