package pii

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/trace"
)

func TestScopePrecedence(t *testing.T) {
	cfg := config.Default()
	cfg.PII.Mode = config.PIIModeOff
	cfg.PII.Scopes = []config.PIIScope{
		{Match: config.PIIMatch{OrgID: "o"}, Mode: "org"},
		{Match: config.PIIMatch{WorkspaceID: "w"}, Mode: "ws"},
		{Match: config.PIIMatch{KeyID: "k"}, Mode: "key"},
		{Match: config.PIIMatch{OrgID: "o", Provider: "openai"}, Mode: "org+provider"},
		{Match: config.PIIMatch{OrgID: "o", RoutePrefix: "/openai/v1"}, Mode: "org+prefix"},
		{Match: config.PIIMatch{OrgID: "o", RoutePrefix: "/openai/v1/chat"}, Mode: "org+longer"},
	}
	e := NewEngine(cfg, []byte("s"), nil)
	cases := []struct {
		id       proxy.Identity
		provider string
		path     string
		want     string
	}{
		{proxy.Identity{OrgID: "o", WorkspaceID: "w", GatewayKeyID: "k"}, "openai", "/openai/v1/chat/completions", "key"},
		{proxy.Identity{OrgID: "o", WorkspaceID: "w"}, "openai", "/openai/v1/chat/completions", "ws"},
		{proxy.Identity{OrgID: "o"}, "openai", "/x", "org+provider"},
		{proxy.Identity{OrgID: "o"}, "anthropic", "/openai/v1/chat/completions", "org+longer"},
		{proxy.Identity{OrgID: "o"}, "anthropic", "/openai/v10", "org"},
		{proxy.Identity{OrgID: "o"}, "anthropic", "/openai/v1/models", "org+prefix"},
		{proxy.Identity{OrgID: "other"}, "openai", "/openai/v1", config.PIIModeOff},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("POST", tc.path, nil)
		if got, _ := e.resolve(r, tc.provider, tc.id); got != tc.want {
			t.Errorf("%+v %s %s: %q, want %q", tc.id, tc.provider, tc.path, got, tc.want)
		}
	}
}

// chatBody4K is a realistic 4 KB chat request without PII.
func chatBody4K() []byte { return chatBody(4000) }

// chatBody is a realistic chat request without PII of about size bytes.
func chatBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o-mini","max_tokens":512,"messages":[{"role":"system","content":"You are a helpful assistant."}`)
	for b.Len() < size {
		b.WriteString(`,{"role":"user","content":"Please summarise the meeting notes from 2024-01-15 about release v1.2.3 and ticket 4521; the build took 1733612345 ms."}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func benchCheck(b *testing.B, mode string) { benchCheckBody(b, mode, chatBody4K()) }

func benchCheckBody(b *testing.B, mode string, body []byte) {
	cfg := config.Default()
	cfg.PII.Mode = mode
	e := NewEngine(cfg, []byte("salt"), nil)
	r := httptest.NewRequest("POST", "/openai/v1/chat/completions", nil)
	r.Header.Set("Content-Type", "application/json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Check(r, "openai", proxy.Identity{WorkspaceID: "w"}, body); d.Status != 0 {
			b.Fatal("blocked a clean body")
		}
	}
}

// BenchmarkBlock4KB is the cost block mode adds to a clean 4 KB chat body.
func BenchmarkBlock4KB(b *testing.B) { benchCheck(b, config.PIIModeBlock) }

// BenchmarkRedactUpstream4KB is the cost redact_upstream adds to a clean
// 4 KB chat body (the scan, no copy: nothing found).
func BenchmarkRedactUpstream4KB(b *testing.B) { benchCheck(b, config.PIIModeRedactUpstream) }

// BenchmarkRedactStorage4KB is what redact_storage adds on the request
// path: resolving the scope and attaching the stored-copy redaction.
func BenchmarkRedactStorage4KB(b *testing.B) { benchCheck(b, config.PIIModeRedactStorage) }

// BenchmarkBlockSize shows the cost is linear in the body size.
func BenchmarkBlockSize(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KB", func(b *testing.B) { benchCheckBody(b, config.PIIModeBlock, chatBody(size)) })
	}
}

// BenchmarkStoredRecord is the writer-side cost of redact_storage for a
// trace with a 4 KB request and a 4 KB streamed answer, both with PII: off
// the request path, on the trace writer's goroutine.
func BenchmarkStoredRecord(b *testing.B) {
	cfg := config.Default()
	cfg.Tracing.CaptureBodies = true
	e := NewEngine(cfg, []byte("salt"), nil)
	r := httptest.NewRequest("POST", "/openai/v1/chat/completions", nil)
	body := append(chatBody4K()[:0:0], chatBody4K()...)
	body = append(body[:len(body)-2], `,{"role":"user","content":"My SSN is 123-45-6789"}]}`...)
	var stream strings.Builder
	for stream.Len() < 4000 {
		stream.WriteString(`data: {"choices":[{"delta":{"content":" write to bob@example.com today"}}]}` + "\n\n")
	}
	b.SetBytes(int64(len(body) + stream.Len()))
	b.ReportAllocs()
	for b.Loop() {
		d := e.Check(r, "openai", proxy.Identity{WorkspaceID: "w"}, body)
		rec := &trace.Record{RequestBody: string(body), ResponseBody: stream.String(), Streaming: true}
		if err := d.Storage.Redact(rec, trace.BodyCuts{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedactJSON4KB is the cost of redacting a 4 KB chat body.
func BenchmarkRedactJSON4KB(b *testing.B) {
	r := NewRedactor(WorkspaceKey([]byte("salt"), "w"), config.DefaultPIIFormat)
	body := chatBody4K()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := r.RedactJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
