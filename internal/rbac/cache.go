package rbac

import (
	"maps"
	"sync"
	"sync/atomic"
)

// maxDecisionsPerKey bounds one key's cache. A key normally asks about a
// handful of (workspace, permission) pairs; an owner probing made-up
// workspace ids would otherwise grow its cache without limit.
const maxDecisionsPerKey = 256

// decisionKey is one question about one key. Comparing strings in a struct
// key keeps cache hits free of allocations.
type decisionKey struct {
	orgID, workspaceID string
	perm               permID
	scope              scope
}

// scope is what a decision is about: one workspace, a whole organization or
// the installation. It keeps the three kinds of answer apart in the cache
// whatever the ids.
type scope uint8

const (
	scopeWorkspace scope = iota
	scopeOrg
	scopeInstallation
)

// decisionCache holds one key's decisions. It is never invalidated in place:
// a change to the key replaces the whole cache (see Authorizer.ReplaceAll).
//
// The map is copied on every store and never modified once published, so a
// lookup is an atomic load and a map read: no lock word that all cores write
// to when one busy key serves every request. Stores are rare (they follow a
// Casbin evaluation that costs far more than the copy).
type decisionCache struct {
	decisions atomic.Pointer[map[decisionKey]bool]
	storeMu   sync.Mutex // serializes stores so none is lost
}

func newDecisionCache() *decisionCache {
	c := &decisionCache{}
	c.decisions.Store(&map[decisionKey]bool{})
	return c
}

func (c *decisionCache) get(k decisionKey) (allowed, ok bool) {
	allowed, ok = (*c.decisions.Load())[k]
	return allowed, ok
}

func (c *decisionCache) put(k decisionKey, allowed bool) {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	old := *c.decisions.Load()
	var next map[decisionKey]bool
	if len(old) >= maxDecisionsPerKey {
		// Starting over is crude but cheap, and the key's live questions
		// are back in the cache after one miss each.
		next = make(map[decisionKey]bool)
	} else {
		next = maps.Clone(old)
	}
	next[k] = allowed
	c.decisions.Store(&next)
}

func (c *decisionCache) len() int { return len(*c.decisions.Load()) }
