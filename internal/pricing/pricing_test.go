package pricing

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const (
	openaiSource    = "https://developers.openai.com/api/docs/pricing"
	anthropicSource = "https://platform.claude.com/docs/en/about-claude/pricing"
)

// Sample usage for the required-price table, chosen so every price column
// contributes: OpenAI reports no cache writes, Anthropic does.
var (
	openaiUsage    = Tokens{Input: 10_000, CachedInput: 2_000, Output: 1_000, Reasoning: 400}
	anthropicUsage = Tokens{Input: 10_000, CachedInput: 2_000, CacheWrite: 1_000, Output: 1_000}
	embeddingUsage = Tokens{Input: 10_000}
)

// TestRequiredPrices pins every price the gateway promises to know, in
// pico-USD per token (USD per 1M × 1e6), and its cost on sample usage.
// Expected costs are worked by hand in micro-USD (tokens × USD per 1M) and
// written out, so a wrong formula cannot agree with itself:
//
//	OpenAI:    8000 uncached × in + 2000 × cached + 1000 × out (reasoning billed as output)
//	Anthropic: 7000 uncached × in + 2000 × read + 1000 × write + 1000 × out
//	embedding: 10000 × in
//
// and 1 micro-USD = 1000 nano-USD.
func TestRequiredPrices(t *testing.T) {
	cases := []struct {
		model, provider             string
		in, out, cached, cacheWrite int64 // pico-USD per token
		usage                       Tokens
		wantNano                    int64
	}{
		// 8000×2.5 + 2000×1.25 + 1000×10 = 32500 µ$
		{"gpt-4o", "openai", 2_500_000, 10_000_000, 1_250_000, 2_500_000, openaiUsage, 32_500_000},
		// 8000×0.15 + 2000×0.075 + 1000×0.6 = 1200 + 150 + 600 = 1950 µ$
		{"gpt-4o-mini", "openai", 150_000, 600_000, 75_000, 150_000, openaiUsage, 1_950_000},
		// 16000 + 1000 + 8000 = 25000 µ$
		{"gpt-4.1", "openai", 2_000_000, 8_000_000, 500_000, 2_000_000, openaiUsage, 25_000_000},
		// 3200 + 200 + 1600 = 5000 µ$
		{"gpt-4.1-mini", "openai", 400_000, 1_600_000, 100_000, 400_000, openaiUsage, 5_000_000},
		// 800 + 50 + 400 = 1250 µ$
		{"gpt-4.1-nano", "openai", 100_000, 400_000, 25_000, 100_000, openaiUsage, 1_250_000},
		// 120000 + 15000 + 60000 = 195000 µ$
		{"o1", "openai", 15_000_000, 60_000_000, 7_500_000, 15_000_000, openaiUsage, 195_000_000},
		// 8800 + 1100 + 4400 = 14300 µ$
		{"o1-mini", "openai", 1_100_000, 4_400_000, 550_000, 1_100_000, openaiUsage, 14_300_000},
		{"o3", "openai", 2_000_000, 8_000_000, 500_000, 2_000_000, openaiUsage, 25_000_000},
		{"o3-mini", "openai", 1_100_000, 4_400_000, 550_000, 1_100_000, openaiUsage, 14_300_000},
		// 8800 + 550 + 4400 = 13750 µ$
		{"o4-mini", "openai", 1_100_000, 4_400_000, 275_000, 1_100_000, openaiUsage, 13_750_000},
		// 10000 × 0.02 = 200 µ$
		{"text-embedding-3-small", "openai", 20_000, 0, 20_000, 20_000, embeddingUsage, 200_000},
		// 10000 × 0.13 = 1300 µ$
		{"text-embedding-3-large", "openai", 130_000, 0, 130_000, 130_000, embeddingUsage, 1_300_000},
		// 10000 × 0.10 = 1000 µ$
		{"text-embedding-ada-002", "openai", 100_000, 0, 100_000, 100_000, embeddingUsage, 1_000_000},

		// 7000×3 + 2000×0.3 + 1000×3.75 + 1000×15 = 21000 + 600 + 3750 + 15000 = 40350 µ$
		{"claude-sonnet-4", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000, anthropicUsage, 40_350_000},
		{"claude-sonnet-4-5", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000, anthropicUsage, 40_350_000},
		{"claude-3-7-sonnet", "anthropic", 3_000_000, 15_000_000, 300_000, 3_750_000, anthropicUsage, 40_350_000},
		// 105000 + 3000 + 18750 + 75000 = 201750 µ$
		{"claude-opus-4", "anthropic", 15_000_000, 75_000_000, 1_500_000, 18_750_000, anthropicUsage, 201_750_000},
		{"claude-opus-4-1", "anthropic", 15_000_000, 75_000_000, 1_500_000, 18_750_000, anthropicUsage, 201_750_000},
		// 35000 + 1000 + 6250 + 25000 = 67250 µ$
		{"claude-opus-4-5", "anthropic", 5_000_000, 25_000_000, 500_000, 6_250_000, anthropicUsage, 67_250_000},
		// 5600 + 160 + 1000 + 4000 = 10760 µ$
		{"claude-3-5-haiku", "anthropic", 800_000, 4_000_000, 80_000, 1_000_000, anthropicUsage, 10_760_000},
		// 7000 + 200 + 1250 + 5000 = 13450 µ$
		{"claude-haiku-4-5", "anthropic", 1_000_000, 5_000_000, 100_000, 1_250_000, anthropicUsage, 13_450_000},
	}
	c := Default()
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			p, ok := c.Lookup(tc.model)
			if !ok {
				t.Fatalf("%s is not in the catalog", tc.model)
			}
			want := rates{
				Model: tc.model, Provider: tc.provider,
				Input: tc.in, Output: tc.out, CachedInput: tc.cached, CacheWrite: tc.cacheWrite,
				CacheWrite1h: tc.cacheWrite, // OpenAI: not priced apart
				Reasoning:    tc.out,        // no required model prices reasoning apart
			}
			if tc.provider == "anthropic" {
				want.CacheWrite1h = 2 * tc.in // 1-hour writes cost twice the base input
			}
			if got := ratesOf(p); got != want {
				t.Errorf("price\n got %+v\nwant %+v", got, want)
			}
			if p.Source == "" {
				t.Error("no source")
			}
			cost := c.Cost(tc.model, tc.usage)
			if cost.NanoUSD != tc.wantNano || !cost.Priced || cost.Model != tc.model || cost.Version != c.Version() {
				t.Errorf("Cost(%+v) = %+v, want %d nano-USD", tc.usage, cost, tc.wantNano)
			}
		})
	}
}

func TestCost(t *testing.T) {
	c := Default()
	cases := []struct {
		name  string
		model string
		t     Tokens
		want  int64
	}{
		// The lead's worked example: 800×2.5e-6 + 200×1.25e-6 = $0.00225.
		{"cached input discounted", "gpt-4o", Tokens{Input: 1000, CachedInput: 200}, 2_250_000},
		{"snapshot priced as its base", "gpt-4o-2024-08-06", Tokens{Input: 1000, CachedInput: 200}, 2_250_000},
		// The first gpt-4o snapshot kept its own price: 1000×5 + 100×15 = 6500 µ$.
		{"snapshot with its own price", "gpt-4o-2024-05-13", Tokens{Input: 1000, Output: 100}, 6_500_000},
		// OpenAI does not price cache writes apart: billed as input, 1000×2.5.
		{"cache write falls back to input", "gpt-4o", Tokens{Input: 1000, CacheWrite: 1000}, 2_500_000},
		// Reasoning not priced apart costs output: 500×10 + 500×10.
		{"reasoning falls back to output", "gpt-4o", Tokens{Output: 1000, Reasoning: 500}, 10_000_000},
		// 1 output token of gpt-4.1-nano is 0.4 µ$ = 400 nano: exact, no float.
		{"single token", "gpt-4.1-nano", Tokens{Output: 1}, 400},
		// 1 cached token of gpt-5-nano is 0.005 µ$ = 5 nano.
		{"sub-micro price", "gpt-5-nano", Tokens{Input: 1, CachedInput: 1}, 5},
		{"no usage", "gpt-4o", Tokens{}, 0},
		// Subsets larger than their totals: the uncached and plain-output
		// remainders clamp to zero; 500 cached × 1.25 = 625 µ$.
		{"cached exceeds input", "gpt-4o", Tokens{Input: 100, CachedInput: 500}, 625_000},
		{"reasoning exceeds output", "gpt-4o", Tokens{Output: 100, Reasoning: 300}, 3_000_000},
		{"cached plus write exceed input", "claude-sonnet-4", Tokens{Input: 100, CachedInput: 80, CacheWrite: 80}, 80*300 + 80*3750},
		{"negative counts", "gpt-4o", Tokens{Input: -1000, Output: -5, CachedInput: -3, CacheWrite: -7, Reasoning: -9}, 0},
		{"negative subset ignored", "gpt-4o", Tokens{Input: 1000, CachedInput: -500}, 2_500_000},
		{"absurd usage saturates", "o1", Tokens{Input: math.MaxInt64, Output: math.MaxInt64}, math.MaxInt64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.Cost(tc.model, tc.t)
			if !got.Priced || got.NanoUSD != tc.want {
				t.Errorf("Cost(%q, %+v) = %+v; want %d nano-USD, priced", tc.model, tc.t, got, tc.want)
			}
			if got.NanoUSD < 0 {
				t.Errorf("negative cost %d", got.NanoUSD)
			}
		})
	}
}

func TestCostUnknownModel(t *testing.T) {
	got := Default().Cost("gpt-4o-mini-foo", Tokens{Input: 1000, Output: 1000})
	if got != (Cost{}) {
		t.Errorf("unknown model cost = %+v; want zero, unpriced, no model", got)
	}
}

func TestCostUSD(t *testing.T) {
	if got := (Cost{NanoUSD: 2_250_000}).USD(); got != 0.00225 {
		t.Errorf("USD() = %v, want 0.00225", got)
	}
	if got := (Cost{NanoUSD: 1}).USD(); got != 1e-9 {
		t.Errorf("USD() = %v, want 1e-9", got)
	}
}

// Rounding happens once, on the exact pico total, and half-up. A price of
// 0.000001 USD per 1M tokens is one pico-USD per token, which makes the
// boundaries easy to hit.
func TestCostRoundsHalfUpToNano(t *testing.T) {
	c, err := New(map[string]Override{"pico": {Input: 0.000001, Output: 0.000001}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		t    Tokens
		want int64
	}{
		{Tokens{Input: 499}, 0},
		{Tokens{Input: 500}, 1},
		{Tokens{Input: 1499}, 1},
		{Tokens{Input: 1500}, 2},
		// Sub-nano parts of different token kinds add up before rounding:
		// 250 + 250 pico is half a nano, not two zeros.
		{Tokens{Input: 250, Output: 250}, 1},
	}
	for _, tc := range cases {
		if got := c.Cost("pico", tc.t).NanoUSD; got != tc.want {
			t.Errorf("Cost(%+v) = %d nano, want %d", tc.t, got, tc.want)
		}
	}
}

func TestNewAddsModels(t *testing.T) {
	c, err := New(map[string]Override{
		"my-llama":               {Input: 0.2, Output: 0.6},
		"meta-llama/Llama-3-70B": {Input: 0.88, Output: 0.88, CachedInput: 0.44},
		"thinker":                {Input: 1, Output: 2, Reasoning: 3},
	})
	if err != nil {
		t.Fatal(err)
	}

	p, ok := c.Lookup("my-llama")
	want := Price{Model: "my-llama", Input: 200_000, Output: 600_000,
		CachedInput: 200_000, CacheWrite: 200_000, CacheWrite1h: 200_000, Reasoning: 600_000, // zero means "not priced apart"
		Source: OverrideSource, Status: "active"}
	if !ok || !reflect.DeepEqual(p, want) {
		t.Errorf("Lookup(my-llama) = %+v, %v\nwant %+v", p, ok, want)
	}

	// Names with a slash and mixed case are reachable as written, in
	// another case, and behind a router prefix.
	for _, name := range []string{"meta-llama/Llama-3-70B", "meta-llama/llama-3-70b", "together/meta-llama/Llama-3-70B"} {
		p, ok := c.Lookup(name)
		if !ok || p.Model != "meta-llama/Llama-3-70B" || p.CachedInput != 440_000 {
			t.Errorf("Lookup(%q) = %+v, %v", name, p, ok)
		}
	}

	// Reasoning priced apart: 600 plain output × 2 + 400 reasoning × 3 = 2400 µ$.
	if got := c.Cost("thinker", Tokens{Output: 1000, Reasoning: 400}).NanoUSD; got != 2_400_000 {
		t.Errorf("thinker cost = %d nano, want 2_400_000", got)
	}

	// The catalog itself is still there.
	if got := c.Cost("gpt-4o", Tokens{Input: 1000, CachedInput: 200}).NanoUSD; got != 2_250_000 {
		t.Errorf("gpt-4o cost with unrelated overrides = %d, want 2_250_000", got)
	}
}

func TestNewReplacesModels(t *testing.T) {
	c, err := New(map[string]Override{
		"gpt-4o":            {Input: 5, Output: 20},
		"claude-3-5-sonnet": {Input: 6, Output: 30, CachedInput: 0.6, CacheWrite: 7.5},
		"claude-sonnet-4-0": {Input: 1, Output: 1}, // an alias name becomes a model of its own
	})
	if err != nil {
		t.Fatal(err)
	}

	// A replacement is whole: the unset cached price falls back to the new
	// input price, not to the catalog's 1.25.
	p, _ := c.Lookup("gpt-4o")
	want := Price{Model: "gpt-4o", Provider: "openai", Input: 5_000_000, Output: 20_000_000,
		CachedInput: 5_000_000, CacheWrite: 5_000_000, CacheWrite1h: 5_000_000, Reasoning: 20_000_000,
		Source: OverrideSource, Status: "active"}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("replaced gpt-4o = %+v\nwant %+v", p, want)
	}
	// Snapshots and prefixed names follow their base model's new price.
	for _, name := range []string{"gpt-4o-2024-08-06", "openai/gpt-4o"} {
		if got, _ := c.Lookup(name); !reflect.DeepEqual(got, want) {
			t.Errorf("Lookup(%q) = %+v, want the replaced gpt-4o", name, got)
		}
	}
	// ...but a snapshot with its own catalog price keeps it.
	if got, _ := c.Lookup("gpt-4o-2024-05-13"); got.Input != 5_000_000 || got.Output != 15_000_000 {
		t.Errorf("gpt-4o-2024-05-13 = %+v, want its own 5/15 price", got)
	}

	// Aliases follow their target's new price.
	if got, _ := c.Lookup("claude-3-5-sonnet-latest"); got.Model != "claude-3-5-sonnet" || got.Input != 6_000_000 || got.Provider != "anthropic" {
		t.Errorf("alias of replaced model = %+v", got)
	}
	if got, _ := c.Lookup("claude-sonnet-4-0"); got.Model != "claude-sonnet-4-0" || got.Input != 1_000_000 || got.Provider != "anthropic" {
		t.Errorf("overridden alias = %+v, want its own model at 1.00", got)
	}
	if got, _ := c.Lookup("claude-sonnet-4"); got.Input != 3_000_000 {
		t.Errorf("the alias's old target changed: %+v", got)
	}

	// Overrides never leak into the shared default catalog.
	if got, _ := Default().Lookup("gpt-4o"); got.Input != 2_500_000 {
		t.Errorf("Default() gpt-4o input = %d after New with overrides", got.Input)
	}
}

func TestNewRejectsInvalidOverrides(t *testing.T) {
	cases := []struct {
		name      string
		overrides map[string]Override
		wantErrs  []string
	}{
		{"negative", map[string]Override{"bad": {Input: -1}}, []string{`override "bad": input: price -1 is negative`}},
		{"NaN", map[string]Override{"bad": {CachedInput: math.NaN()}}, []string{`override "bad": cached_input: price is NaN`}},
		{"infinite", map[string]Override{"gpt-4o": {Output: math.Inf(1)}}, []string{`override "gpt-4o": output: price is infinite`}},
		{"too precise", map[string]Override{"bad": {Reasoning: 1e-7}}, []string{`override "bad": reasoning:`, "decimal places"}},
		{"negative cache write", map[string]Override{"bad": {CacheWrite: -0.5}}, []string{`override "bad": cache_write:`}},
		{"empty name", map[string]Override{" ": {Input: 1}}, []string{"empty model name"}},
		{"same model twice", map[string]Override{"GPT-4o": {Input: 1}, "gpt-4o": {Input: 2}}, []string{`"GPT-4o" and "gpt-4o" name the same model`}},
		{"every problem reported", map[string]Override{"a": {Input: -1, Output: math.NaN()}, "b": {Input: -2}},
			[]string{`"a": input`, `"a": output`, `"b": input`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.overrides)
			if err == nil {
				t.Fatalf("New accepted %+v (version %s)", tc.overrides, c.Version())
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestVersion(t *testing.T) {
	base := Default().Version()
	if base == "" {
		t.Fatal("empty catalog version")
	}
	for _, o := range []map[string]Override{nil, {}} {
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Version() != base {
			t.Errorf("New(%v).Version() = %q, want %q", o, c.Version(), base)
		}
	}

	version := func(o map[string]Override) string {
		c, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		return c.Version()
	}
	a := version(map[string]Override{"x": {Input: 1, Output: 2}})
	if !strings.HasPrefix(a, base+"+overrides.") {
		t.Errorf("version with overrides = %q, want %q plus an overrides suffix", a, base)
	}
	if again := version(map[string]Override{"x": {Input: 1, Output: 2}}); again != a {
		t.Errorf("same overrides gave versions %q and %q", a, again)
	}
	if other := version(map[string]Override{"x": {Input: 1, Output: 3}}); other == a {
		t.Errorf("different overrides share version %q", a)
	}
}

func TestModels(t *testing.T) {
	c := Default()
	models := c.Models()
	sorted := slices.IsSortedFunc(models, func(a, b Price) int {
		if d := strings.Compare(a.Provider, b.Provider); d != 0 {
			return d
		}
		return strings.Compare(a.Model, b.Model)
	})
	if !sorted {
		t.Error("Models() is not sorted by provider, then model")
	}
	base, err := parseCatalog(catalogJSON)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range base.models {
		names[p.Model] = true // a model whose price changed is listed once per price
	}
	if len(models) != len(names) {
		t.Errorf("Models() has %d entries, the catalog %d models", len(models), len(names))
	}
	for _, p := range models {
		if _, isAlias := base.aliases[p.Model]; isAlias {
			t.Errorf("Models() lists alias %q", p.Model)
		}
	}

	models[0].Input = -1
	if c.Models()[0].Input == -1 {
		t.Error("Models() returned the catalog's own slice")
	}

	withNew, err := New(map[string]Override{"zz-local": {Input: 1, Output: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(withNew.Models()); n != len(models)+1 {
		t.Errorf("with one added model Models() has %d entries, want %d", n, len(models)+1)
	}
}

func TestSources(t *testing.T) {
	// Spot-check that the two providers cite the pages named in the design.
	for model, want := range map[string]string{"gpt-4o": openaiSource, "claude-sonnet-4": anthropicSource} {
		if p, _ := Default().Lookup(model); p.Source != want {
			t.Errorf("%s source = %q, want %q", model, p.Source, want)
		}
	}
}

// rates is the part of a Price the tests pin: names and per-token prices.
type rates struct {
	Model, Provider                                                 string
	Input, Output, CachedInput, CacheWrite, CacheWrite1h, Reasoning int64
}

func ratesOf(p Price) rates {
	return rates{p.Model, p.Provider, p.Input, p.Output, p.CachedInput, p.CacheWrite, p.CacheWrite1h, p.Reasoning}
}
