package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/testdb"
)

// BenchmarkProxyChain is one proxied call through the gateway's whole
// handler chain as app.New builds it (telemetry middleware, router, gateway
// key auth, proxy, trace writer into SQLite), served in process with the
// fake upstream on a loopback listener. The allocation counters cover the
// whole process, so they include the upstream round trip (client
// transport, the fake's server and handler) and the writer's batched
// inserts; the upstream-only sub-benchmark is that round trip alone, to
// subtract: gateway − upstream-only is what the gateway adds per call,
// trace write included. auth-on adds the gateway key decision (token hash,
// key cache, RBAC policy, last-used tracking); all-headers stores every
// header (tracing.capture_headers: ["*"], which was always on before the
// setting existed).
func BenchmarkProxyChain(b *testing.B) {
	fake := fakeupstream.New(fakeupstream.Options{MaxRecorded: -1})
	upstream := httptest.NewServer(fake)
	b.Cleanup(func() { fake.Close(); upstream.Close() })

	calls := []struct {
		name, path, body string
		header           map[string]string
	}{
		{"openai-chat", "/openai/v1/chat/completions",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}`, nil},
		{"openai-chat-gzip", "/openai/v1/chat/completions",
			`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello in one short sentence."}]}`,
			map[string]string{"Accept-Encoding": "gzip"}},
		{"openai-stream-64", "/openai/v1/chat/completions",
			`{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Count."}]}`,
			map[string]string{fakeupstream.HeaderEvents: "64"}},
	}
	const token = "bench-token-for-the-developer-role-0123456789"
	for _, variant := range []struct {
		name       string
		auth       bool
		allHeaders bool
	}{
		{"auth-off", false, false},
		{"auth-on", true, false},
		{"auth-off-all-headers", false, true},
	} {
		auth := variant.auth
		b.Run(variant.name, func(b *testing.B) {
			cfg := config.Default()
			if variant.allHeaders {
				cfg.Tracing.CaptureHeaders = []string{"*"}
			}
			cfg.Storage.Path = testdb.SQLitePath(b)
			for n, p := range cfg.Providers {
				p.Upstream = upstream.URL
				cfg.Providers[n] = p
			}
			if auth {
				cfg.Auth.Enabled = true
				cfg.Auth.Keys = []config.StaticKey{{ID: "bench", Token: token, OrgID: "acme", WorkspaceID: "prod", Role: "developer"}}
			}
			if err := cfg.Validate(); err != nil {
				b.Fatal(err)
			}
			a, err := New(context.Background(), cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				a.Close(ctx)
			})
			h := a.Handler()
			for _, c := range calls {
				b.Run(c.name, func(b *testing.B) {
					header := sdkHeader(c.header)
					if auth {
						header.Set("X-OngoingAI-Gateway-Key", token)
					}
					target, _ := url.Parse("http://gateway" + c.path)
					w := &discardWriter{h: http.Header{}}
					serve := func() {
						clear(w.h)
						w.status = 0
						h.ServeHTTP(w, newRequest(target, header, c.body))
						if w.status != http.StatusOK {
							b.Fatalf("status %d", w.status)
						}
					}
					serve()
					b.ReportAllocs()
					for b.Loop() {
						serve()
					}
				})
			}
		})
	}

	// The round trip to the fake upstream alone, as the gateway's transport
	// makes it.
	b.Run("upstream-only", func(b *testing.B) {
		tr := proxy.NewTransport(proxy.TransportOptions{
			DialTimeout: 10 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
			ResponseHeaderTimeout: time.Minute, IdleConnTimeout: time.Minute, MaxIdleConnsPerHost: 64,
		})
		b.Cleanup(tr.CloseIdleConnections)
		for _, c := range calls {
			b.Run(c.name, func(b *testing.B) {
				target, _ := url.Parse(upstream.URL + c.path[len("/openai"):])
				header := sdkHeader(c.header)
				roundTrip := func() {
					resp, err := tr.RoundTrip(newRequest(target, header, c.body))
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				roundTrip()
				b.ReportAllocs()
				for b.Loop() {
					roundTrip()
				}
			})
		}
	})
}

// sdkHeader is what openai-go sends, plus extra.
func sdkHeader(extra map[string]string) http.Header {
	h := http.Header{}
	for k, v := range map[string]string{
		"Accept": "application/json", "Content-Type": "application/json", "User-Agent": "OpenAI/Go 3.96.0",
		"Authorization": "Bearer sk-proj-bench-0123456789", "X-Stainless-Arch": "x64", "X-Stainless-Lang": "go",
		"X-Stainless-Os": "Linux", "X-Stainless-Package-Version": "3.96.0", "X-Stainless-Retry-Count": "0",
		"X-Stainless-Runtime": "go", "X-Stainless-Runtime-Version": "go1.26.0",
	} {
		h.Set(k, v)
	}
	for k, v := range extra {
		h.Set(k, v)
	}
	return h
}

// newRequest builds a request the way the server hands one to a handler,
// without parsing one from text.
func newRequest(target *url.URL, header http.Header, body string) *http.Request {
	return &http.Request{
		Method: http.MethodPost, URL: target, Host: target.Host, RequestURI: target.RequestURI(),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header.Clone(), Body: io.NopCloser(bytes.NewReader([]byte(body))), ContentLength: int64(len(body)),
		RemoteAddr: "127.0.0.1:40000",
	}
}

// discardWriter is a client that drops the body and can flush.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header { return d.h }
func (d *discardWriter) WriteHeader(status int) {
	if d.status == 0 {
		d.status = status
	}
}
func (d *discardWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(p), nil
}
func (d *discardWriter) Flush() {}
