package pricing

import (
	"strings"
	"testing"
	"time"
)

const testFile = `{
  "version": "acme-2026-12",
  "unit": "USD per 1M tokens",
  "models": [
    {"provider": "openai", "model": "acme-coder", "input": "1.00", "output": "4.00", "source": "https://example.com/acme-prices", "checked": "2026-12-01"},
    {"provider": "openai", "model": "gpt-4o", "input": "2.00", "output": "8.00", "source": "https://example.com/negotiated", "checked": "2026-12-01"},
    {"provider": "openai", "model": "gpt-4o", "input": "1.00", "output": "4.00", "effective_from": "2027-01-01", "source": "https://example.com/negotiated", "checked": "2026-12-01"}
  ],
  "aliases": {"acme": "acme-coder", "my-sonnet": "claude-sonnet-4"}
}`

func TestNewWithFileMergesOverTheEmbeddedCatalog(t *testing.T) {
	c, err := NewWithFile([]byte(testFile), map[string]Override{"acme-coder": {Input: 9, Output: 9}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(c.Version(), Default().Version()+"+file.acme-2026-12+overrides.") {
		t.Errorf("version %q names neither the file nor the overrides", c.Version())
	}
	// Overrides still win over the file.
	if p, _ := c.Lookup("acme"); p.Input != 9_000_000 {
		t.Errorf("acme (alias of an overridden file model) input = %d", p.Input)
	}

	c, err = NewWithFile([]byte(testFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A new model, reachable through the file's alias.
	if got := c.Cost("acme", Tokens{Input: 1000, Output: 1000}); !got.Priced || got.Model != "acme-coder" || got.NanoUSD != 5_000_000 {
		t.Errorf("acme cost = %+v", got)
	}
	// The file's history of gpt-4o replaces the embedded one.
	dec := time.Date(2026, 12, 15, 0, 0, 0, 0, time.UTC)
	jan := time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC)
	if got := c.CostAt("gpt-4o", dec, Tokens{Input: 1000}, Conditions{}); got.NanoUSD != 2_000_000 {
		t.Errorf("gpt-4o in December = %d nano, want the file's 2.00", got.NanoUSD)
	}
	if got := c.CostAt("gpt-4o", jan, Tokens{Input: 1000}, Conditions{}); got.NanoUSD != 1_000_000 || !strings.HasSuffix(got.Version, "/gpt-4o@2027-01-01") {
		t.Errorf("gpt-4o in January = %+v, want the file's dated 1.00", got)
	}
	// The file's alias may name an embedded model, and the rest of the
	// embedded catalog is untouched.
	if p, ok := c.Lookup("my-sonnet"); !ok || p.Model != "claude-sonnet-4" {
		t.Errorf("my-sonnet = %q, %v", p.Model, ok)
	}
	if p, ok := c.Lookup("claude-opus-5-5[1m]"); !ok || p.Input != 4_000_000 {
		t.Errorf("embedded claude-opus-5-5 = %+v, %v", p, ok)
	}
}

func TestNewWithFileNamesEveryInvalidEntry(t *testing.T) {
	bad := strings.NewReplacer(`"input": "1.00", "output": "4.00", "source": "https://example.com/acme-prices"`,
		`"input": "one", "output": "4.00", "source": "http://example.com"`,
		`"my-sonnet": "claude-sonnet-4"`, `"my-sonnet": "claude-sonnet-9"`).Replace(testFile)
	_, err := NewWithFile([]byte(bad), nil)
	if err == nil {
		t.Fatal("invalid file accepted")
	}
	for _, want := range []string{`model "acme-coder": input: "one"`, `model "acme-coder": source:`, `alias "my-sonnet": target "claude-sonnet-9"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := NewWithFile([]byte(`{"version": "x"`), nil); err == nil {
		t.Error("truncated JSON accepted")
	}
}

func TestLiveSwapsCatalogs(t *testing.T) {
	l := NewLive(Default())
	c, err := NewWithFile([]byte(testFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l.Load().Lookup("acme-coder"); ok {
		t.Fatal("acme-coder priced before the swap")
	}
	l.Store(c)
	if _, ok := l.Load().Lookup("acme-coder"); !ok {
		t.Fatal("acme-coder not priced after the swap")
	}
}
