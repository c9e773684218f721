package pricing

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// The embedded file must load: Default panics otherwise, so this test is
// what keeps a broken catalog.json from ever shipping.
func TestEmbeddedCatalogLoads(t *testing.T) {
	b, err := parseCatalog(catalogJSON)
	if err != nil {
		t.Fatalf("catalog.json does not load:\n%v", err)
	}
	if strings.TrimSpace(b.version) == "" {
		t.Error("catalog version is empty")
	}
	if v := Default().Version(); v != b.version {
		t.Errorf("Default().Version() = %q, want the file's %q", v, b.version)
	}
}

// sourceHosts are the public pricing pages each provider's prices may cite.
var sourceHosts = map[string][]string{
	"openai":    {"developers.openai.com"},
	"anthropic": {"platform.claude.com"},
}

func TestEveryEntryHasProviderAndSource(t *testing.T) {
	models := Default().Models()
	if len(models) == 0 {
		t.Fatal("catalog has no models")
	}
	for _, p := range models {
		hosts, ok := sourceHosts[p.Provider]
		if !ok {
			t.Errorf("%s: provider %q is not openai or anthropic", p.Model, p.Provider)
			continue
		}
		u, err := url.Parse(p.Source)
		if err != nil || u.Scheme != "https" {
			t.Errorf("%s: source %q is not an https URL", p.Model, p.Source)
			continue
		}
		found := false
		for _, h := range hosts {
			found = found || u.Host == h
		}
		if !found {
			t.Errorf("%s: source %q is not on %s's own site %v", p.Model, p.Source, p.Provider, hosts)
		}
	}
}

// Plausibility checks that catch a swapped column or a slipped decimal
// point without restating every price.
func TestCatalogPricesArePlausible(t *testing.T) {
	for _, p := range Default().Models() {
		if p.Input <= 0 {
			t.Errorf("%s: input price %d is not positive", p.Model, p.Input)
		}
		if p.CachedInput > p.Input {
			t.Errorf("%s: cached input %d costs more than input %d (pico-USD per token)", p.Model, p.CachedInput, p.Input)
		}
		if p.CacheWrite < p.Input {
			t.Errorf("%s: cache write %d costs less than input %d (pico-USD per token)", p.Model, p.CacheWrite, p.Input)
		}
		if p.Output != 0 && p.Output < p.Input {
			t.Errorf("%s: output %d costs less than input %d (pico-USD per token)", p.Model, p.Output, p.Input)
		}
	}
}

func TestEmbeddedAliasesResolveToTheirTargets(t *testing.T) {
	b, err := parseCatalog(catalogJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.aliases) == 0 {
		t.Fatal("catalog has no aliases")
	}
	for alias, target := range b.aliases {
		p, ok := Default().Lookup(alias)
		if !ok || p.Model != target {
			t.Errorf("Lookup(%q) = %q, %v; want %q", alias, p.Model, ok, target)
		}
	}
}

// validCatalog is a minimal catalog the error cases below each break in
// one way.
func validCatalog() catalogFile {
	return catalogFile{
		Version: "test-1",
		Unit:    catalogUnit,
		Models: []catalogModel{{
			Provider: "openai", Model: "m", Input: "1.00", Output: "2.00",
			Source: "https://openai.com/api/pricing/", Checked: "2026-12-07",
		}},
		Aliases: map[string]string{"m-alias": "m"},
	}
}

func TestParseCatalogAppliesFallbacks(t *testing.T) {
	f := validCatalog()
	f.Models = append(f.Models, catalogModel{
		Provider: "anthropic", Model: "all", Input: "3", Output: "15",
		CachedInput: "0.30", CacheWrite: "3.75", CacheWrite1h: "6", Reasoning: "20",
		Source: "https://docs.anthropic.com/en/docs/about-claude/pricing", Checked: "2026-12-07",
	})
	data, _ := json.Marshal(f)
	b, err := parseCatalog(data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]rates{
		// Not priced apart: cache traffic at the input price, reasoning at output.
		"m": {Model: "m", Provider: "openai", Input: 1_000_000, Output: 2_000_000,
			CachedInput: 1_000_000, CacheWrite: 1_000_000, CacheWrite1h: 1_000_000, Reasoning: 2_000_000},
		"all": {Model: "all", Provider: "anthropic", Input: 3_000_000, Output: 15_000_000,
			CachedInput: 300_000, CacheWrite: 3_750_000, CacheWrite1h: 6_000_000, Reasoning: 20_000_000},
	}
	for _, got := range b.models {
		if ratesOf(got) != want[got.Model] {
			t.Errorf("parsed %+v\nwant       %+v", got, want[got.Model])
		}
	}
}

func TestParseCatalogRejects(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(*catalogFile)
		wantErr string
	}{
		{"too precise", func(f *catalogFile) { f.Models[0].Input = "0.0000001" }, `model "m": input: "0.0000001" has more than 6 decimal places`},
		{"too precise optional", func(f *catalogFile) { f.Models[0].CachedInput = "0.1234567" }, `model "m": cached_input:`},
		{"not a decimal", func(f *catalogFile) { f.Models[0].Output = "1e3" }, `model "m": output:`},
		{"negative", func(f *catalogFile) { f.Models[0].CacheWrite = "-1" }, `model "m": cache_write:`},
		{"missing input", func(f *catalogFile) { f.Models[0].Input = "" }, `model "m": input price is missing`},
		{"missing output", func(f *catalogFile) { f.Models[0].Output = "" }, `model "m": output price is missing`},
		{"missing source", func(f *catalogFile) { f.Models[0].Source = "" }, `model "m": source: missing`},
		{"http source", func(f *catalogFile) { f.Models[0].Source = "http://openai.com/api/pricing/" }, "not an absolute https URL"},
		{"relative source", func(f *catalogFile) { f.Models[0].Source = "pricing" }, "not an absolute https URL"},
		{"unknown provider", func(f *catalogFile) { f.Models[0].Provider = "mistral" }, `provider "mistral"`},
		{"missing provider", func(f *catalogFile) { f.Models[0].Provider = "" }, `provider ""`},
		{"empty model", func(f *catalogFile) { f.Models[0].Model = "" }, "model name is empty"},
		{"uppercase model", func(f *catalogFile) { f.Models[0].Model = "GPT-4o" }, "must be lowercase"},
		{"duplicate model", func(f *catalogFile) { f.Models = append(f.Models, f.Models[0]) }, `model "m": listed twice`},
		{"alias to nothing", func(f *catalogFile) { f.Aliases["x"] = "nope" }, `alias "x": target "nope"`},
		{"alias shadows model", func(f *catalogFile) { f.Aliases["m"] = "m" }, `alias "m": is also a model name`},
		{"uppercase alias", func(f *catalogFile) { f.Aliases["M-Latest"] = "m" }, `alias "M-Latest"`},
		{"empty version", func(f *catalogFile) { f.Version = " " }, "version is empty"},
		{"wrong unit", func(f *catalogFile) { f.Unit = "USD per 1K tokens" }, "unit is"},
		{"no models", func(f *catalogFile) { f.Models = nil; f.Aliases = nil }, "no models"},
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

func TestParseCatalogReportsEveryProblem(t *testing.T) {
	f := validCatalog()
	f.Models[0].Input = "x"
	f.Models[0].Source = ""
	data, _ := json.Marshal(f)
	_, err := parseCatalog(data)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"input:", "source:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestParseCatalogRejectsMalformedJSON(t *testing.T) {
	valid, _ := json.Marshal(validCatalog())
	cases := map[string]string{
		// A misspelt optional field would otherwise silently bill cache
		// reads at the full input price.
		"unknown field": strings.Replace(string(valid), `"source"`, `"cached_imput":"0.5","source"`, 1),
		"trailing data": string(valid) + `{}`,
		"not JSON":      `version: 1`,
	}
	for name, data := range cases {
		if _, err := parseCatalog([]byte(data)); err == nil {
			t.Errorf("%s: parseCatalog accepted %s", name, data)
		}
	}
	if _, err := parseCatalog(valid); err != nil {
		t.Fatalf("the unbroken base case must load: %v", err)
	}
}
