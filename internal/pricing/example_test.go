package pricing_test

import (
	"fmt"

	"github.com/ongoingai/gateway/internal/pricing"
)

// A dated snapshot is priced as its base model, and cached input gets the
// cached price: 800 × $2.50/1M + 200 × $1.25/1M + 500 × $10/1M.
func ExampleCatalog_Cost() {
	c := pricing.Default()
	cost := c.Cost("gpt-4o-2024-08-06", pricing.Tokens{Input: 1000, CachedInput: 200, Output: 500})
	fmt.Println(cost.Model, cost.Priced, cost.NanoUSD)
	fmt.Printf("$%.6f\n", cost.USD())

	unknown := c.Cost("my-fine-tune", pricing.Tokens{Input: 1000})
	fmt.Println(unknown.Priced, unknown.NanoUSD)
	// Output:
	// gpt-4o true 7250000
	// $0.007250
	// false 0
}

// Prices are exact integers of pico-USD per token, which is also USD per
// million tokens times a million.
func ExampleCatalog_Lookup() {
	perMillion := func(pico int64) float64 { return float64(pico) / 1e6 }
	c := pricing.Default()
	for _, name := range []string{"claude-sonnet-4-20250514", "openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini-foo"} {
		p, ok := c.Lookup(name)
		if !ok {
			fmt.Printf("%s: unknown\n", name)
			continue
		}
		fmt.Printf("%s: %s (%s) input $%g, cache read $%g, cache write $%g, output $%g per 1M\n",
			name, p.Model, p.Provider, perMillion(p.Input), perMillion(p.CachedInput), perMillion(p.CacheWrite), perMillion(p.Output))
	}
	// Output:
	// claude-sonnet-4-20250514: claude-sonnet-4 (anthropic) input $3, cache read $0.3, cache write $3.75, output $15 per 1M
	// openai/gpt-4o-mini-2024-07-18: gpt-4o-mini (openai) input $0.15, cache read $0.075, cache write $0.15, output $0.6 per 1M
	// gpt-4o-mini-foo: unknown
}

// Overrides price models the catalog does not know, such as one served by
// an OpenAI-compatible upstream, and replace catalog prices.
func ExampleNew() {
	c, err := pricing.New(map[string]pricing.Override{
		"llama-3.3-70b": {Input: 0.59, Output: 0.79},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// 1000 × $0.59/1M + 1000 × $0.79/1M = $0.00138
	cost := c.Cost("groq/llama-3.3-70b", pricing.Tokens{Input: 1000, Output: 1000})
	fmt.Println(cost.Model, cost.NanoUSD)

	_, err = pricing.New(map[string]pricing.Override{"llama-3.3-70b": {Input: -1}})
	fmt.Println(err)
	// Output:
	// llama-3.3-70b 1380000
	// pricing: override "llama-3.3-70b": input: price -1 is negative
}
