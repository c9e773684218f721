package pii

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/proxy"
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
func chatBody4K() []byte {
	var b strings.Builder
	b.WriteString(`{"model":"gpt-4o-mini","max_tokens":512,"messages":[{"role":"system","content":"You are a helpful assistant."}`)
	for b.Len() < 4000 {
		b.WriteString(`,{"role":"user","content":"Please summarise the meeting notes from 2024-01-15 about release v1.2.3 and ticket 4521; the build took 1733612345 ms."}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func benchCheck(b *testing.B, mode string) {
	cfg := config.Default()
	cfg.PII.Mode = mode
	e := NewEngine(cfg, []byte("salt"), nil)
	body := chatBody4K()
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
