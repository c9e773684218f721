package pricing

import "testing"

// Every maximum names a catalog model, and every chat model has one: a
// model without one would be reserved at the limits' fallback instead.
func TestMaxOutputCatalog(t *testing.T) {
	m, err := maxOutputs()
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	known := map[string]bool{}
	for _, p := range c.Models() {
		known[p.Model] = true
		if _, ok := m[p.Model]; !ok {
			t.Errorf("model %q has no maximum output in max_output.json", p.Model)
		}
	}
	for name := range m {
		if !known[name] {
			t.Errorf("max_output.json names %q, which the catalog does not price", name)
		}
	}
}

func TestMaxOutputTokensResolvesNames(t *testing.T) {
	c := Default()
	for model, want := range map[string]int64{
		"gpt-4o-mini":             16384,
		"gpt-4o-mini-2024-07-18":  16384, // snapshot suffix
		"claude-3-5-haiku-latest": 8192,  // alias
		"openai/gpt-4.1":          32768, // vendor prefix
		"text-embedding-3-small":  0,
	} {
		if got, ok := c.MaxOutputTokens(model); !ok || got != want {
			t.Errorf("MaxOutputTokens(%q) = %d, %v; want %d", model, got, ok, want)
		}
	}
	if _, ok := c.MaxOutputTokens("no-such-model"); ok {
		t.Error("an unknown model has a maximum")
	}
}
