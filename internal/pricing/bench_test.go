package pricing

import "testing"

// The gateway prices every call, so lookups must stay a map hit: well under
// a microsecond and zero allocations once a name has been seen.
func BenchmarkLookup(b *testing.B) {
	c := Default()
	cases := []struct{ label, name string }{
		{"exact", "gpt-4o"},
		{"snapshot", "claude-sonnet-4-20250514"},
		{"prefixed-snapshot", "openai/gpt-4o-mini-2024-07-18"},
		{"unknown", "unknown-model"},
	}
	for _, tc := range cases {
		c.Lookup(tc.name) // first sight resolves and caches; measure the steady state
		b.Run(tc.label, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Lookup(tc.name)
			}
		})
	}
}

func BenchmarkCost(b *testing.B) {
	c := Default()
	usage := Tokens{Input: 12_000, CachedInput: 8_000, CacheWrite: 1_000, Output: 900, Reasoning: 300}
	cases := []struct{ label, name string }{
		{"exact", "gpt-4o"},
		{"snapshot", "claude-sonnet-4-20250514"},
	}
	for _, tc := range cases {
		c.Lookup(tc.name)
		b.Run(tc.label, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.Cost(tc.name, usage)
			}
		})
	}
}

func BenchmarkLookupParallel(b *testing.B) {
	c := Default()
	c.Lookup("claude-sonnet-4-20250514")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Lookup("claude-sonnet-4-20250514")
		}
	})
}

// BenchmarkLookupMiss is the price of a name seen for the first time (or
// once the cache is full): resolution without the cache.
func BenchmarkLookupMiss(b *testing.B) {
	c := Default()
	b.ReportAllocs()
	for b.Loop() {
		c.resolve("openai/gpt-4o-mini-2024-07-18")
	}
}
