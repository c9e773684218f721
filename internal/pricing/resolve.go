package pricing

import (
	"maps"
	"strings"
)

// canonicalName is the form catalog keys are stored in. Providers treat
// model names case-sensitively, but routers and hand-written configs do
// not always agree on case, and no two real models differ only by it.
func canonicalName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// resolve maps a raw model name to its catalog entry, or nil. It runs only
// on a cache miss; see Lookup for the rules.
func (c *Catalog) resolve(raw string) *model {
	name := canonicalName(raw)
	for {
		if p := c.resolveName(name); p != nil {
			return p
		}
		// Drop one leading "vendor/" segment and try again. Going one
		// segment at a time keeps names that contain a slash themselves
		// (an override for "meta-llama/llama-3-70b") reachable behind a
		// router prefix ("together/meta-llama/llama-3-70b").
		_, rest, found := strings.Cut(name, "/")
		if !found || rest == "" {
			return nil
		}
		name = rest
	}
}

// resolveName tries the name as is, then without a bracketed variant,
// then without one snapshot suffix. Only exact map hits count, which is
// what makes "longest match wins" hold trivially: gpt-4o-mini-2024-07-18
// loses its date and hits gpt-4o-mini; nothing ever shortens it further to
// gpt-4o.
func (c *Catalog) resolveName(name string) *model {
	if m, ok := c.names[name]; ok {
		return m
	}
	if base, ok := stripVariant(name); ok {
		if m, ok := c.names[base]; ok {
			return m
		}
		name = base
	}
	if base, ok := stripSnapshot(name); ok {
		return c.names[base]
	}
	return nil
}

// stripVariant removes a trailing bracketed variant such as "[1m]", which
// Claude Code appends to a model name to select its 1M-token context; the
// model, and its price, are the same.
func stripVariant(name string) (string, bool) {
	if !strings.HasSuffix(name, "]") {
		return "", false
	}
	i := strings.LastIndexByte(name, '[')
	if i <= 0 {
		return "", false
	}
	return name[:i], true
}

// stripSnapshot removes a trailing snapshot marker: an OpenAI date
// ("-2024-08-06"), an Anthropic date ("-20250514") or "-latest". The date
// must look like a real calendar date so that version-like suffixes
// ("-0613", "-12345678") are not mistaken for one.
func stripSnapshot(name string) (string, bool) {
	if base, ok := strings.CutSuffix(name, "-latest"); ok && base != "" {
		return base, true
	}
	// -YYYY-MM-DD
	if n := len(name); n > 11 && name[n-11] == '-' && name[n-6] == '-' && name[n-3] == '-' &&
		isDate(name[n-10:n-6], name[n-5:n-3], name[n-2:]) {
		return name[:n-11], true
	}
	// -YYYYMMDD
	if n := len(name); n > 9 && name[n-9] == '-' &&
		isDate(name[n-8:n-4], name[n-4:n-2], name[n-2:]) {
		return name[:n-9], true
	}
	return "", false
}

// isDate reports whether the digit strings form a plausible 20xx date.
func isDate(year, month, day string) bool {
	if !allDigits(year) || !allDigits(month) || !allDigits(day) || year[:2] != "20" {
		return false
	}
	m := (month[0]-'0')*10 + month[1] - '0'
	d := (day[0]-'0')*10 + day[1] - '0'
	return m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// remember adds a resolution to the cache by copying the map, which keeps
// readers lock-free. Copying is affordable because it happens at most
// maxCachedNames times per catalog: names the gateway actually sees repeat.
func (c *Catalog) remember(name string, m *model) {
	limit := len(c.names) + maxCachedNames
	// Once full, a flood of invented names must not queue on the lock.
	if len(*c.cache.Load()) >= limit {
		return
	}
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	cur := *c.cache.Load()
	if _, ok := cur[name]; ok || len(cur) >= limit {
		return
	}
	next := make(map[string]*model, len(cur)+1)
	maps.Copy(next, cur)
	next[name] = m
	c.cache.Store(&next)
}
