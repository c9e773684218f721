package rbac

import (
	"fmt"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist/cache"
)

// TestRevokeDuringEvaluationIsNotCached covers the window a plain
// "invalidate after change" cache gets wrong: a decision computed before a
// downgrade but stored after it.
func TestRevokeDuringEvaluationIsNotCached(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	admin := Subject{KeyID: "k", OrgID: "o", WorkspaceID: "w", Role: RoleAdmin}
	if err := a.ReplaceAll([]Subject{admin}); err != nil {
		t.Fatal(err)
	}
	a.afterEvaluate = func() {
		a.afterEvaluate = nil
		viewer := admin
		viewer.Role = RoleViewer
		if err := a.ReplaceAll([]Subject{viewer}); err != nil {
			t.Error(err)
		}
	}
	if !a.Allow("k", "o", "w", "keys", "manage") {
		t.Fatal("the decision computed before the downgrade should be allow")
	}
	if a.Allow("k", "o", "w", "keys", "manage") {
		t.Fatal("a decision computed before the downgrade was served after it")
	}
}

// TestSyncedCachedEnforcerCanServeRevokedDecision records why the Authorizer
// does not use casbin.SyncedCachedEnforcer: with the same interleaving as
// above, InvalidateCache runs before the stale decision is stored, and the
// revoked key stays allowed until the next unrelated invalidation. If a
// Casbin upgrade makes this test fail, the reason is gone.
func TestSyncedCachedEnforcerCanServeRevokedDecision(t *testing.T) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewSyncedCachedEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddPolicies(policyRules()); err != nil {
		t.Fatal(err)
	}
	assignment := []string{keyName("k"), roleName(RoleAdmin), workspaceDomain("o", "w")}
	if _, err := e.AddGroupingPolicy(assignment); err != nil {
		t.Fatal(err)
	}
	inner, _ := cache.NewSyncCache()
	e.SetCache(&revokeBeforeStore{Cache: inner, revoke: func() {
		if _, err := e.RemoveGroupingPolicy(assignment); err != nil {
			t.Error(err)
		}
		if err := e.InvalidateCache(); err != nil {
			t.Error(err)
		}
	}})
	req := []any{keyName("k"), workspaceDomain("o", "w"), orgDomain("o"), "keys", "manage"}
	if ok, err := e.Enforce(req...); err != nil || !ok {
		t.Fatalf("first decision = %v, %v; want allow", ok, err)
	}
	stale, err := e.Enforce(req...)
	if err != nil {
		t.Fatal(err)
	}
	e.EnableCache(false)
	fresh, err := e.Enforce(req...)
	if err != nil {
		t.Fatal(err)
	}
	if !stale || fresh {
		t.Fatalf("cached = %v, uncached = %v; SyncedCachedEnforcer no longer serves the revoked decision", stale, fresh)
	}
}

// revokeBeforeStore runs revoke once, just before the first decision is
// stored: the moment a concurrent revoke can land.
type revokeBeforeStore struct {
	cache.Cache
	revoke func()
}

func (c *revokeBeforeStore) Set(key string, value bool, extra ...any) error {
	if c.revoke != nil {
		revoke := c.revoke
		c.revoke = nil
		revoke()
	}
	return c.Cache.Set(key, value, extra...)
}

// TestModelHasNoDomainPatternMatching guards the choice of exact domains:
// Casbin silently installs util.KeyMatch on g when the matcher contains
// "keyMatch(r.dom, p.dom)", which would make loading quadratic.
func TestModelHasNoDomainPatternMatching(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	rm := a.current.Load().enforcer.GetRoleManager()
	if rm.Match(workspaceDomain("5", "w"), orgDomain("5")) {
		t.Fatal("the role manager matches domains by pattern")
	}
}

func TestDecisionCacheIsBoundedPerKey(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ReplaceAll([]Subject{{KeyID: "k", OrgID: "o", WorkspaceID: "w", Role: RoleOwner}}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxDecisionsPerKey {
		if !a.Allow("k", "o", fmt.Sprintf("made-up-%d", i), "proxy", "write") {
			t.Fatalf("owner denied in workspace %d of its organization", i)
		}
	}
	if n := a.current.Load().keys["k"].decisions.len(); n == 0 || n > maxDecisionsPerKey {
		t.Fatalf("cache holds %d decisions, want 1..%d", n, maxDecisionsPerKey)
	}
}

// TestUnchangedKeysKeepTheirCacheAcrossChanges: a key's decisions depend only
// on its own assignment, so reloads and other keys' changes need not cool
// its cache.
func TestUnchangedKeysKeepTheirCacheAcrossChanges(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	same := Subject{KeyID: "same", OrgID: "o", WorkspaceID: "w", Role: RoleViewer, Permissions: []string{PermAuditRead, PermKeysManage}}
	changed := Subject{KeyID: "changed", OrgID: "o", WorkspaceID: "w", Role: RoleAdmin}
	if err := a.ReplaceAll([]Subject{same, changed}); err != nil {
		t.Fatal(err)
	}
	sameCache, changedCache := a.current.Load().keys["same"].decisions, a.current.Load().keys["changed"].decisions

	// The same permissions in another order are the same assignment.
	reordered := same
	reordered.Permissions = []string{PermKeysManage, PermAuditRead}
	changed.Role = RoleViewer
	if err := a.ReplaceAll([]Subject{reordered, changed}); err != nil {
		t.Fatal(err)
	}
	if a.current.Load().keys["same"].decisions != sameCache {
		t.Error("an unchanged key lost its cache")
	}
	if a.current.Load().keys["changed"].decisions == changedCache {
		t.Error("a changed key kept its cache")
	}
}
