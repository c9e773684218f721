package harness

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ongoingai/gateway/bench/internal/load"
)

// call is one kind of request the scenarios send, with the body and headers
// the official Go SDKs send, so the gateway parses, forwards and stores
// exactly what it would in production.
type call struct {
	name     string
	provider string // "openai" or "anthropic": picks the gateway prefix
	path     string // as the upstream serves it, e.g. "/v1/chat/completions"
	header   http.Header
	body     []byte
}

// The provider keys are fakes (the fake upstream accepts any key); they
// matter because the gateway hashes them into every trace.
const (
	benchOpenAIKey    = "sk-proj-bench0000000000000000000000000000000000000000000000Xq7Z"
	benchAnthropicKey = "sk-ant-api03-bench00000000000000000000000000000000000000000000000000000000000000-Ab9QAA"
)

func sdkHeader(sdk, version string) http.Header {
	return http.Header{
		"Content-Type":                {"application/json"},
		"Accept":                      {"application/json"},
		"User-Agent":                  {sdk + "/Go " + version},
		"X-Stainless-Lang":            {"go"},
		"X-Stainless-Package-Version": {version},
		"X-Stainless-Os":              {"Linux"},
		"X-Stainless-Arch":            {"x64"},
		"X-Stainless-Runtime":         {"go"},
		"X-Stainless-Runtime-Version": {"go1.26.0"},
		"X-Stainless-Retry-Count":     {"0"},
	}
}

// openAIChat is a small chat completion as openai-go v3 sends it.
func openAIChat(stream bool) call {
	h := sdkHeader("OpenAI", "3.96.0")
	h.Set("Authorization", "Bearer "+benchOpenAIKey)
	body := `{"messages":[{"content":"You are a concise assistant.","role":"system"},` +
		`{"content":"Summarise the plot of Hamlet in one sentence.","role":"user"}],` +
		`"model":"gpt-4o-mini","max_completion_tokens":128,"temperature":0.2`
	name := "openai chat"
	if stream {
		body += `,"stream":true`
		name += " stream"
	}
	return call{name: name, provider: "openai", path: "/v1/chat/completions", header: h, body: []byte(body + "}")}
}

// anthropicMessages is a small message as anthropic-sdk-go sends it.
func anthropicMessages(stream bool) call {
	h := sdkHeader("Anthropic", "1.84.0")
	h.Set("X-Api-Key", benchAnthropicKey)
	h.Set("Anthropic-Version", "2023-06-01")
	body := `{"max_tokens":128,"messages":[{"content":"Summarise the plot of Hamlet in one sentence.","role":"user"}],` +
		`"model":"claude-sonnet-4-20250514","system":"You are a concise assistant.","temperature":0.2`
	name := "anthropic messages"
	if stream {
		body += `,"stream":true`
		name += " stream"
	}
	return call{name: name, provider: "anthropic", path: "/v1/messages", header: h, body: []byte(body + "}")}
}

// withGzip returns c asking for gzip, as Go's transport (and so the SDKs)
// does by default; the fake then compresses JSON as the real APIs do.
func (c call) withGzip() call {
	c.header = c.header.Clone()
	c.header.Set("Accept-Encoding", "gzip")
	c.name += " (gzip)"
	return c
}

// target is one place to send calls: the fake upstream itself (the
// baseline) or the gateway in front of it.
type target struct {
	name   string // "direct", "relay" or "gateway"
	base   string // scheme://host:port
	pid    int    // the process serving base, 0 for the in-process upstream
	client *http.Client
	// prefixed: the gateway serves each provider under /<provider>, the
	// upstream at its root.
	prefixed bool
}

func (t *target) urlFor(c call) string {
	if t.prefixed {
		return t.base + "/" + c.provider + c.path
	}
	return t.base + c.path
}

// newRequest builds the HTTP request for c on t. Headers are shared,
// read-only, between requests: the transport never writes to them.
func (t *target) newRequest(ctx context.Context, c call, url string, extra http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(c.body))
	if err != nil {
		return nil, err
	}
	if extra == nil {
		req.Header = c.header
	} else {
		req.Header = c.header.Clone()
		for k, v := range extra {
			req.Header[k] = v
		}
	}
	return req, nil
}

// op returns a load.Op that sends c to t and reads the whole answer.
func (t *target) op(c call) load.Op {
	url := t.urlFor(c)
	return func(ctx context.Context, _ int) (int, error) {
		req, err := t.newRequest(ctx, c, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := t.client.Do(req)
		if err != nil {
			return 0, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, err
	}
}

// fetch sends c once and returns status and body size: for large bodies,
// where the one call is the measurement.
func (t *target) fetch(ctx context.Context, c call) (int, int64, error) {
	req, err := t.newRequest(ctx, c, t.urlFor(c), nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, err
}

// streamResult is what one stream observed on the client side.
type streamResult struct {
	start   time.Duration   // request sent, since the flush table's epoch
	arrived []time.Duration // each event's arrival, since the epoch
	status  int
	err     error
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}

// stream sends c as stream number n and records when each event arrived.
func (t *target) stream(ctx context.Context, c call, n int, epoch time.Time, expectEvents int) streamResult {
	var r streamResult
	extra := http.Header{headerStream: {strconv.Itoa(n)}}
	req, err := t.newRequest(ctx, c, t.urlFor(c), extra)
	if err != nil {
		r.err = err
		return r
	}
	r.arrived = make([]time.Duration, 0, expectEvents)
	r.start = time.Since(epoch)
	resp, err := t.client.Do(req)
	if err != nil {
		r.err = err
		return r
	}
	defer resp.Body.Close()
	r.status = resp.StatusCode
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(resp.Body)
	_, r.err = load.ReadEvents(br, func(_ int, at time.Time) {
		r.arrived = append(r.arrived, at.Sub(epoch))
	})
	br.Reset(nil)
	readerPool.Put(br)
	if r.err == nil && r.status != http.StatusOK {
		r.err = fmt.Errorf("HTTP %d", r.status)
	}
	return r
}
