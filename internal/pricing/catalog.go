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
	"time"
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
	Version string `json:"version"`
	Unit    string `json:"unit"`
	// ProviderRules apply to every model of a provider, after the
	// model's own rules: tiers such as batch or flex that the provider
	// prices the same way for every model.
	ProviderRules map[string][]catalogRule `json:"provider_rules,omitempty"`
	Models        []catalogModel           `json:"models"`
	Aliases       map[string]string        `json:"aliases,omitempty"`
}

// catalogModel is one price entry. Optional prices are empty when the
// provider does not price that kind of token apart: cached_input and
// cache_write then cost the input price, cache_write_1h the cache_write
// price, reasoning the output price. A model may be listed more than once
// with different effective_from dates when its price changed.
type catalogModel struct {
	Provider      string        `json:"provider"`
	Model         string        `json:"model"`
	Input         string        `json:"input"`
	Output        string        `json:"output"`
	CachedInput   string        `json:"cached_input,omitempty"`
	CacheWrite    string        `json:"cache_write,omitempty"`
	CacheWrite1h  string        `json:"cache_write_1h,omitempty"`
	Reasoning     string        `json:"reasoning,omitempty"`
	Rules         []catalogRule `json:"rules,omitempty"`
	EffectiveFrom string        `json:"effective_from,omitempty"`
	Status        string        `json:"status,omitempty"`
	Source        string        `json:"source"`
	Checked       string        `json:"checked"`
	Note          string        `json:"note,omitempty"`
}

// catalogRule is a price tier as written in the file: conditions, then
// multipliers as plain decimals ("2", "1.5", "0.5").
type catalogRule struct {
	Name             string `json:"name"`
	InputTokensOver  int64  `json:"input_tokens_over,omitempty"`
	ServiceTier      string `json:"service_tier,omitempty"`
	Speed            string `json:"speed,omitempty"`
	InferenceGeo     string `json:"inference_geo,omitempty"`
	InputMultiplier  string `json:"input_multiplier,omitempty"`
	OutputMultiplier string `json:"output_multiplier,omitempty"`
	Note             string `json:"note,omitempty"`
}

// statuses are the lifecycle words the providers' pages use.
var statuses = map[string]bool{"active": true, "legacy": true, "deprecated": true, "retired": true}

// baseCatalog is the validated embedded catalog before overrides.
type baseCatalog struct {
	version string
	models  []Price
	aliases map[string]string // alias → model, both lowercase
}

// parseCatalog decodes and validates a catalog file. Every problem is
// reported, not just the first, so one run of the tests shows a data
// editor everything to fix.
func parseCatalog(data []byte) (*baseCatalog, error) { return parseOver(data, nil) }

// parseOver parses a catalog that will be merged over base (nil for the
// embedded catalog itself): its aliases may then also name base's models.
func parseOver(data []byte, base *baseCatalog) (*baseCatalog, error) {
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

	providerRules := make(map[string][]Rule, len(f.ProviderRules))
	for provider, rules := range f.ProviderRules {
		if !knownProviders[provider] {
			fail("provider_rules: provider %q is not openai or anthropic", provider)
			continue
		}
		for j, r := range rules {
			rule, err := parseRule(r)
			if err != nil {
				fail("provider_rules %q: rule %q: %v", provider, ruleLabel(r, j), err)
				continue
			}
			providerRules[provider] = append(providerRules[provider], rule)
		}
	}

	b := &baseCatalog{version: f.Version, aliases: make(map[string]string, len(f.Aliases))}
	seen := make(map[string]bool, len(f.Models))
	seenVersion := make(map[string]bool, len(f.Models))
	for i, m := range f.Models {
		name := m.Model
		if name == "" {
			name = fmt.Sprintf("models[%d]", i)
			fail("%s: model name is empty", name)
		} else if name != canonicalName(name) {
			fail("model %q: name must be lowercase without surrounding spaces", name)
		}
		if seenVersion[name+"@"+m.EffectiveFrom] {
			if m.EffectiveFrom == "" {
				fail("model %q: listed twice", name)
			} else {
				fail("model %q: listed twice with effective_from %s", name, m.EffectiveFrom)
			}
		}
		seen[name] = true
		seenVersion[name+"@"+m.EffectiveFrom] = true
		if !knownProviders[m.Provider] {
			fail("model %q: provider %q is not openai or anthropic", name, m.Provider)
		}
		if err := checkSource(m.Source); err != nil {
			fail("model %q: source: %v", name, err)
		}
		if _, err := time.Parse(time.DateOnly, m.Checked); err != nil {
			fail("model %q: checked %q is not the YYYY-MM-DD date the price was last compared with its source", name, m.Checked)
		}
		status := m.Status
		if status == "" {
			status = "active"
		} else if !statuses[status] {
			fail("model %q: status %q is not active, legacy, deprecated or retired", name, m.Status)
		}

		p := Price{Model: m.Model, Provider: m.Provider, Source: m.Source, Checked: m.Checked, Status: status, Note: m.Note}
		if m.EffectiveFrom != "" {
			at, err := time.Parse(time.DateOnly, m.EffectiveFrom)
			if err != nil {
				fail("model %q: effective_from %q is not a YYYY-MM-DD date", name, m.EffectiveFrom)
			}
			p.EffectiveFrom = at
		}
		for j, r := range m.Rules {
			rule, err := parseRule(r)
			if err != nil {
				fail("model %q: rule %q: %v", name, ruleLabel(r, j), err)
				continue
			}
			p.Rules = append(p.Rules, rule)
		}
		p.Rules = append(p.Rules, providerRules[m.Provider]...)
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
			{"cache_write_1h", m.CacheWrite1h, false, &p.CacheWrite1h},
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
		case !seen[target] && !base.has(target):
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
	if p.CacheWrite1h < 0 {
		p.CacheWrite1h = p.CacheWrite
	}
	if p.Reasoning < 0 {
		p.Reasoning = p.Output
	}
	return p
}

// ruleLabel names a rule in an error: its name, or its position.
func ruleLabel(r catalogRule, i int) string {
	if r.Name != "" {
		return r.Name
	}
	return fmt.Sprintf("rules[%d]", i)
}

// parseRule validates one price tier: a name, at least one condition and
// at least one multiplier, so a rule always changes something and never
// applies to every call by accident.
func parseRule(r catalogRule) (Rule, error) {
	rule := Rule{
		Name: r.Name, InputTokensOver: r.InputTokensOver,
		ServiceTier: r.ServiceTier, Speed: r.Speed, InferenceGeo: r.InferenceGeo,
		InputMilli: 1000, OutputMilli: 1000,
	}
	var errs []error
	if strings.TrimSpace(r.Name) == "" {
		errs = append(errs, errors.New("name is empty"))
	}
	if r.InputTokensOver < 0 {
		errs = append(errs, fmt.Errorf("input_tokens_over %d is negative", r.InputTokensOver))
	}
	if r.InputTokensOver == 0 && r.ServiceTier == "" && r.Speed == "" && r.InferenceGeo == "" {
		errs = append(errs, errors.New("has no condition (input_tokens_over, service_tier, speed or inference_geo)"))
	}
	if r.InputMultiplier == "" && r.OutputMultiplier == "" {
		errs = append(errs, errors.New("has no input_multiplier or output_multiplier"))
	}
	for _, m := range []struct {
		field, value string
		dst          *int64
	}{{"input_multiplier", r.InputMultiplier, &rule.InputMilli}, {"output_multiplier", r.OutputMultiplier, &rule.OutputMilli}} {
		if m.value == "" {
			continue
		}
		v, err := parseMultiplier(m.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.field, err))
			continue
		}
		*m.dst = v
	}
	return rule, errors.Join(errs...)
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

// has reports whether b (which may be nil) lists the model name.
func (b *baseCatalog) has(name string) bool {
	if b == nil {
		return false
	}
	for i := range b.models {
		if b.models[i].Model == name {
			return true
		}
	}
	return false
}

// merge lays a catalog file over the embedded catalog: every model the
// file names replaces all of that model's embedded prices (its whole price
// history), other models are added, and the file's aliases win. The
// version says both: "<embedded>+file.<file's version>".
func merge(base, over *baseCatalog) *baseCatalog {
	replaced := make(map[string]bool, len(over.models))
	for _, p := range over.models {
		replaced[p.Model] = true
	}
	out := &baseCatalog{
		version: base.version + "+file." + over.version,
		aliases: make(map[string]string, len(base.aliases)+len(over.aliases)),
	}
	for _, p := range base.models {
		if !replaced[p.Model] {
			out.models = append(out.models, p)
		}
	}
	out.models = append(out.models, over.models...)
	for alias, target := range base.aliases {
		if !replaced[alias] {
			out.aliases[alias] = target
		}
	}
	for alias, target := range over.aliases {
		out.aliases[alias] = target
	}
	return out
}
