package fakeupstream_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/fakeupstream"
)

// The benchmarks call the handler directly so they measure the fake alone,
// which is what the load harness needs to stay small next to the gateway.

func benchmarkEndpoint(b *testing.B, path, body string, headers map[string]string) {
	fake := fakeupstream.New(fakeupstream.Options{MaxRecorded: -1})
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer sk")
		req.Header.Set("X-Api-Key", "sk")
		req.Header.Set("Anthropic-Version", "2023-06-01")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkChat(b *testing.B) {
	benchmarkEndpoint(b, "/v1/chat/completions", chatBody, nil)
}

func BenchmarkChatGzip(b *testing.B) {
	benchmarkEndpoint(b, "/v1/chat/completions", chatBody, map[string]string{"Accept-Encoding": "gzip"})
}

func BenchmarkChatStream(b *testing.B) {
	benchmarkEndpoint(b, "/v1/chat/completions",
		`{"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true}}`,
		map[string]string{fakeupstream.HeaderEvents: "50"})
}

func BenchmarkResponsesStream(b *testing.B) {
	benchmarkEndpoint(b, "/v1/responses", `{"model":"gpt-4.1","stream":true}`,
		map[string]string{fakeupstream.HeaderEvents: "50"})
}

func BenchmarkMessagesStream(b *testing.B) {
	benchmarkEndpoint(b, "/v1/messages", `{"model":"claude","max_tokens":64,"stream":true}`,
		map[string]string{fakeupstream.HeaderEvents: "50"})
}
