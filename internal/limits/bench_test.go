package limits

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
)

// benchLimits sets every kind in every scope, the most work a check does.
var benchLimits = config.Limits{
	PerKey:       config.LimitSet{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, TokensPerDay: 1 << 50, USDPerDay: 1e8, USDPerMonth: 1e8},
	PerWorkspace: config.LimitSet{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, TokensPerDay: 1 << 50, USDPerDay: 1e8, USDPerMonth: 1e8},
	PerOrg:       config.LimitSet{RequestsPerMinute: 1 << 40, TokensPerMinute: 1 << 50, TokensPerDay: 1 << 50, USDPerDay: 1e8, USDPerMonth: 1e8},
}

// BenchmarkAdmitSettle is one call's whole cost with every limit on:
// Admit before forwarding, Settle after, over 100 keys in 10 workspaces.
// It reports the median (p50-ns) beside the mean.
func BenchmarkAdmitSettle(b *testing.B) {
	l := New(benchLimits)
	subjects := make([]Subject, 100)
	for i := range subjects {
		subjects[i] = Subject{OrgID: "acme", WorkspaceID: "ws" + strconv.Itoa(i%10), KeyID: "key" + strconv.Itoa(i)}
	}
	want := Cost{Tokens: 1200, NanoUSD: 3_000_000}
	got := Cost{Tokens: 400, NanoUSD: 1_000_000}
	samples := make([]time.Duration, 1<<16) // a ring of the latest calls
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		r, _, ok := l.Admit(subjects[i%len(subjects)], want, start)
		if !ok {
			b.Fatal("refused")
		}
		r.Settle(got, start)
		samples[i%len(samples)] = time.Since(start)
		n = i + 1
	}
	b.StopTimer()
	samples = samples[:min(n, len(samples))]
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds()), "p50-ns")
}

// BenchmarkAdmitParallel is Admit and Settle from every core at once on
// the same workspace and org, the contended case.
func BenchmarkAdmitParallel(b *testing.B) {
	l := New(benchLimits)
	want := Cost{Tokens: 1200, NanoUSD: 3_000_000}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			now := time.Now()
			r, _, _ := l.Admit(Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "key" + strconv.Itoa(i%8)}, want, now)
			r.Settle(want, now)
		}
	})
}

// BenchmarkAdmitOff is the check with no limit configured: nothing.
func BenchmarkAdmitOff(b *testing.B) {
	l := New(config.Limits{})
	s := Subject{OrgID: "acme", WorkspaceID: "prod", KeyID: "key"}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		r, _, _ := l.Admit(s, Cost{Tokens: 1}, now)
		r.Settle(Cost{}, now)
	}
}
