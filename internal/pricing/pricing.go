// Package pricing owns what a model call costs: the embedded, versioned
// price catalog (catalog.json, data rather than code, every entry citing
// its public source), operator overrides, the mapping from whatever model
// name a client or upstream reports to a catalog entry, and exact cost
// arithmetic in integer pico-USD.
//
// It knows about nothing else in the gateway: callers translate their own
// usage type into Tokens. Money is never a float inside this package; floats
// appear only at the edges (Override, Cost.USD) where config and JSON want
// them.
package pricing

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OverrideSource is the Source of a price that came from configuration
// rather than the embedded catalog, so a console can tell the two apart.
const OverrideSource = "config: pricing.overrides"

// Price is one model's price in pico-USD (1e-12 USD) per token. Fallbacks
// are already applied: a token kind the provider does not price apart
// carries the price it is actually billed at (input for cache reads and
// writes, output for reasoning, the short-lived write price for 1-hour
// writes), so every field is the effective price.
type Price struct {
	// Model is the catalog name the lookup resolved to, e.g. "gpt-4o" for
	// "gpt-4o-2024-08-06".
	Model string
	// Provider is "openai" or "anthropic" for catalog entries, and empty
	// for models that only an override defines.
	Provider string

	Input        int64 // uncached input
	Output       int64 // output other than reasoning
	CachedInput  int64 // input read from the prompt cache
	CacheWrite   int64 // input written to the prompt cache with the short lifetime (Anthropic 5 minutes)
	CacheWrite1h int64 // input written to the prompt cache with Anthropic's 1-hour lifetime
	Reasoning    int64 // reasoning output

	// Rules change the price of a whole call under conditions the
	// response reports (long context, service tier, fast mode, regional
	// processing); every matching rule applies, multiplied together.
	Rules []Rule

	// EffectiveFrom is when this price took effect; zero means it has
	// applied since before the catalog recorded any change for the model.
	EffectiveFrom time.Time
	// Status is the model's lifecycle on the provider's page: active,
	// legacy, deprecated or retired. Retired models stay priced so that
	// history and repricing keep working.
	Status string
	// Checked is the date (YYYY-MM-DD) the price was last compared with
	// Source; empty for overrides.
	Checked string
	// Source is the public pricing page the price comes from, or
	// OverrideSource.
	Source string
	// Note says what the entry does not cover, or where a figure could
	// not be confirmed on the provider's own page.
	Note string
}

// Rule is one price tier: when every set condition holds, input prices
// (uncached, cached, cache writes) are multiplied by InputMilli/1000 and
// output prices (output, reasoning) by OutputMilli/1000.
type Rule struct {
	Name string
	// InputTokensOver matches calls whose whole input (cache reads and
	// writes included) is above it; 0 means any size.
	InputTokensOver int64
	// ServiceTier, Speed and InferenceGeo match the response's own
	// report, exactly; empty means any.
	ServiceTier, Speed, InferenceGeo string
	InputMilli, OutputMilli          int64
}

func (r *Rule) matches(t Tokens, c Conditions) bool {
	return (r.InputTokensOver == 0 || t.Input > r.InputTokensOver) &&
		(r.ServiceTier == "" || r.ServiceTier == c.ServiceTier) &&
		(r.Speed == "" || r.Speed == c.Speed) &&
		(r.InferenceGeo == "" || r.InferenceGeo == c.InferenceGeo)
}

// Tokens is the usage to price, normalised the way the gateway's providers
// report it: Input includes CachedInput and CacheWrite, CacheWrite includes
// CacheWrite1h, and Output includes Reasoning.
type Tokens struct {
	Input, Output, CachedInput, CacheWrite, CacheWrite1h, Reasoning int64
}

// Conditions are what a response said about how it was served, as the
// provider spells it: OpenAI's service_tier ("default", "flex",
// "priority"), Anthropic's usage.service_tier ("standard", "priority",
// "batch"), usage.speed ("fast") and usage.inference_geo. Empty when the
// response did not say.
type Conditions struct {
	ServiceTier  string `json:"service_tier,omitempty"`
	Speed        string `json:"speed,omitempty"`
	InferenceGeo string `json:"inference_geo,omitempty"`
}

// Override is an operator-supplied price in USD per 1M tokens, as written
// in the config file. A zero CachedInput or CacheWrite means "billed as
// input" and a zero Reasoning means "billed as output", matching the config
// schema's documented fallbacks.
type Override struct {
	Input, Output, CachedInput, CacheWrite, Reasoning float64
}

// Cost is the price of one call.
type Cost struct {
	// NanoUSD is the exact cost in 1e-9 USD, rounded half-up from pico-USD.
	NanoUSD int64
	// Priced is false when the model is not in the catalog; NanoUSD is then
	// zero, which means "unknown", not "free".
	Priced bool
	// Model is the catalog name the call was priced as; empty when unpriced.
	Model string
	// Version names the prices used: the catalog's Version, and for a
	// model whose price changed over time "/<model>@<effective date>" of
	// the price in force at the call's time.
	Version string
}

// USD is the cost in dollars, for display and JSON. Keep sums in NanoUSD:
// floats drift when added up over many calls.
func (c Cost) USD() float64 { return float64(c.NanoUSD) / 1e9 }

// maxCachedNames bounds the resolutions remembered beyond the catalog's own
// names. Model names come from clients, so an unbounded cache would let
// anyone grow the gateway's memory by inventing names; past the bound,
// resolution still works, it just is not remembered.
const maxCachedNames = 1024

// Catalog is an immutable set of prices with a version. It is safe for
// concurrent use; applying different overrides means building a new
// Catalog with New. Obtain one from Default or New: the zero value holds no
// prices and is not usable.
type Catalog struct {
	version string
	models  []Price           // the price in force at build time, sorted by provider, then model
	names   map[string]*model // canonical model names and aliases

	// cache maps raw names as callers spell them to their resolution (nil
	// for unknown). It is copied on write so the hot path is one atomic
	// load and one map lookup, without locks or allocation.
	cache   atomic.Pointer[map[string]*model]
	cacheMu sync.Mutex // serialises writers of cache
}

// model is one catalog model with every price it has had, newest first.
type model struct {
	versions []Price
}

// at returns the price in force at t: the newest whose EffectiveFrom is not
// after t. A time before the first recorded price gets the oldest one, so
// a clock skew never turns a call into an unpriced one.
func (m *model) at(t time.Time) *Price {
	for i := range m.versions {
		if !m.versions[i].EffectiveFrom.After(t) {
			return &m.versions[i]
		}
	}
	return &m.versions[len(m.versions)-1]
}

// embedded parses catalog.json once; Default and New share the result.
var embedded = sync.OnceValues(func() (*baseCatalog, error) {
	return parseCatalog(catalogJSON)
})

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := New(nil)
	if err != nil {
		// Only a broken catalog.json gets here, and the package tests load
		// it, so this cannot reach a release.
		panic(err)
	}
	return c
})

// Default returns the embedded catalog without overrides. It is built once
// and shared.
func Default() *Catalog { return defaultCatalog() }

// New returns the embedded catalog with overrides applied. An override
// keyed by a catalog model or alias replaces that price entirely, for all
// time (optional fields fall back as documented on Override, not to the
// catalog's value); any other key adds a model, e.g. one served by an
// OpenAI-compatible upstream. Keys match case-insensitively, like lookups.
// The error names the model and field of every invalid price.
func New(overrides map[string]Override) (*Catalog, error) {
	return NewWithFile(nil, overrides)
}

// NewWithFile is New with a catalog file (pricing.catalog_file) merged
// over the embedded catalog first: a JSON document in catalog.json's
// schema, validated as strictly, whose models replace the embedded entries
// of the same name (with their whole price history) or add new ones, and
// whose aliases may name embedded models. Nil or empty file data means no
// file. The error names every invalid entry.
func NewWithFile(file []byte, overrides map[string]Override) (*Catalog, error) {
	base, err := embedded()
	if err != nil {
		return nil, err
	}
	if len(file) > 0 {
		over, err := parseOver(file, base)
		if err != nil {
			return nil, err
		}
		base = merge(base, over)
	}
	return build(base, overrides)
}

// Live is the catalog in use by a running gateway, replaced whole when the
// catalog file is reloaded (SIGHUP): a call is priced by one catalog from
// start to end, and loading the current one is a single atomic read.
type Live struct {
	c atomic.Pointer[Catalog]
}

// NewLive returns a Live holding c.
func NewLive(c *Catalog) *Live {
	l := new(Live)
	l.c.Store(c)
	return l
}

// Load returns the catalog in use.
func (l *Live) Load() *Catalog { return l.c.Load() }

// Store makes c the catalog in use.
func (l *Live) Store(c *Catalog) { l.c.Store(c) }

// build applies overrides to a parsed catalog.
func build(base *baseCatalog, overrides map[string]Override) (*Catalog, error) {
	byName := make(map[string][]Price, len(base.models)+len(overrides))
	for _, p := range base.models {
		byName[p.Model] = append(byName[p.Model], p)
	}
	aliases := maps.Clone(base.aliases)

	keys := slices.Sorted(maps.Keys(overrides))
	var errs []error
	overridden := make(map[string]string, len(keys)) // canonical → key as written
	for _, key := range keys {
		name := canonicalName(key)
		if name == "" {
			errs = append(errs, errors.New("pricing: override with an empty model name"))
			continue
		}
		if prev, dup := overridden[name]; dup {
			errs = append(errs, fmt.Errorf("pricing: overrides %q and %q name the same model", prev, key))
			continue
		}
		overridden[name] = key
		p, err := overridePriceOf(key, overrides[key])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// Keep the provider of whatever the override shadows, so replaced
		// entries still list under their provider.
		if old, ok := byName[name]; ok {
			p.Provider = old[0].Provider
		} else if target, ok := aliases[name]; ok {
			p.Provider = byName[target][0].Provider
		}
		// A model beats an alias of the same name: the operator asked for
		// this exact name to have this price.
		delete(aliases, name)
		byName[name] = []Price{p}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	c := &Catalog{
		version: base.version,
		names:   make(map[string]*model, len(byName)+len(aliases)),
	}
	if len(overrides) > 0 {
		c.version += "+overrides." + overridesHash(byName, overridden)
	}
	now := time.Now()
	for name, versions := range byName {
		// Newest first, which is the order model.at searches in.
		slices.SortStableFunc(versions, func(a, b Price) int { return b.EffectiveFrom.Compare(a.EffectiveFrom) })
		m := &model{versions: versions}
		c.models = append(c.models, *m.at(now))
		c.names[name] = m
	}
	for alias, target := range aliases {
		c.names[alias] = c.names[target]
	}
	slices.SortFunc(c.models, func(a, b Price) int {
		if d := strings.Compare(a.Provider, b.Provider); d != 0 {
			return d
		}
		return strings.Compare(a.Model, b.Model)
	})

	// Seed the cache with every known name so catalog names never pay for
	// resolution, and do not count towards maxCachedNames.
	seed := maps.Clone(c.names)
	c.cache.Store(&seed)
	return c, nil
}

// overridePriceOf validates and converts one override.
func overridePriceOf(key string, o Override) (Price, error) {
	p := Price{Model: key, Source: OverrideSource, Status: "active", CacheWrite1h: -1}
	fields := []struct {
		field string
		value float64
		dst   *int64
	}{
		{"input", o.Input, &p.Input},
		{"output", o.Output, &p.Output},
		{"cached_input", o.CachedInput, &p.CachedInput},
		{"cache_write", o.CacheWrite, &p.CacheWrite},
		{"reasoning", o.Reasoning, &p.Reasoning},
	}
	var errs []error
	for _, f := range fields {
		v, err := overridePrice(f.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("pricing: override %q: %s: %w", key, f.field, err))
			continue
		}
		*f.dst = v
	}
	if len(errs) > 0 {
		return Price{}, errors.Join(errs...)
	}
	// Zero is the config's "not priced apart" marker for optional fields.
	for _, f := range fields[2:] {
		if *f.dst == 0 {
			*f.dst = -1
		}
	}
	return applyFallbacks(p), nil
}

// overridesHash fingerprints the effective overridden prices, so two
// gateways with different overrides never record the same PricingVersion.
func overridesHash(byName map[string][]Price, overridden map[string]string) string {
	h := fnv.New32a()
	for _, name := range slices.Sorted(maps.Keys(overridden)) {
		p := byName[name][0]
		fmt.Fprintf(h, "%s=%d,%d,%d,%d,%d;", name, p.Input, p.Output, p.CachedInput, p.CacheWrite, p.Reasoning)
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

// Version identifies the prices in use, for recording beside every cost:
// the catalog's version, with "+overrides.<hash>" appended when overrides
// changed it.
func (c *Catalog) Version() string { return c.version }

// Lookup returns the price in force now for a model name as a client or
// upstream spells it. Resolution, first match wins:
//
//  1. the name itself, case-insensitively (catalog models, aliases, overrides);
//  2. the name without a bracketed variant ("claude-opus-5-5[1m]", as
//     Claude Code names its 1M-context setting), then without a snapshot
//     suffix: a date ("-2024-08-06", "-20250514") or "-latest";
//  3. steps 1–2 again after dropping a leading "vendor/" segment, one at a
//     time, as OpenAI-compatible routers prefix names ("openai/gpt-4o").
//
// There is deliberately no prefix matching: "gpt-4o-mini-foo" is unknown,
// never a silent gpt-4o-mini or gpt-4o. An unpriced call is visible; a
// mispriced one is not.
func (c *Catalog) Lookup(name string) (Price, bool) {
	return c.LookupAt(name, time.Now())
}

// LookupAt is Lookup for the price in force at t.
func (c *Catalog) LookupAt(name string, t time.Time) (Price, bool) {
	m := c.find(name)
	if m == nil {
		return Price{}, false
	}
	return *m.at(t), true
}

// find resolves a name through the cache.
func (c *Catalog) find(name string) *model {
	if m, ok := (*c.cache.Load())[name]; ok {
		return m
	}
	m := c.resolve(name)
	c.remember(name, m)
	return m
}

// Cost prices usage for a model at the price in force now, under no
// particular conditions. Unknown models cost zero with Priced false.
// Negative counts, or subsets larger than the totals they belong to, never
// make a cost negative: each remainder is clamped at zero.
func (c *Catalog) Cost(name string, t Tokens) Cost {
	return c.CostAt(name, time.Now(), t, Conditions{})
}

// CostAt prices a call made at a given time (a trace's timestamp) with the
// price in force then, applying every rule its usage and conditions match.
func (c *Catalog) CostAt(name string, at time.Time, t Tokens, cond Conditions) Cost {
	m := c.find(name)
	if m == nil {
		return Cost{}
	}
	p := m.at(at)
	version := c.version
	if !p.EffectiveFrom.IsZero() {
		version += "/" + p.Model + "@" + p.EffectiveFrom.Format(time.DateOnly)
	}
	return Cost{NanoUSD: p.costNano(t, cond), Priced: true, Model: p.Model, Version: version}
}

// Models returns every priced model (aliases excluded) at the price in
// force when the catalog was built, sorted by provider and then name. The
// slice is the caller's to keep.
func (c *Catalog) Models() []Price { return slices.Clone(c.models) }

// costNano is the cost formula over normalised usage:
//
//	(input − cached − cacheWrite) × Input + cached × CachedInput
//	+ (cacheWrite − cacheWrite1h) × CacheWrite + cacheWrite1h × CacheWrite1h
//	+ (output − reasoning) × Output + reasoning × Reasoning
//
// with input-side prices scaled by the matching rules' input multipliers
// and output-side prices by their output multipliers, summed exactly in
// pico-USD (times 1000 per applied rule) and rounded half-up to nano-USD
// once, at the end, so rounding never compounds across token kinds.
func (p *Price) costNano(t Tokens, cond Conditions) int64 {
	input, output := max(t.Input, 0), max(t.Output, 0)
	cached, write, reasoning := max(t.CachedInput, 0), max(t.CacheWrite, 0), max(t.Reasoning, 0)
	write1h := min(max(t.CacheWrite1h, 0), write)

	// Subtract one subset at a time: both are non-negative, so each step
	// stays in range, and the clamp keeps an inconsistent report (subsets
	// larger than their total) from turning into a refund.
	plainInput := max(input-cached, 0)
	plainInput = max(plainInput-write, 0)
	plainOutput := max(output-reasoning, 0)

	in, out := int64(1), int64(1)
	divisor := uint64(picoPerNano)
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.matches(Tokens{Input: input}, cond) {
			continue
		}
		in, out = scale(in, r.InputMilli), scale(out, r.OutputMilli)
		if divisor > math.MaxUint64/1000 {
			return math.MaxInt64 // more rules than any price page has
		}
		divisor *= 1000
	}

	var s picoSum
	s.add(plainInput, scale(p.Input, in))
	s.add(cached, scale(p.CachedInput, in))
	s.add(write-write1h, scale(p.CacheWrite, in))
	s.add(write1h, scale(p.CacheWrite1h, in))
	s.add(plainOutput, scale(p.Output, out))
	s.add(reasoning, scale(p.Reasoning, out))
	return s.div(divisor)
}
