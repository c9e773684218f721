package proxy

import (
	"net/http"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/trace"
)

// BenchmarkProxyLimits is one proxied chat completion with every limit of
// every scope on (their cost: the difference to "off"), and with limits
// configured but none applying ("off", the check's early return).
func BenchmarkProxyLimits(b *testing.B) {
	big := config.LimitSet{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, TokensPerDay: 1 << 50, USDPerDay: 1e8, USDPerMonth: 1e8}
	id := Identity{OrgID: "acme", WorkspaceID: "prod", GatewayKeyID: "bench"}
	for _, tc := range []struct {
		name string
		cfg  config.Limits
	}{
		{"off", config.Limits{}},
		{"on", config.Limits{PerKey: big, PerWorkspace: big, PerOrg: big}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, newReq, s := benchProxy(b, benchCalls[0], Options{
				InjectStreamUsage: true,
				Limits:            limits.New(tc.cfg),
				Identity:          func(*http.Request) Identity { return id },
			})
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, newReq())
			}
			if s.last.Outcome != trace.OutcomeOK {
				b.Fatalf("last call %+v", s.last)
			}
			if tc.name == "on" && w.h.Get("X-RateLimit-Limit") == "" {
				b.Fatal("no rate-limit headers with limits on")
			}
		})
	}
}
