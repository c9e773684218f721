package config

import (
	"fmt"
	"math"
)

// Limits are the default rate limits and budgets (internal/limits): per
// gateway key, per workspace and per organization. Every limit that
// applies to a call is checked before it is forwarded; overrides set
// through the API or the CLI replace these defaults per key or workspace.
type Limits struct {
	PerKey       LimitSet `yaml:"per_key"`
	PerWorkspace LimitSet `yaml:"per_workspace"`
	PerOrg       LimitSet `yaml:"per_org"`
}

// LimitSet is one scope's limits; 0 means no limit. Minutes are sliding
// windows; days and months are UTC calendar periods.
type LimitSet struct {
	RequestsPerMinute int64   `yaml:"requests_per_minute"`
	TokensPerMinute   int64   `yaml:"tokens_per_minute"`
	TokensPerDay      int64   `yaml:"tokens_per_day"`
	USDPerDay         float64 `yaml:"usd_per_day"`
	USDPerMonth       float64 `yaml:"usd_per_month"`
}

// MaxLimitUSD is the largest dollar limit: budgets are kept in nano-USD in
// 64-bit integers, and no budget needs more.
const MaxLimitUSD = 1e9

func (c Config) validateLimits(v *validator) {
	for _, s := range []struct {
		name string
		set  LimitSet
	}{
		{"limits.per_key", c.Limits.PerKey},
		{"limits.per_workspace", c.Limits.PerWorkspace},
		{"limits.per_org", c.Limits.PerOrg},
	} {
		ValidateLimitSet(func(field, rule string) { v.add(s.name+"."+field, "%s", rule) }, s.set)
	}
}

// ValidateLimitSet reports each broken rule of set to fail, with the
// field's YAML name: the config and the limits API share the rules.
func ValidateLimitSet(fail func(field, rule string), set LimitSet) {
	for _, f := range []struct {
		name string
		n    int64
	}{
		{"requests_per_minute", set.RequestsPerMinute},
		{"tokens_per_minute", set.TokensPerMinute},
		{"tokens_per_day", set.TokensPerDay},
	} {
		if f.n < 0 {
			fail(f.name, "must not be negative (0 means no limit)")
		}
	}
	for _, f := range []struct {
		name string
		usd  float64
	}{
		{"usd_per_day", set.USDPerDay},
		{"usd_per_month", set.USDPerMonth},
	} {
		switch {
		case math.IsNaN(f.usd) || math.IsInf(f.usd, 0):
			fail(f.name, "must be a number")
		case f.usd < 0:
			fail(f.name, "must not be negative (0 means no limit)")
		case f.usd > MaxLimitUSD:
			fail(f.name, fmt.Sprintf("must be at most %g", float64(MaxLimitUSD)))
		}
	}
}
