// Package rbac owns authorization: the roles, the permissions each role
// grants, and the Authorizer that answers "may this gateway key do
// resource:action in that workspace?" from memory on the request path.
//
// The policy is a Casbin RBAC-with-domains model (see casbinModel). Roles are
// defined once; each key is assigned its role in its workspace's domain, or
// in its organization's domain for an owner, plus any extra permissions in its
// workspace. Nothing here touches a database: the tenancy key cache tells the
// Authorizer about keys with ReplaceAll (every key, on each reload) and
// Remove (one revoked key at once).
//
// Every decision is deny by default: unknown keys, unknown permissions,
// malformed ids and other organizations are all refused.
package rbac

import (
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
)

// Subject is a gateway key as the authorizer sees it.
type Subject struct {
	// KeyID identifies the key; it is what Allow is asked about.
	KeyID string
	// OrgID and WorkspaceID place the key. Every key, an owner's included,
	// belongs to a workspace: its extra permissions apply there.
	OrgID       string
	WorkspaceID string
	// Role is one of Roles.
	Role string
	// Permissions are extra permissions on top of the role's, valid only in
	// the key's own workspace. They only ever add.
	Permissions []string
}

// Authorizer decides whether gateway keys may act, from an in-memory Casbin
// policy fronted by a per-key decision cache. It is safe for concurrent use,
// and a cached decision takes no lock at all.
//
// Why not casbin.SyncedCachedEnforcer: its cache is filled after the decision
// is computed and outside any lock, so a decision computed just before a
// revoke can be stored just after InvalidateCache and then served until the
// next unrelated change (TestSyncedCachedEnforcerCanServeRevokedDecision);
// it also drops every key's decisions whenever any key changes, and grows
// without bound. Here each key owns its cache, and a change replaces that
// key's cache after the policy change, so a late store lands in a cache
// nobody reads any more.
type Authorizer struct {
	// writeMu serializes Remove and ReplaceAll, so a full reload can never
	// interleave with a single-key change.
	writeMu sync.Mutex

	// current is the live policy. Writers publish a new one for every
	// change; readers load it once per decision and never lock.
	current atomic.Pointer[policy]

	// afterEvaluate, when set by a test, runs between a Casbin evaluation and
	// the storing of its result: the window in which a revoke can race.
	afterEvaluate func()
}

// policy is the authorizer's state: an enforcer and the keys assigned in it,
// together so that ReplaceAll can swap both at once. The key table is copy on
// write: a change to one key publishes a new policy with a new table (and
// the same enforcer, changed in place under its own lock). Copying 10,000
// entries costs less than Casbin's own removal of a rule, and it keeps
// decisions free of locks and shared writes.
type policy struct {
	enforcer *casbin.SyncedEnforcer
	keys     map[string]*keyState // never modified once published
}

// with publishes p with keyID set to ks, or removed if ks is nil. The caller
// holds writeMu.
func (a *Authorizer) with(p *policy, keyID string, ks *keyState) {
	keys := maps.Clone(p.keys)
	if ks == nil {
		delete(keys, keyID)
	} else {
		keys[keyID] = ks
	}
	a.current.Store(&policy{enforcer: p.enforcer, keys: keys})
}

// keyState is what the Authorizer knows about one key. It is never modified
// once published, except for the contents of its decision cache.
type keyState struct {
	subject   Subject // normalized
	decisions *decisionCache
}

// New returns an Authorizer that knows no keys and therefore allows nothing.
func New() (*Authorizer, error) {
	e, err := newEnforcer(nil)
	if err != nil {
		return nil, err
	}
	a := &Authorizer{}
	a.current.Store(&policy{enforcer: e, keys: map[string]*keyState{}})
	return a, nil
}

// Remove forgets a key: every later Allow for it is false. Removing an
// unknown key does nothing.
func (a *Authorizer) Remove(keyID string) {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	// An error still leaves the key out of the key table, which is enough
	// for Allow to deny it.
	_ = a.remove(keyID)
}

// remove withdraws a key; the caller holds writeMu. The key leaves the key
// table first, and even if the enforcer then fails, because Allow denies any
// key missing from the table without consulting Casbin.
func (a *Authorizer) remove(keyID string) error {
	p := a.current.Load()
	if _, known := p.keys[keyID]; !known {
		return nil
	}
	a.with(p, keyID, nil)
	// Under the enforcer's own write lock, so a concurrent evaluation sees
	// the assignment or none, never part of it. The embedded
	// *casbin.Enforcer does not lock; the SyncedEnforcer methods would
	// deadlock on the lock held here.
	lock := p.enforcer.GetLock()
	lock.Lock()
	defer lock.Unlock()
	_, err := p.enforcer.Enforcer.RemoveFilteredGroupingPolicy(0, keyName(keyID))
	return err
}

// ReplaceAll atomically replaces every key with subjects: the periodic
// safety-net reload from the store. The new policy is built beside the live
// one and swapped in at once, so each decision sees either the complete old
// or the complete new policy; nothing is transiently allowed or denied.
//
// If any subject is invalid, or two share a KeyID, ReplaceAll changes nothing
// and returns an error (wrapping ErrInvalidSubject for a bad subject). Keys
// whose assignment did not change keep their cached decisions, because a
// key's decisions depend on nothing but its own assignment.
//
// ReplaceAll is last-writer-wins with Remove: a snapshot read from
// the store before a revoke and applied after it re-grants the revoked key.
// The caller must not apply snapshots older than changes it already applied.
func (a *Authorizer) ReplaceAll(subjects []Subject) error {
	states := make(map[string]*keyState, len(subjects))
	var rules [][]string
	for _, s := range subjects {
		norm, err := normalize(s)
		if err != nil {
			return fmt.Errorf("rbac: replace all: key %q: %w", s.KeyID, err)
		}
		if _, dup := states[norm.KeyID]; dup {
			return fmt.Errorf("%w: replace all: key %q listed twice", ErrInvalidSubject, norm.KeyID)
		}
		states[norm.KeyID] = &keyState{subject: norm}
		rules = append(rules, groupingRules(norm)...)
	}
	// Built without any lock: decisions and single-key changes carry on.
	enforcer, err := newEnforcer(rules)
	if err != nil {
		return err
	}

	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	live := a.current.Load()
	for id, ks := range states {
		if old := live.keys[id]; old != nil && sameAssignment(old.subject, ks.subject) {
			ks.decisions = old.decisions
		} else {
			ks.decisions = newDecisionCache()
		}
	}
	a.current.Store(&policy{enforcer: enforcer, keys: states})
	return nil
}

// Allow reports whether keyID may perform resource:action in the workspace
// workspaceID of the organization orgID. An owner may act in every workspace
// of its organization; every other key only in its own workspace, where its
// extra permissions apply too. Unknown keys, permissions or organizations,
// malformed ids and internal errors all give false.
//
// An installation permission (PermInstallationRead) is about the gateway
// itself, not a tenant: Allow ignores orgID and workspaceID for it and
// answers whether the key holds it installation-wide (an operator, or a key
// given it as an extra permission).
//
// Allow does not know which workspaces exist: an owner is allowed in any
// well-formed workspace id of its organization, so handlers must still
// reject workspaces that are not there.
func (a *Authorizer) Allow(keyID, orgID, workspaceID, resource, action string) bool {
	perm, ok := lookupPermission(resource, action)
	if !ok {
		return false
	}
	if perm.installation() {
		return a.decide(keyID, decisionKey{perm: perm, scope: scopeInstallation}, installationDomain, installationDomain, resource, action)
	}
	return a.decide(keyID, decisionKey{orgID: orgID, workspaceID: workspaceID, perm: perm},
		"", "", resource, action)
}

// AllowOrgWide reports whether keyID may perform resource:action in every
// workspace of organization orgID, present and future: what an
// organization-wide role (an owner) holds. Extra permissions never count,
// as they hold in one workspace only. The API reads an org-wide key's data
// across its organization only when this is true.
func (a *Authorizer) AllowOrgWide(keyID, orgID, resource, action string) bool {
	perm, ok := lookupPermission(resource, action)
	if !ok || perm.installation() {
		return false
	}
	d := orgDomain(orgID)
	return a.decide(keyID, decisionKey{orgID: orgID, perm: perm, scope: scopeOrg}, d, d, resource, action)
}

// decide answers one question from the key's decision cache, or from Casbin
// with the request domains dom and orgdom. Empty domains mean the workspace
// question of req, whose ids are validated first.
func (a *Authorizer) decide(keyID string, req decisionKey, dom, orgdom, resource, action string) bool {
	p := a.current.Load()
	ks := p.keys[keyID]
	if ks == nil {
		// Unknown or malformed (only valid ids are ever stored): the
		// enforcer has no assignment for it either.
		return false
	}
	if allowed, hit := ks.decisions.get(req); hit {
		return allowed // only validated ids are ever cached
	}
	// Checked after the cache to keep hits cheap, but before Casbin or the
	// cache ever see the ids.
	switch req.scope {
	case scopeWorkspace:
		if !validIDs(req.orgID, req.workspaceID) {
			return false
		}
		dom, orgdom = workspaceDomain(req.orgID, req.workspaceID), orgDomain(req.orgID)
	case scopeOrg:
		if !validIDs(req.orgID) {
			return false
		}
	}
	allowed, err := p.enforcer.Enforce(keyName(keyID), dom, orgdom, resource, action)
	if err != nil {
		return false // not cached: let the next request try again
	}
	if a.afterEvaluate != nil {
		a.afterEvaluate()
	}
	ks.decisions.put(req, allowed)
	return allowed
}
