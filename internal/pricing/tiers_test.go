package pricing

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The models the coding CLIs and SDKs send today must all be priced: an
// unknown one is recorded at $0.
func TestCurrentModelsArePriced(t *testing.T) {
	current := []string{
		"claude-opus-5-5", "claude-sonnet-5-5", "claude-haiku-5-5", "claude-opus-5", "claude-sonnet-5",
		"claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-sonnet-4-6",
		"gpt-5.1", "gpt-5.3-codex", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano", "gpt-5.5",
		"gpt-6-astra", "gpt-6-sol", "gpt-6-luna", "gpt-6.1-sol", "gpt-6.2-sol",
	}
	for _, name := range current {
		if p, ok := Default().Lookup(name); !ok || p.Model != name {
			t.Errorf("Lookup(%q) = %q, %v; want it priced as itself", name, p.Model, ok)
		}
	}
}

// Every entry, every price it has had included, says where its figures
// come from and when they were last compared with that page.
func TestEveryEntryHasSourceAndCheckedDate(t *testing.T) {
	b, err := parseCatalog(catalogJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range b.models {
		if p.Source == "" {
			t.Errorf("%s: no source", p.Model)
		}
		d, err := time.Parse(time.DateOnly, p.Checked)
		if err != nil || d.After(time.Now()) {
			t.Errorf("%s: checked %q is not a past date", p.Model, p.Checked)
		}
		if !statuses[p.Status] {
			t.Errorf("%s: status %q", p.Model, p.Status)
		}
	}
}

// Anthropic's cache multipliers hold for every model that has them: a
// 5-minute write costs 1.25× base input and a 1-hour write 2×. A slipped
// digit in one of the two columns breaks the ratio.
func TestAnthropicCacheWriteMultipliers(t *testing.T) {
	b, err := parseCatalog(catalogJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range b.models {
		if p.Provider != "anthropic" {
			continue
		}
		// Claude 3 Haiku's page figure is 0.30, the 1.25× rate rounded.
		if p.CacheWrite*4 != p.Input*5 && p.Model != "claude-3-haiku" {
			t.Errorf("%s: 5m cache write %d pico is not 1.25× input %d", p.Model, p.CacheWrite, p.Input)
		}
		if p.CacheWrite1h != 2*p.Input {
			t.Errorf("%s: 1h cache write %d pico is not 2× input %d", p.Model, p.CacheWrite1h, p.Input)
		}
	}
}

// Costs under the tiers, each worked by hand in micro-USD (tokens × USD per
// 1M) and written out.
func TestCostAtAppliesTiers(t *testing.T) {
	c := Default()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		model string
		t     Tokens
		cond  Conditions
		want  int64 // nano-USD
	}{
		// Claude Code's 1-hour writes: 1000 × 8 + 1000 × 5 (5m) + 1000 × 4 plain + 100 × 20 = 19000 µ$.
		{"opus 5.5 1h and 5m writes", "claude-opus-5-5[1m]",
			Tokens{Input: 3000, CacheWrite: 2000, CacheWrite1h: 1000, Output: 100}, Conditions{}, 19_000_000},
		// Priced all at the 5m rate it would have been 2000 × 5 + 4000 + 2000 = 16000 µ$: the split matters.
		{"opus 5.5 all 5m writes", "claude-opus-5-5",
			Tokens{Input: 3000, CacheWrite: 2000, Output: 100}, Conditions{}, 16_000_000},
		// At exactly 200K input the standard rate holds: 200000 × 3 = 600000 µ$.
		{"sonnet 4 at the long-context line", "claude-sonnet-4",
			Tokens{Input: 200_000}, Conditions{}, 600_000_000},
		// Over it the whole request moves: 200001 × 6 + 1000 × 22.5 = 1200006 + 22500 µ$.
		{"sonnet 4 over the long-context line", "claude-sonnet-4",
			Tokens{Input: 200_001, Output: 1000}, Conditions{}, 1_222_506_000},
		// Cache reads count towards the line and are doubled too: 150000 × 0.6 + 60000 × 6.
		{"sonnet 4 long context with cache reads", "claude-sonnet-4",
			Tokens{Input: 210_000, CachedInput: 150_000}, Conditions{}, 450_000_000},
		// Haiku 5.5 over 100K prompt: 5× every price: 100001 × 0.5 = 50000.5 µ$.
		{"haiku 5.5 long prompt", "claude-haiku-5-5",
			Tokens{Input: 100_001}, Conditions{}, 50_000_500},
		// Fast mode on Opus 4.6 is 6×: 1000 × 30 + 1000 × 150 = 180000 µ$.
		{"opus 4.6 fast mode", "claude-opus-4-6",
			Tokens{Input: 1000, Output: 1000}, Conditions{Speed: "fast"}, 180_000_000},
		// Fast and US-only together multiply: 180000 × 1.1 = 198000 µ$.
		{"opus 4.6 fast mode in the US", "claude-opus-4-6",
			Tokens{Input: 1000, Output: 1000}, Conditions{Speed: "fast", InferenceGeo: "us"}, 198_000_000},
		// A geo that has no rule costs the standard rate.
		{"opus 4.6 global", "claude-opus-4-6",
			Tokens{Input: 1000, Output: 1000}, Conditions{InferenceGeo: "global"}, 30_000_000},
		// Anthropic batch: half of 1000 × 5 + 1000 × 25.
		{"opus 4.5 batch", "claude-opus-4-5",
			Tokens{Input: 1000, Output: 1000}, Conditions{ServiceTier: "batch"}, 15_000_000},
		// GPT-5.5 priority is 2.5×: 1000 × 12.5 + 1000 × 75 = 87500 µ$.
		{"gpt-5.5 priority", "gpt-5.5",
			Tokens{Input: 1000, Output: 1000}, Conditions{ServiceTier: "priority"}, 87_500_000},
		// Flex halves: (900 × 2.5 + 100 × 0.25 + 1000 × 15) / 2 = 8637.5 µ$.
		{"gpt-5.4 flex", "gpt-5.4",
			Tokens{Input: 1000, CachedInput: 100, Output: 1000}, Conditions{ServiceTier: "flex"}, 8_637_500},
		// "default" is the standard rate.
		{"gpt-5.4 default", "gpt-5.4",
			Tokens{Input: 1000, Output: 1000}, Conditions{ServiceTier: "default"}, 17_500_000},
		// Long context and priority together: 300000 × 2.5 × 2 × 2 + 1000 × 15 × 1.5 × 2 = 3000000 + 45000 µ$.
		{"gpt-5.4 long context priority", "gpt-5.4",
			Tokens{Input: 300_000, Output: 1000}, Conditions{ServiceTier: "priority"}, 3_045_000_000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.CostAt(tc.model, at, tc.t, tc.cond)
			if !got.Priced || got.NanoUSD != tc.want {
				t.Errorf("CostAt(%q, %+v, %+v) = %+v; want %d nano-USD", tc.model, tc.t, tc.cond, got, tc.want)
			}
		})
	}
}

// A price change is data: the trace's timestamp picks the price in force,
// and the version names it.
func TestCostAtUsesThePriceInForce(t *testing.T) {
	c := Default()
	usage := Tokens{Input: 1000, CachedInput: 1000}
	before := c.CostAt("claude-sonnet-5-5", time.Date(2026, 10, 6, 23, 59, 0, 0, time.UTC), usage, Conditions{})
	after := c.CostAt("claude-sonnet-5-5", time.Date(2026, 10, 7, 0, 0, 0, 0, time.UTC), usage, Conditions{})
	// 1000 cache reads at 0.20 before the cut, 0.10 after.
	if before.NanoUSD != 200_000 || after.NanoUSD != 100_000 {
		t.Errorf("before = %d, after = %d nano; want 200000 and 100000", before.NanoUSD, after.NanoUSD)
	}
	if before.Version != c.Version() {
		t.Errorf("before.Version = %q, want the catalog's %q", before.Version, c.Version())
	}
	if want := c.Version() + "/claude-sonnet-5-5@2026-10-07"; after.Version != want {
		t.Errorf("after.Version = %q, want %q", after.Version, want)
	}
}

func TestParseCatalogRejectsBadTiersAndDates(t *testing.T) {
	rule := func(mutate func(*catalogRule)) func(*catalogFile) {
		return func(f *catalogFile) {
			r := catalogRule{Name: "long", InputTokensOver: 1000, InputMultiplier: "2"}
			mutate(&r)
			f.Models[0].Rules = []catalogRule{r}
		}
	}
	cases := []struct {
		name    string
		mutate  func(*catalogFile)
		wantErr string
	}{
		{"no checked date", func(f *catalogFile) { f.Models[0].Checked = "" }, `model "m": checked "" is not the YYYY-MM-DD date`},
		{"bad checked date", func(f *catalogFile) { f.Models[0].Checked = "07/12/2026" }, `model "m": checked "07/12/2026"`},
		{"bad status", func(f *catalogFile) { f.Models[0].Status = "gone" }, `model "m": status "gone"`},
		{"bad effective date", func(f *catalogFile) { f.Models[0].EffectiveFrom = "2026-13-01" }, `model "m": effective_from "2026-13-01"`},
		{"same date twice", func(f *catalogFile) {
			f.Models[0].EffectiveFrom = "2026-10-07"
			f.Models = append(f.Models, f.Models[0])
		}, `model "m": listed twice with effective_from 2026-10-07`},
		{"rule without condition", rule(func(r *catalogRule) { r.InputTokensOver = 0 }), `model "m": rule "long": has no condition`},
		{"rule without multiplier", rule(func(r *catalogRule) { r.InputMultiplier = "" }), `rule "long": has no input_multiplier or output_multiplier`},
		{"rule without name", rule(func(r *catalogRule) { r.Name = "" }), `rule "rules[0]": name is empty`},
		{"multiplier not a decimal", rule(func(r *catalogRule) { r.OutputMultiplier = "1,5" }), `output_multiplier: "1,5" is not a plain decimal`},
		{"multiplier too precise", rule(func(r *catalogRule) { r.InputMultiplier = "1.0001" }), `input_multiplier: "1.0001" has more than 3 decimal places`},
		{"multiplier zero", rule(func(r *catalogRule) { r.InputMultiplier = "0" }), `input_multiplier: "0" is zero`},
		{"multiplier huge", rule(func(r *catalogRule) { r.InputMultiplier = "1000" }), `is larger than 100`},
		{"negative threshold", rule(func(r *catalogRule) { r.InputTokensOver = -1 }), `input_tokens_over -1 is negative`},
		{"provider rules for an unknown provider", func(f *catalogFile) {
			f.ProviderRules = map[string][]catalogRule{"mistral": {{Name: "x", ServiceTier: "flex", InputMultiplier: "0.5"}}}
		}, `provider_rules: provider "mistral"`},
		{"bad provider rule", func(f *catalogFile) {
			f.ProviderRules = map[string][]catalogRule{"openai": {{Name: "flex", InputMultiplier: "0.5"}}}
		}, `provider_rules "openai": rule "flex": has no condition`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := validCatalog()
			tc.mutate(&f)
			data, err := json.Marshal(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseCatalog(data)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseCatalog error = %v; want one containing %q", err, tc.wantErr)
			}
		})
	}
}
