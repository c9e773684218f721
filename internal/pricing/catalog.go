package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// catalogJSON is the price list itself. Prices live in data rather than in
// code so that a price change is a one-line diff a reviewer can check
// against the cited page, and so the version travels with the numbers.
//
//go:embed catalog.json
var catalogJSON []byte

// catalogUnit is stated in the file so a reader of the JSON alone knows
// what the numbers mean; the loader insists on it so nobody can change the
// unit without changing the code that interprets it.
const catalogUnit = "USD per 1M tokens"

// knownProviders are the dialects the gateway proxies; a catalog entry for
// anything else would be a typo or a model no request can reach.
var knownProviders = map[string]bool{"openai": true, "anthropic": true}

// catalogFile is the JSON shape of catalog.json.
type catalogFile struct {
	Version string            `json:"version"`
	Unit    string            `json:"unit"`
	Models  []catalogModel    `json:"models"`
	Aliases map[string]string `json:"aliases"`
}

// catalogModel is one price entry. Optional prices are empty when the
// provider does not price that kind of token apart: cached_input and
// cache_write then cost the input price, reasoning the output price.
type catalogModel struct {
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	Input       string `json:"input"`
	Output      string `json:"output"`
	CachedInput string `json:"cached_input"`
	CacheWrite  string `json:"cache_write"`
	Reasoning   string `json:"reasoning"`
	Source      string `json:"source"`
	Note        string `json:"note"`
}

// baseCatalog is the validated embedded catalog before overrides.
type baseCatalog struct {
	version string
	models  []Price
	aliases map[string]string // alias → model, both lowercase
}

// parseCatalog decodes and validates a catalog file. Every problem is
// reported, not just the first, so one run of the tests shows a data
// editor everything to fix.
func parseCatalog(data []byte) (*baseCatalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt "cached_imput" must not silently fall back to the input price
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pricing: catalog: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("pricing: catalog: unexpected data after the JSON object")
	}

	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("pricing: catalog: "+format, args...))
	}
	if strings.TrimSpace(f.Version) == "" {
		fail("version is empty")
	}
	if f.Unit != catalogUnit {
		fail("unit is %q, want %q", f.Unit, catalogUnit)
	}
	if len(f.Models) == 0 {
		fail("no models")
	}

	b := &baseCatalog{version: f.Version, aliases: make(map[string]string, len(f.Aliases))}
	seen := make(map[string]bool, len(f.Models))
	for i, m := range f.Models {
		name := m.Model
		if name == "" {
			name = fmt.Sprintf("models[%d]", i)
			fail("%s: model name is empty", name)
		} else if name != canonicalName(name) {
			fail("model %q: name must be lowercase without surrounding spaces", name)
		}
		if seen[name] {
			fail("model %q: listed twice", name)
		}
		seen[name] = true
		if !knownProviders[m.Provider] {
			fail("model %q: provider %q is not openai or anthropic", name, m.Provider)
		}
		if err := checkSource(m.Source); err != nil {
			fail("model %q: source: %v", name, err)
		}

		p := Price{Model: m.Model, Provider: m.Provider, Source: m.Source}
		fields := []struct {
			field    string
			value    string
			required bool
			dst      *int64
		}{
			{"input", m.Input, true, &p.Input},
			{"output", m.Output, true, &p.Output},
			{"cached_input", m.CachedInput, false, &p.CachedInput},
			{"cache_write", m.CacheWrite, false, &p.CacheWrite},
			{"reasoning", m.Reasoning, false, &p.Reasoning},
		}
		for _, fd := range fields {
			if fd.value == "" {
				if fd.required {
					fail("model %q: %s price is missing", name, fd.field)
				}
				*fd.dst = -1 // not priced apart; filled in by applyFallbacks
				continue
			}
			v, err := parsePrice(fd.value)
			if err != nil {
				fail("model %q: %s: %v", name, fd.field, err)
				continue
			}
			*fd.dst = v
		}
		b.models = append(b.models, applyFallbacks(p))
	}

	for alias, target := range f.Aliases {
		switch {
		case alias == "" || alias != canonicalName(alias):
			fail("alias %q: name must be non-empty and lowercase without surrounding spaces", alias)
		case seen[alias]:
			fail("alias %q: is also a model name", alias)
		case !seen[target]:
			fail("alias %q: target %q is not a model in the catalog", alias, target)
		default:
			b.aliases[alias] = target
		}
	}

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b, nil
}

// applyFallbacks resolves the "not priced apart" marker (-1) left by the
// loader: a cache read or write the provider does not discount costs the
// input price, and reasoning not priced apart costs the output price.
// Resolving this once at load keeps the per-call cost formula branch-free.
func applyFallbacks(p Price) Price {
	if p.CachedInput < 0 {
		p.CachedInput = p.Input
	}
	if p.CacheWrite < 0 {
		p.CacheWrite = p.Input
	}
	if p.Reasoning < 0 {
		p.Reasoning = p.Output
	}
	return p
}

// checkSource insists on an absolute https URL: a price nobody can trace
// back to a public page cannot be checked, so it does not belong here.
func checkSource(s string) error {
	if s == "" {
		return errors.New("missing; every price must cite the public page it comes from")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("%q is not an absolute https URL", s)
	}
	return nil
}
