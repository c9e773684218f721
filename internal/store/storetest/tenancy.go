package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/store"
)

var tenancyCases = []namedCase{
	{"Orgs", one(testOrgs)},
	{"Workspaces", one(testWorkspaces)},
	{"WorkspaceIDsArePerOrg", one(testWorkspaceIDsPerOrg)},
	{"DeleteOrgWithWorkspacesConflicts", one(testDeleteOrgWithWorkspaces)},
	{"KeyRoundTrip", one(testKeyRoundTrip)},
	{"CreateKeyErrors", one(testCreateKeyErrors)},
	{"ListKeysByTenant", one(testListKeysByTenant)},
	{"RotateKey", one(testRotateKey)},
	{"RevokeKey", one(testRevokeKey)},
	{"RevocationWinsOverAConcurrentRotation", one(testRevokeRotateRace)},
	{"StaticKeysRefuseAPIChanges", one(testStaticKeysRefuseAPIChanges)},
	{"DeleteWorkspaceWithLiveKeysConflicts", one(testDeleteWorkspaceWithLiveKeys)},
	{"ExpireKeys", one(testExpireKeys)},
	{"TouchKeys", one(testTouchKeys)},
	{"SyncStaticKeys", one(testSyncStaticKeys)},
	{"AuditRoundTripAndDuplicates", one(testAuditRoundTrip)},
	{"AuditCountsOnlyGrow", one(testAuditCounts)},
	{"AuditPagesFiltersAndTenants", one(testAuditPages)},
}

// tbase has microseconds, which every store keeps, and is in UTC.
var tbase = time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)

func at(d time.Duration) *time.Time {
	t := tbase.Add(d)
	return &t
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// seedWorkspace creates org o and workspace w in it.
func seedWorkspace(t *testing.T, s store.Store, o, w string) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.GetOrg(ctx, o); errors.Is(err, store.ErrNotFound) {
		mustNil(t, s.CreateOrg(ctx, store.Org{ID: o, Name: o, CreatedAt: tbase}))
	}
	mustNil(t, s.CreateWorkspace(ctx, store.Workspace{ID: w, OrgID: o, Name: w, CreatedAt: tbase}))
}

// newKey is an active API key in workspace w of org o, created at
// tbase+offset, with a token hash derived from its id.
func newKey(id, o, w string, offset time.Duration) store.GatewayKey {
	return store.GatewayKey{
		ID: id, OrgID: o, WorkspaceID: w, Name: "key " + id, Role: "developer",
		TokenHash: "hash-" + id, TokenLast4: "ab12", Status: store.KeyActive,
		CreatedBy: "cli", CreatedAt: tbase.Add(offset),
	}
}

func testOrgs(t *testing.T, s store.Store) {
	ctx := t.Context()
	orgs, err := s.ListOrgs(ctx)
	mustNil(t, err)
	if len(orgs) != 0 {
		t.Fatalf("new store lists orgs %v", orgs)
	}
	a := store.Org{ID: "org_a", Name: "A", CreatedAt: tbase}
	b := store.Org{ID: "org_b", Name: "B", CreatedAt: tbase.Add(time.Second)}
	mustNil(t, s.CreateOrg(ctx, b))
	mustNil(t, s.CreateOrg(ctx, a))
	wantErr(t, "CreateOrg duplicate", s.CreateOrg(ctx, store.Org{ID: "org_a", Name: "again", CreatedAt: tbase}), store.ErrConflict)

	got, err := s.GetOrg(ctx, "org_a")
	mustNil(t, err)
	if got != a {
		t.Errorf("GetOrg = %+v, want %+v", got, a)
	}
	_, err = s.GetOrg(ctx, "nope")
	wantErr(t, "GetOrg unknown", err, store.ErrNotFound)

	orgs, err = s.ListOrgs(ctx)
	mustNil(t, err)
	if !reflect.DeepEqual(orgs, []store.Org{a, b}) {
		t.Errorf("ListOrgs = %+v, want oldest first", orgs)
	}

	mustNil(t, s.RenameOrg(ctx, "org_a", "Alpha"))
	got, err = s.GetOrg(ctx, "org_a")
	mustNil(t, err)
	if got.Name != "Alpha" {
		t.Errorf("renamed org is %q", got.Name)
	}
	wantErr(t, "RenameOrg unknown", s.RenameOrg(ctx, "nope", "x"), store.ErrNotFound)

	mustNil(t, s.DeleteOrg(ctx, "org_a"))
	_, err = s.GetOrg(ctx, "org_a")
	wantErr(t, "GetOrg deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteOrg again", s.DeleteOrg(ctx, "org_a"), store.ErrNotFound)
}

func testWorkspaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustNil(t, s.CreateOrg(ctx, store.Org{ID: "o1", Name: "o1", CreatedAt: tbase}))
	mustNil(t, s.CreateOrg(ctx, store.Org{ID: "o2", Name: "o2", CreatedAt: tbase}))
	w1 := store.Workspace{ID: "w1", OrgID: "o1", Name: "one", CreatedAt: tbase}
	w2 := store.Workspace{ID: "w2", OrgID: "o1", Name: "two", CreatedAt: tbase.Add(time.Minute)}
	w3 := store.Workspace{ID: "w3", OrgID: "o2", Name: "three", CreatedAt: tbase}
	for _, w := range []store.Workspace{w2, w1, w3} {
		mustNil(t, s.CreateWorkspace(ctx, w))
	}
	wantErr(t, "CreateWorkspace duplicate", s.CreateWorkspace(ctx, store.Workspace{ID: "w1", OrgID: "o1", CreatedAt: tbase}), store.ErrConflict)
	wantErr(t, "CreateWorkspace without org", s.CreateWorkspace(ctx, store.Workspace{ID: "w9", OrgID: "nope", CreatedAt: tbase}), store.ErrNotFound)

	list, err := s.ListWorkspaces(ctx, "o1")
	mustNil(t, err)
	if !reflect.DeepEqual(list, []store.Workspace{w1, w2}) {
		t.Errorf("ListWorkspaces(o1) = %+v", list)
	}
	list, err = s.ListWorkspaces(ctx, "nope")
	mustNil(t, err)
	if len(list) != 0 {
		t.Errorf("ListWorkspaces(unknown) = %+v", list)
	}

	got, err := s.GetWorkspace(ctx, "o2", "w3")
	mustNil(t, err)
	if got != w3 {
		t.Errorf("GetWorkspace = %+v, want %+v", got, w3)
	}
	_, err = s.GetWorkspace(ctx, "o1", "nope")
	wantErr(t, "GetWorkspace unknown", err, store.ErrNotFound)
	_, err = s.GetWorkspace(ctx, "o1", "w3")
	wantErr(t, "GetWorkspace in another org", err, store.ErrNotFound)

	mustNil(t, s.RenameWorkspace(ctx, "o1", "w1", "uno"))
	got, err = s.GetWorkspace(ctx, "o1", "w1")
	mustNil(t, err)
	if got.Name != "uno" {
		t.Errorf("renamed workspace is %q", got.Name)
	}
	wantErr(t, "RenameWorkspace unknown", s.RenameWorkspace(ctx, "o1", "nope", "x"), store.ErrNotFound)
	wantErr(t, "RenameWorkspace in another org", s.RenameWorkspace(ctx, "o2", "w1", "x"), store.ErrNotFound)

	wantErr(t, "DeleteWorkspace in another org", s.DeleteWorkspace(ctx, "o2", "w1"), store.ErrNotFound)
	mustNil(t, s.DeleteWorkspace(ctx, "o1", "w1"))
	_, err = s.GetWorkspace(ctx, "o1", "w1")
	wantErr(t, "GetWorkspace deleted", err, store.ErrNotFound)
	wantErr(t, "DeleteWorkspace again", s.DeleteWorkspace(ctx, "o1", "w1"), store.ErrNotFound)
}

// testWorkspaceIDsPerOrg: two orgs each have a workspace of one id, and
// each keeps its own name, keys and lifecycle.
func testWorkspaceIDsPerOrg(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "oa", "shared")
	seedWorkspace(t, s, "ob", "shared") // not a conflict: another org
	wantErr(t, "same org, same id", s.CreateWorkspace(ctx, store.Workspace{ID: "shared", OrgID: "oa", CreatedAt: tbase}), store.ErrConflict)
	mustNil(t, s.RenameWorkspace(ctx, "oa", "shared", "A's"))
	for org, name := range map[string]string{"oa": "A's", "ob": "shared"} {
		w, err := s.GetWorkspace(ctx, org, "shared")
		mustNil(t, err)
		if w.OrgID != org || w.Name != name {
			t.Errorf("GetWorkspace(%s, shared) = %+v, want name %q", org, w, name)
		}
	}
	mustNil(t, s.CreateKey(ctx, newKey("ka", "oa", "shared", 0)))
	mustNil(t, s.CreateKey(ctx, newKey("kb", "ob", "shared", time.Second)))
	for org, want := range map[string]string{"oa": "ka", "ob": "kb"} {
		keys, err := s.ListKeys(ctx, store.Tenant{OrgID: org, WorkspaceID: "shared"})
		mustNil(t, err)
		if ids := keyIDs(keys); len(ids) != 1 || ids[0] != want {
			t.Errorf("keys of %s/shared = %v, want [%s]", org, ids, want)
		}
	}
	// A key must name its own org's workspace: oc has no "shared".
	mustNil(t, s.CreateOrg(ctx, store.Org{ID: "oc", Name: "oc", CreatedAt: tbase}))
	wantErr(t, "key in a workspace of another org", s.CreateKey(ctx, newKey("kc", "oc", "shared", 0)), store.ErrNotFound)

	// B's live key keeps only B's workspace alive.
	_, err := s.RevokeKey(ctx, "ka", tbase)
	mustNil(t, err)
	wantErr(t, "delete B's workspace with a live key", s.DeleteWorkspace(ctx, "ob", "shared"), store.ErrConflict)
	mustNil(t, s.DeleteWorkspace(ctx, "oa", "shared"))
	if _, err := s.GetKey(ctx, "ka"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("A's dead key outlived its workspace: %v", err)
	}
	if k, err := s.GetKey(ctx, "kb"); err != nil || k.Status != store.KeyActive {
		t.Errorf("B's key after A's workspace went: %+v, %v", k, err)
	}
	// Static keys may share a workspace id across orgs too.
	st := func(id, o string) store.GatewayKey {
		k := newKey(id, o, "cfg", 0)
		k.Static, k.CreatedBy = true, "config"
		return k
	}
	mustNil(t, s.SyncStaticKeys(ctx, []store.GatewayKey{st("sa", "oa"), st("sb", "ob")}))
	for _, org := range []string{"oa", "ob"} {
		if _, err := s.GetWorkspace(ctx, org, "cfg"); err != nil {
			t.Errorf("static key's workspace in %s: %v", org, err)
		}
	}
}

func testDeleteOrgWithWorkspaces(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	wantErr(t, "DeleteOrg with a workspace", s.DeleteOrg(ctx, "o"), store.ErrConflict)
	mustNil(t, s.DeleteWorkspace(ctx, "o", "w"))
	mustNil(t, s.DeleteOrg(ctx, "o"))
}

func testKeyRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	full := store.GatewayKey{
		ID: "k_full", OrgID: "o", WorkspaceID: "w", Name: "full", Role: "admin",
		Permissions: []string{"traces:read", "odd,name"},
		TokenHash:   "h_full", TokenLast4: "wxyz", Status: store.KeyRotating, Static: true,
		ExpiresAt:         at(48 * time.Hour),
		PreviousTokenHash: "h_prev", PreviousExpiresAt: at(time.Hour),
		CreatedBy: "key_admin", CreatedAt: tbase,
		RotatedAt: at(time.Minute), RevokedAt: at(2 * time.Minute), LastUsedAt: at(3 * time.Minute),
	}
	bare := newKey("k_bare", "o", "w", time.Second)
	mustNil(t, s.CreateKey(ctx, full))
	mustNil(t, s.CreateKey(ctx, bare))
	for _, want := range []store.GatewayKey{full, bare} {
		got, err := s.GetKey(ctx, want.ID)
		mustNil(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GetKey(%s)\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	_, err := s.GetKey(ctx, "nope")
	wantErr(t, "GetKey unknown", err, store.ErrNotFound)

	// AllKeys holds what can authenticate: active and rotating, not the rest.
	for i, st := range []store.KeyStatus{store.KeyRevoked, store.KeyExpired} {
		k := newKey(fmt.Sprintf("k_dead%d", i), "o", "w", 0)
		k.Status = st
		mustNil(t, s.CreateKey(ctx, k))
	}
	all, err := s.AllKeys(ctx)
	mustNil(t, err)
	if ids := keyIDs(all); !reflect.DeepEqual(ids, []string{"k_bare", "k_full"}) {
		t.Errorf("AllKeys = %v, want k_bare and k_full", ids)
	}
}

func keyIDs(keys []store.GatewayKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}

func testCreateKeyErrors(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	k := newKey("k1", "o", "w", 0)
	k.PreviousTokenHash = "h_old"
	mustNil(t, s.CreateKey(ctx, k))

	dupID := newKey("k1", "o", "w", 0)
	dupID.TokenHash = "other"
	wantErr(t, "duplicate id", s.CreateKey(ctx, dupID), store.ErrConflict)

	dupHash := newKey("k2", "o", "w", 0)
	dupHash.TokenHash = k.TokenHash
	wantErr(t, "duplicate token hash", s.CreateKey(ctx, dupHash), store.ErrConflict)

	prevHash := newKey("k3", "o", "w", 0)
	prevHash.TokenHash = "h_old"
	wantErr(t, "hash equal to another key's previous hash", s.CreateKey(ctx, prevHash), store.ErrConflict)

	wantErr(t, "unknown workspace", s.CreateKey(ctx, newKey("k4", "o", "nope", 0)), store.ErrNotFound)
}

func testListKeysByTenant(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o1", "w1")
	seedWorkspace(t, s, "o1", "w2")
	seedWorkspace(t, s, "o2", "w3")
	for _, k := range []store.GatewayKey{
		newKey("a", "o1", "w1", 1*time.Second),
		newKey("b", "o1", "w2", 2*time.Second),
		newKey("c", "o2", "w3", 3*time.Second),
		newKey("d", "o1", "w1", 4*time.Second),
	} {
		mustNil(t, s.CreateKey(ctx, k))
	}
	for _, c := range []struct {
		tenant store.Tenant
		want   []string
	}{
		{store.Tenant{}, []string{"d", "c", "b", "a"}},
		{store.Tenant{OrgID: "o1"}, []string{"d", "b", "a"}},
		{store.Tenant{OrgID: "o1", WorkspaceID: "w1"}, []string{"d", "a"}},
		{store.Tenant{OrgID: "o2", WorkspaceID: "w1"}, []string{}},
	} {
		keys, err := s.ListKeys(ctx, c.tenant)
		mustNil(t, err)
		if got := keyIDs(keys); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ListKeys(%+v) = %v, want %v", c.tenant, got, c.want)
		}
	}
}

func testRotateKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	mustNil(t, s.CreateKey(ctx, newKey("k", "o", "w", 0)))
	mustNil(t, s.CreateKey(ctx, newKey("other", "o", "w", 0)))

	got, err := s.RotateKey(ctx, "k", "hash-new", "9999", *at(time.Hour), *at(time.Minute))
	mustNil(t, err)
	want := newKey("k", "o", "w", 0)
	want.Status = store.KeyRotating
	want.PreviousTokenHash, want.PreviousExpiresAt = "hash-k", at(time.Hour)
	want.TokenHash, want.TokenLast4 = "hash-new", "9999"
	want.RotatedAt = at(time.Minute)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RotateKey\n got %+v\nwant %+v", got, want)
	}
	stored, err := s.GetKey(ctx, "k")
	mustNil(t, err)
	if !reflect.DeepEqual(stored, want) {
		t.Errorf("stored after rotation\n got %+v\nwant %+v", stored, want)
	}

	_, err = s.RotateKey(ctx, "nope", "x", "x", tbase, tbase)
	wantErr(t, "rotate unknown", err, store.ErrNotFound)
	_, err = s.RotateKey(ctx, "k", "hash-other", "x", tbase, tbase)
	wantErr(t, "rotate to another key's hash", err, store.ErrConflict)
	_, err = s.RotateKey(ctx, "other", "hash-k", "x", tbase, tbase)
	wantErr(t, "rotate to another key's previous hash", err, store.ErrConflict)

	for i, st := range []store.KeyStatus{store.KeyRevoked, store.KeyExpired} {
		k := newKey(fmt.Sprintf("dead%d", i), "o", "w", 0)
		k.Status = st
		mustNil(t, s.CreateKey(ctx, k))
		_, err := s.RotateKey(ctx, k.ID, fmt.Sprintf("fresh%d", i), "x", tbase, tbase)
		wantErr(t, "rotate "+string(st), err, store.ErrConflict)
	}

	// Past its expires_at, though no expiry job has marked it yet: refused
	// too, and left as it was.
	late := newKey("late", "o", "w", 0)
	late.ExpiresAt = at(time.Minute)
	mustNil(t, s.CreateKey(ctx, late))
	_, err = s.RotateKey(ctx, "late", "hash-late2", "x", *at(2 * time.Hour), *at(time.Minute))
	wantErr(t, "rotate at expires_at", err, store.ErrConflict)
	stored, err = s.GetKey(ctx, "late")
	mustNil(t, err)
	if !reflect.DeepEqual(stored, late) {
		t.Errorf("refused rotation changed the key: %+v", stored)
	}
}

// testRevokeRotateRace revokes and rotates keys at the same time: whichever
// lands first, a revoked key stays revoked (a rotation never revives it),
// and a rotation that lost says ErrConflict.
func testRevokeRotateRace(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	for i := range 20 {
		id := fmt.Sprintf("k%d", i)
		mustNil(t, s.CreateKey(ctx, newKey(id, "o", "w", 0)))
		var wg sync.WaitGroup
		var revokeErr, rotateErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, revokeErr = s.RevokeKey(ctx, id, tbase) }()
		go func() { defer wg.Done(); _, rotateErr = s.RotateKey(ctx, id, "hash2-"+id, "x", *at(time.Hour), tbase) }()
		wg.Wait()
		mustNil(t, revokeErr)
		if rotateErr != nil && !errors.Is(rotateErr, store.ErrConflict) {
			t.Fatalf("%s: rotation failed with %v, want nil or ErrConflict", id, rotateErr)
		}
		k, err := s.GetKey(ctx, id)
		mustNil(t, err)
		if k.Status != store.KeyRevoked {
			t.Fatalf("%s: status %s after a revocation raced a rotation (rotation error %v)", id, k.Status, rotateErr)
		}
	}
}

func testRevokeKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	mustNil(t, s.CreateKey(ctx, newKey("k", "o", "w", 0)))
	got, err := s.RevokeKey(ctx, "k", *at(time.Minute))
	mustNil(t, err)
	if got.Status != store.KeyRevoked || got.RevokedAt == nil || !got.RevokedAt.Equal(*at(time.Minute)) {
		t.Errorf("RevokeKey = %+v", got)
	}
	// Revoking again succeeds and keeps the first time.
	got, err = s.RevokeKey(ctx, "k", *at(time.Hour))
	mustNil(t, err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(*at(time.Minute)) {
		t.Errorf("second revocation moved revoked_at to %v", got.RevokedAt)
	}
	_, err = s.RevokeKey(ctx, "nope", tbase)
	wantErr(t, "revoke unknown", err, store.ErrNotFound)
	all, err := s.AllKeys(ctx)
	mustNil(t, err)
	if len(all) != 0 {
		t.Errorf("AllKeys after revocation = %v", keyIDs(all))
	}
}

func testStaticKeysRefuseAPIChanges(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	k := newKey("static", "o", "w", 0)
	k.Static = true
	mustNil(t, s.CreateKey(ctx, k))
	_, err := s.RotateKey(ctx, "static", "x", "x", tbase, tbase)
	wantErr(t, "rotate static", err, store.ErrConflict)
	_, err = s.RevokeKey(ctx, "static", tbase)
	wantErr(t, "revoke static", err, store.ErrConflict)
	got, err := s.GetKey(ctx, "static")
	mustNil(t, err)
	if !reflect.DeepEqual(got, k) {
		t.Errorf("static key changed: %+v", got)
	}
}

func testDeleteWorkspaceWithLiveKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	mustNil(t, s.CreateKey(ctx, newKey("live", "o", "w", 0)))
	mustNil(t, s.CreateKey(ctx, newKey("rot", "o", "w", 0)))
	_, err := s.RotateKey(ctx, "rot", "hash-rot2", "x", *at(time.Hour), tbase)
	mustNil(t, err)

	wantErr(t, "delete with active and rotating keys", s.DeleteWorkspace(ctx, "o", "w"), store.ErrConflict)
	_, err = s.RevokeKey(ctx, "live", tbase)
	mustNil(t, err)
	wantErr(t, "delete with a rotating key", s.DeleteWorkspace(ctx, "o", "w"), store.ErrConflict)
	_, err = s.RevokeKey(ctx, "rot", tbase)
	mustNil(t, err)

	// Only dead keys remain: the workspace goes, and its keys with it.
	mustNil(t, s.DeleteWorkspace(ctx, "o", "w"))
	keys, err := s.ListKeys(ctx, store.Tenant{})
	mustNil(t, err)
	if len(keys) != 0 {
		t.Errorf("keys left after their workspace was deleted: %v", keyIDs(keys))
	}
}

func testExpireKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	now := *at(time.Hour)

	past := newKey("past", "o", "w", 0)
	past.ExpiresAt = at(time.Minute)
	future := newKey("future", "o", "w", 0)
	future.ExpiresAt = at(2 * time.Hour)
	graceOver := newKey("grace_over", "o", "w", 0)
	graceOn := newKey("grace_on", "o", "w", 0)
	both := newKey("both", "o", "w", 0) // expired and grace over: counts once
	both.ExpiresAt = at(time.Minute)
	revoked := newKey("revoked", "o", "w", 0)
	revoked.Status = store.KeyRevoked
	revoked.ExpiresAt = at(time.Minute)
	for _, k := range []store.GatewayKey{past, future, graceOver, graceOn, both, revoked} {
		mustNil(t, s.CreateKey(ctx, k))
	}
	for id, grace := range map[string]time.Duration{"grace_over": 30 * time.Minute, "grace_on": 90 * time.Minute, "both": 30 * time.Minute} {
		_, err := s.RotateKey(ctx, id, "hash2-"+id, "x", *at(grace), tbase)
		mustNil(t, err)
	}

	n, err := s.ExpireKeys(ctx, now)
	mustNil(t, err)
	if n != 3 {
		t.Errorf("ExpireKeys changed %d keys, want 3", n)
	}
	for id, want := range map[string]store.KeyStatus{
		"past": store.KeyExpired, "future": store.KeyActive, "grace_over": store.KeyActive,
		"grace_on": store.KeyRotating, "both": store.KeyExpired, "revoked": store.KeyRevoked,
	} {
		k, err := s.GetKey(ctx, id)
		mustNil(t, err)
		if k.Status != want {
			t.Errorf("%s: status %s, want %s", id, k.Status, want)
		}
		ended := id == "grace_over" || id == "both"
		if ended && (k.PreviousTokenHash != "" || k.PreviousExpiresAt != nil) {
			t.Errorf("%s: previous token kept after its grace: %+v", id, k)
		}
	}
	n, err = s.ExpireKeys(ctx, now)
	mustNil(t, err)
	if n != 0 {
		t.Errorf("second ExpireKeys changed %d keys, want 0", n)
	}
}

func testTouchKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	seedWorkspace(t, s, "o", "w")
	mustNil(t, s.CreateKey(ctx, newKey("a", "o", "w", 0)))
	mustNil(t, s.CreateKey(ctx, newKey("b", "o", "w", 0)))
	mustNil(t, s.TouchKeys(ctx, nil))
	mustNil(t, s.TouchKeys(ctx, map[string]time.Time{"a": *at(time.Hour), "b": *at(time.Minute), "gone": tbase}))
	// An older time, flushed late, does not move last_used_at back.
	mustNil(t, s.TouchKeys(ctx, map[string]time.Time{"a": *at(time.Second), "b": *at(2 * time.Minute)}))
	for id, want := range map[string]time.Time{"a": *at(time.Hour), "b": *at(2 * time.Minute)} {
		k, err := s.GetKey(ctx, id)
		mustNil(t, err)
		if k.LastUsedAt == nil || !k.LastUsedAt.Equal(want) {
			t.Errorf("%s: last used %v, want %v", id, k.LastUsedAt, want)
		}
	}
}

func testSyncStaticKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	static := func(id, o, w string) store.GatewayKey {
		k := newKey(id, o, w, 0)
		k.Static, k.CreatedBy = true, "config"
		return k
	}
	a, b := static("s_a", "o_cfg", "w_cfg"), static("s_b", "o_cfg", "w_cfg2")
	b.Permissions = []string{"audit:read"}
	mustNil(t, s.SyncStaticKeys(ctx, []store.GatewayKey{a, b}))

	org, err := s.GetOrg(ctx, "o_cfg")
	mustNil(t, err)
	if org.Name != "o_cfg" {
		t.Errorf("created org named %q, want its id", org.Name)
	}
	ws, err := s.GetWorkspace(ctx, "o_cfg", "w_cfg2")
	mustNil(t, err)
	if ws.OrgID != "o_cfg" || ws.Name != "w_cfg2" {
		t.Errorf("created workspace %+v", ws)
	}
	for _, want := range []store.GatewayKey{a, b} {
		got, err := s.GetKey(ctx, want.ID)
		mustNil(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("static key\n got %+v\nwant %+v", got, want)
		}
	}

	// An API key alongside is never touched by a sync.
	seedWorkspace(t, s, "o_api", "w_api")
	mustNil(t, s.CreateKey(ctx, newKey("api", "o_api", "w_api", 0)))

	// b leaves the config and a changes its token: b is revoked, a updated.
	a.TokenHash, a.Name = "hash-a2", "renamed"
	mustNil(t, s.SyncStaticKeys(ctx, []store.GatewayKey{a}))
	got, err := s.GetKey(ctx, "s_a")
	mustNil(t, err)
	if got.TokenHash != "hash-a2" || got.Name != "renamed" || got.Status != store.KeyActive {
		t.Errorf("updated static key = %+v", got)
	}
	got, err = s.GetKey(ctx, "s_b")
	mustNil(t, err)
	if got.Status != store.KeyRevoked || got.RevokedAt == nil {
		t.Errorf("static key dropped from config = %+v, want revoked", got)
	}
	api, err := s.GetKey(ctx, "api")
	mustNil(t, err)
	if api.Status != store.KeyActive {
		t.Errorf("API key status %s after sync", api.Status)
	}

	// b comes back: it is active again.
	mustNil(t, s.SyncStaticKeys(ctx, []store.GatewayKey{a, b}))
	got, err = s.GetKey(ctx, "s_b")
	mustNil(t, err)
	if got.Status != store.KeyActive || got.RevokedAt != nil {
		t.Errorf("re-listed static key = %+v, want active", got)
	}

	// Config may not take over an API key's id, nor reuse a token hash; a
	// failed sync changes nothing.
	wantErr(t, "static key with an API key's id", s.SyncStaticKeys(ctx, []store.GatewayKey{static("api", "o_api", "w_api")}), store.ErrConflict)
	clash := static("s_c", "o_cfg", "w_cfg")
	clash.TokenHash = "hash-api"
	wantErr(t, "static key with a used hash", s.SyncStaticKeys(ctx, []store.GatewayKey{clash}), store.ErrConflict)
	all, err := s.AllKeys(ctx)
	mustNil(t, err)
	if ids := keyIDs(all); !reflect.DeepEqual(ids, []string{"api", "s_a", "s_b"}) {
		t.Errorf("AllKeys after failed syncs = %v", ids)
	}

	// An empty config revokes every static key.
	mustNil(t, s.SyncStaticKeys(ctx, nil))
	all, err = s.AllKeys(ctx)
	mustNil(t, err)
	if ids := keyIDs(all); !reflect.DeepEqual(ids, []string{"api"}) {
		t.Errorf("AllKeys after empty sync = %v", ids)
	}
}

func auditEvent(id string, offset time.Duration, o, w, action string) store.AuditEvent {
	return store.AuditEvent{
		ID: id, Time: tbase.Add(offset), OrgID: o, WorkspaceID: w,
		ActorKeyID: "key_actor", Action: action, Target: "gateway_key:" + id,
		Outcome: "ok", Reason: "because", ClientIP: "10.0.0.1", RequestID: "req-" + id,
	}
}

func testAuditRoundTrip(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustNil(t, s.InsertAudit(ctx, nil))
	e := auditEvent("e1", 0, "o", "w", "key.create")
	bare := store.AuditEvent{ID: "e0", Time: tbase.Add(-time.Second), Action: "auth.deny"}
	mustNil(t, s.InsertAudit(ctx, []store.AuditEvent{e, bare, e}))
	// A retried batch is ignored.
	retry := e
	retry.Reason = "changed"
	mustNil(t, s.InsertAudit(ctx, []store.AuditEvent{retry}))

	got, next, err := s.ListAudit(ctx, store.AuditFilter{})
	mustNil(t, err)
	if next != nil {
		t.Errorf("single page has cursor %+v", next)
	}
	e.Count, bare.Count = 1, 1 // an event without a count counts once
	if !reflect.DeepEqual(got, []store.AuditEvent{e, bare}) {
		t.Errorf("ListAudit\n got %+v\nwant %+v", got, []store.AuditEvent{e, bare})
	}
}

// testAuditCounts: an aggregated event is written again as its count
// grows; the largest count wins, whether it comes later, earlier (a
// retried older batch) or twice in one batch, and nothing else changes.
func testAuditCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	agg := auditEvent("agg", 0, "", "", "auth.deny")
	agg.Count = 1
	mustNil(t, s.InsertAudit(ctx, []store.AuditEvent{agg}))
	grown, more := agg, agg
	grown.Count, more.Count = 5, 3
	mustNil(t, s.InsertAudit(ctx, []store.AuditEvent{grown, more}))
	stale := agg
	stale.Count, stale.Reason = 2, "a retried older write"
	mustNil(t, s.InsertAudit(ctx, []store.AuditEvent{stale}))
	got, _, err := s.ListAudit(ctx, store.AuditFilter{})
	mustNil(t, err)
	if !reflect.DeepEqual(got, []store.AuditEvent{grown}) {
		t.Errorf("ListAudit\n got %+v\nwant %+v", got, []store.AuditEvent{grown})
	}
}

func testAuditPages(t *testing.T, s store.Store) {
	ctx := t.Context()
	var batch []store.AuditEvent
	for i := range 10 {
		// Pairs share a time, so pages must break ties by id.
		w := "w1"
		if i%3 == 0 {
			w = "w2"
		}
		action := "auth.deny"
		if i%2 == 0 {
			action = "key.create"
		}
		batch = append(batch, auditEvent(fmt.Sprintf("e%02d", i), time.Duration(i/2)*time.Second, "o1", w, action))
	}
	batch = append(batch, auditEvent("x", 3*time.Second, "o2", "w9", "key.create"))
	mustNil(t, s.InsertAudit(ctx, batch))

	collect := func(f store.AuditFilter) []string {
		t.Helper()
		var ids []string
		for range 20 {
			page, next, err := s.ListAudit(ctx, f)
			mustNil(t, err)
			if len(page) > max(f.Limit, 1) && f.Limit > 0 {
				t.Fatalf("page of %d, limit %d", len(page), f.Limit)
			}
			for _, e := range page {
				ids = append(ids, e.ID)
			}
			if next == nil {
				return ids
			}
			f.Cursor = next
		}
		t.Fatal("pages never end")
		return nil
	}
	for _, c := range []struct {
		name string
		f    store.AuditFilter
		want []string
	}{
		{"all, pages of 3", store.AuditFilter{Limit: 3},
			[]string{"e09", "e08", "x", "e07", "e06", "e05", "e04", "e03", "e02", "e01", "e00"}},
		{"org", store.AuditFilter{Tenant: store.Tenant{OrgID: "o1"}, Limit: 4},
			[]string{"e09", "e08", "e07", "e06", "e05", "e04", "e03", "e02", "e01", "e00"}},
		{"workspace", store.AuditFilter{Tenant: store.Tenant{OrgID: "o1", WorkspaceID: "w2"}, Limit: 1},
			[]string{"e09", "e06", "e03", "e00"}},
		{"other org's workspace", store.AuditFilter{Tenant: store.Tenant{OrgID: "o2", WorkspaceID: "w1"}}, nil},
		{"action", store.AuditFilter{Action: "key.create", Tenant: store.Tenant{OrgID: "o1"}, Limit: 2},
			[]string{"e08", "e06", "e04", "e02", "e00"}},
		{"time range", store.AuditFilter{From: tbase.Add(time.Second), To: tbase.Add(3 * time.Second), Limit: 2},
			[]string{"e05", "e04", "e03", "e02"}},
	} {
		if got := collect(c.f); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
