package pricing

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestLookupResolution(t *testing.T) {
	cases := []struct{ name, want string }{
		{"gpt-4o", "gpt-4o"},
		{"GPT-4o", "gpt-4o"},
		{" gpt-4o ", "gpt-4o"},
		{"gpt-4o-2024-08-06", "gpt-4o"},
		{"gpt-4o-2024-11-20", "gpt-4o"},
		{"gpt-4o-2024-05-13", "gpt-4o-2024-05-13"}, // exact beats snapshot stripping
		{"gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"gpt-4.1-2025-04-14", "gpt-4.1"},
		{"gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"},
		{"gpt-4.1-nano-2025-04-14", "gpt-4.1-nano"},
		{"o1-2024-12-17", "o1"},
		{"o1-mini-2024-09-12", "o1-mini"},
		{"o3-2025-04-16", "o3"},
		{"o3-mini-2025-01-31", "o3-mini"},
		{"o4-mini-2025-04-16", "o4-mini"},
		{"gpt-4-turbo-2024-04-09", "gpt-4-turbo"},
		{"gpt-4-turbo-preview", "gpt-4-turbo"},
		{"openai/gpt-4o", "gpt-4o"},
		{"openai/gpt-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"openrouter/openai/gpt-4o", "gpt-4o"},
		{"anthropic/claude-sonnet-4", "claude-sonnet-4"},
		{"claude-sonnet-4-20250514", "claude-sonnet-4"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"claude-opus-4-20250514", "claude-opus-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"claude-opus-4-5-20251101", "claude-opus-4-5"},
		{"claude-haiku-4-5-20251001", "claude-haiku-4-5"},
		{"claude-3-7-sonnet-20250219", "claude-3-7-sonnet"},
		{"claude-3-5-sonnet-20241022", "claude-3-5-sonnet"},
		{"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"claude-3-5-sonnet-latest", "claude-3-5-sonnet"},
		{"claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"claude-sonnet-4-latest", "claude-sonnet-4"},
		{"claude-sonnet-4-0", "claude-sonnet-4"},
		{"claude-opus-4-0", "claude-opus-4"},
		{"anthropic/claude-opus-4-1-20250805", "claude-opus-4-1"},
		// Current models as today's clients send them: Claude Code's
		// default, its 1M-context variant, dated snapshots, -latest.
		{"claude-opus-5-5", "claude-opus-5-5"},
		{"claude-opus-5-5[1m]", "claude-opus-5-5"},
		{"CLAUDE-OPUS-5-5[1M]", "claude-opus-5-5"},
		{"claude-sonnet-5-5[1m]", "claude-sonnet-5-5"},
		{"claude-opus-4-6[1m]", "claude-opus-4-6"},
		{"claude-haiku-5-5-20261007", "claude-haiku-5-5"},
		{"claude-sonnet-4-5-20250929[1m]", "claude-sonnet-4-5"},
		{"claude-opus-5-latest", "claude-opus-5"},
		{"anthropic/claude-sonnet-4-6[1m]", "claude-sonnet-4-6"},
		{"gpt-5.1-2025-11-13", "gpt-5.1"},
		{"gpt-5.1-chat-latest", "gpt-5.1"},
		{"gpt-5.4-mini-2026-03-17", "gpt-5.4-mini"},
		{"gpt-5.3-codex", "gpt-5.3-codex"},
		{"openai/gpt-6.2-sol", "gpt-6.2-sol"},
	}
	c := Default()
	for _, tc := range cases {
		// Twice: the first call resolves, the second is served by the cache,
		// and both must agree.
		for _, pass := range []string{"first", "cached"} {
			p, ok := c.Lookup(tc.name)
			if !ok || p.Model != tc.want {
				t.Errorf("%s Lookup(%q) = %q, %v; want %q", pass, tc.name, p.Model, ok, tc.want)
			}
		}
	}
}

func TestLookupUnknown(t *testing.T) {
	unknown := []string{
		"",
		"gpt-4o-mini-foo", // must not become gpt-4o-mini or gpt-4o
		"gpt-4o-foo",
		"gpt-4o-mini-tts",
		"gpt-4o-realtime-preview-2024-12-17",
		"gpt",
		"claude-sonnet",
		"claude-sonnet-4-9",
		"claude-opus-5-5[1m",       // an unclosed bracket is not a variant
		"[1m]",                     // nothing before the bracket
		"claude-opus-5-5-[1m]x",    // the bracket must end the name
		"gpt-4-0613",               // four-digit snapshots are not dates
		"gpt-4o-2024-13-01",        // no month 13
		"gpt-4o-2024-08-00",        // no day 0
		"gpt-4o-1999-08-06",        // not a 20xx date
		"claude-sonnet-4-12345678", // digits, but not a date
		"claude-sonnet-4-2025051",  // too short
		"claude-sonnet-4_20250514", // a date must follow a hyphen
		"gpt-4o_2024-08-06",
		"gpt-4o-2024-08-06-2024-08-06", // one suffix only
		"gpt-4o-latest-latest",
		"-latest",
		"-20250514",
		"openai/",
		"/",
		"gpt-4o/",
		"gpt-4o/extra",
		"mistral-large-latest",
	}
	c := Default()
	for _, name := range unknown {
		for range 2 {
			if p, ok := c.Lookup(name); ok {
				t.Errorf("Lookup(%q) = %q; want unknown", name, p.Model)
			}
		}
	}
}

// TestLongestMatchIsExact checks the property over the whole catalog rather
// than a few hand-picked names: whenever one model's name extends another's
// (gpt-4o-mini / gpt-4o, o1-mini / o1, claude-opus-4-1 / claude-opus-4),
// snapshots of the longer one resolve to the longer one, and an unknown
// variant of it resolves to nothing rather than to the shorter one.
func TestLongestMatchIsExact(t *testing.T) {
	c := Default()
	models := c.Models()
	pairs := 0
	for _, long := range models {
		for _, short := range models {
			if !strings.HasPrefix(long.Model, short.Model+"-") {
				continue
			}
			pairs++
			for _, name := range []string{long.Model + "-2030-01-02", long.Model + "-20300102", long.Model + "-latest"} {
				if p, ok := c.Lookup(name); !ok || p.Model != long.Model {
					t.Errorf("Lookup(%q) = %q, %v; want %q", name, p.Model, ok, long.Model)
				}
			}
			if p, ok := c.Lookup(long.Model + "-unknownvariant"); ok {
				t.Errorf("Lookup(%q) = %q; want unknown, never the shorter %q", long.Model+"-unknownvariant", p.Model, short.Model)
			}
		}
	}
	if pairs < 3 {
		t.Errorf("only %d prefix pairs in the catalog; the property is barely exercised", pairs)
	}
}

// Every catalog model is reachable by its own name and by the spellings
// clients really send: dated snapshots and router prefixes.
func TestEveryModelResolves(t *testing.T) {
	c := Default()
	for _, m := range c.Models() {
		names := []string{m.Model, strings.ToUpper(m.Model), m.Provider + "/" + m.Model}
		if _, dated := stripSnapshot(m.Model); !dated {
			names = append(names, m.Model+"-2030-01-02", m.Model+"-20300102")
		}
		for _, name := range names {
			if p, ok := c.Lookup(name); !ok || p.Model != m.Model {
				t.Errorf("Lookup(%q) = %q, %v; want %q", name, p.Model, ok, m.Model)
			}
		}
	}
}

func TestStripSnapshot(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"gpt-4o-2024-08-06", "gpt-4o", true},
		{"claude-sonnet-4-20250514", "claude-sonnet-4", true},
		{"claude-3-5-sonnet-latest", "claude-3-5-sonnet", true},
		{"gpt-4o", "", false},
		{"-2024-08-06", "", false},
		{"2024-08-06", "", false},
		{"-latest", "", false},
		{"x-2024-08-6", "", false},
		{"x-2024_08_06", "", false},
		{"x-20241306", "", false},
		{"x-20241232", "", false},
		{"x_20241201", "", false},
		{"x_2024-12-01", "", false},
		{"x-2024-12-01", "x", true},
		{"x-20241201", "x", true},
	}
	for _, tc := range cases {
		got, ok := stripSnapshot(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("stripSnapshot(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Model names come from clients. A client inventing names must not grow
// the cache without bound, and names past the bound still resolve.
func TestCacheIsBounded(t *testing.T) {
	c, err := New(nil) // a private catalog, so other tests' lookups do not count
	if err != nil {
		t.Fatal(err)
	}
	known := len(*c.cache.Load())
	for i := range maxCachedNames + 100 {
		c.Lookup(fmt.Sprintf("invented-model-%d", i))
	}
	if n := len(*c.cache.Load()); n != known+maxCachedNames {
		t.Errorf("cache holds %d names, want %d known + %d resolved", n, known, maxCachedNames)
	}
	if p, ok := c.Lookup("gpt-4o-2030-01-02"); !ok || p.Model != "gpt-4o" {
		t.Errorf("past the cache bound, Lookup(gpt-4o-2030-01-02) = %q, %v", p.Model, ok)
	}
	if _, ok := c.Lookup("invented-model-5"); ok {
		t.Error("a cached unknown name came back known")
	}
}

func TestLookupConcurrent(t *testing.T) {
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"gpt-4o", "gpt-4o-2024-08-06", "openai/gpt-4o-mini", "claude-sonnet-4-20250514", "nope"}
	want := []string{"gpt-4o", "gpt-4o", "gpt-4o-mini", "claude-sonnet-4", ""}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(names)
				name := names[k]
				if i%3 == 0 {
					name = fmt.Sprintf("%s-unique-%d-%d", name, g, i) // forces cache writes
					if p, ok := c.Lookup(name); ok {
						t.Errorf("Lookup(%q) = %q; want unknown", name, p.Model)
					}
					continue
				}
				if p, _ := c.Lookup(name); p.Model != want[k] {
					t.Errorf("Lookup(%q) = %q; want %q", name, p.Model, want[k])
				}
			}
		})
	}
	wg.Wait()
}

// The hot path must not allocate: this is the deterministic half of the
// performance promise (the benchmarks measure the time).
func TestLookupDoesNotAllocate(t *testing.T) {
	c := Default()
	usage := Tokens{Input: 1000, CachedInput: 200, Output: 500, Reasoning: 100}
	for _, name := range []string{"gpt-4o", "gpt-4o-2024-08-06", "anthropic/claude-sonnet-4-20250514", "unknown-model"} {
		c.Lookup(name) // warm the cache
		if n := testing.AllocsPerRun(100, func() { c.Lookup(name) }); n != 0 {
			t.Errorf("Lookup(%q) allocates %v times per call", name, n)
		}
		if n := testing.AllocsPerRun(100, func() { c.Cost(name, usage) }); n != 0 {
			t.Errorf("Cost(%q) allocates %v times per call", name, n)
		}
	}
}
