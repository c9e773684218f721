package rbac_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ongoingai/gateway/internal/rbac"
)

func newAuthorizer(t testing.TB, subjects ...rbac.Subject) *rbac.Authorizer {
	t.Helper()
	a, err := rbac.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := a.ReplaceAll(subjects); err != nil {
		t.Fatalf("ReplaceAll(%+v): %v", subjects, err)
	}
	return a
}

// allow asks about a permission written "resource:action".
func allow(a *rbac.Authorizer, keyID, orgID, workspaceID, perm string) bool {
	resource, action, _ := strings.Cut(perm, ":")
	return a.Allow(keyID, orgID, workspaceID, resource, action)
}

func TestNewAuthorizerAllowsNothing(t *testing.T) {
	a := newAuthorizer(t)
	for _, p := range allPermissions {
		if allow(a, "k", "o", "w", p) {
			t.Errorf("empty authorizer allowed %s", p)
		}
	}
}

// TestRolePermissionMatrix checks every role against every permission in
// the key's own workspace, in a sibling workspace of the same organization
// (owner only) and in another organization (never).
func TestRolePermissionMatrix(t *testing.T) {
	for _, role := range rbac.Roles {
		t.Run(role, func(t *testing.T) {
			a := newAuthorizer(t,
				rbac.Subject{KeyID: "k", OrgID: "acme", WorkspaceID: "prod", Role: role},
				// A neighbour gives the other organization real assignments.
				rbac.Subject{KeyID: "other", OrgID: "globex", WorkspaceID: "prod", Role: rbac.RoleOwner},
			)
			for _, p := range allPermissions {
				want := slices.Contains(wantRolePermissions[role], p)
				if got := allow(a, "k", "acme", "prod", p); got != want {
					t.Errorf("own workspace, %s: got %v, want %v", p, got, want)
				}
				wantSibling := want && role == rbac.RoleOwner
				if got := allow(a, "k", "acme", "staging", p); got != wantSibling {
					t.Errorf("sibling workspace, %s: got %v, want %v", p, got, wantSibling)
				}
				for _, ws := range []string{"prod", "staging"} {
					if allow(a, "k", "globex", ws, p) {
						t.Errorf("other organization, workspace %s, %s: allowed", ws, p)
					}
				}
			}
		})
	}
}

// TestOwnerIsConfinedToItsOrganization uses ids that defeat prefix or
// pattern matching: "5" is a prefix of "55", and the others contain
// characters that are special to Casbin, govaluate or its cache keys.
func TestOwnerIsConfinedToItsOrganization(t *testing.T) {
	orgs := []string{"5", "55", "5_", "5.", "50", "org", "ws", "key", "role", "perm",
		`a"b`, "a'b", "a$$b", "a$", "a\\b", "%2F", "..", "ö", "a,b", "a(b)", "a&&b", "a||b"}
	var subjects []rbac.Subject
	for _, org := range orgs {
		subjects = append(subjects, rbac.Subject{KeyID: "owner-" + org, OrgID: org, WorkspaceID: "w", Role: rbac.RoleOwner})
	}
	a := newAuthorizer(t, subjects...)
	for _, org := range orgs {
		for _, target := range orgs {
			for _, ws := range []string{"w", "x", "5", "*"} {
				want := org == target && ws != "*"
				if got := a.Allow("owner-"+org, target, ws, "keys", "manage"); got != want {
					t.Errorf("owner of %q in org %q workspace %q: got %v, want %v", org, target, ws, got, want)
				}
			}
		}
	}
}

func TestWorkspaceRolesAreConfinedToTheirWorkspace(t *testing.T) {
	workspaces := []string{"5", "55", "5_", `a"b`, "a$$b", "ö"}
	var subjects []rbac.Subject
	for _, ws := range workspaces {
		subjects = append(subjects, rbac.Subject{KeyID: "admin-" + ws, OrgID: "o", WorkspaceID: ws, Role: rbac.RoleAdmin})
	}
	a := newAuthorizer(t, subjects...)
	for _, ws := range workspaces {
		for _, target := range workspaces {
			if got := a.Allow("admin-"+ws, "o", target, "keys", "manage"); got != (ws == target) {
				t.Errorf("admin of %q in workspace %q: got %v", ws, target, got)
			}
		}
	}
}

// TestIDSyntaxCannotReachAnotherTenant tries to smuggle domain syntax
// through Allow's ids: all of it is rejected, never interpreted.
func TestIDSyntaxCannotReachAnotherTenant(t *testing.T) {
	a := newAuthorizer(t,
		rbac.Subject{KeyID: "owner5", OrgID: "5", WorkspaceID: "w", Role: rbac.RoleOwner},
		rbac.Subject{KeyID: "admin5", OrgID: "5", WorkspaceID: "w", Role: rbac.RoleAdmin},
	)
	attempts := [][2]string{ // org, workspace
		{"5", "*"}, {"*", "w"}, {"5/*", "w"}, {"5", "w/*"}, {"5/ws:w", "w"}, {"5", "ws:w"},
		{"org:5", "w"}, {"5", ""}, {"", "w"}, {"5 ", "w"}, {"5", "w "}, {"5\n", "w"}, {"5", "w\x00"},
		{"5", "\xffw"}, {"55", "w"}, {"5", "w/ws:x"},
	}
	for _, at := range attempts {
		for _, key := range []string{"owner5", "admin5"} {
			if a.Allow(key, at[0], at[1], "keys", "manage") {
				t.Errorf("%s allowed in org %q workspace %q", key, at[0], at[1])
			}
		}
	}
}

func TestAllowDeniesUnknownAndEmptyInput(t *testing.T) {
	a := newAuthorizer(t, rbac.Subject{KeyID: "k", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleOwner})
	if !a.Allow("k", "o", "w", "proxy", "write") {
		t.Fatal("owner denied proxy:write; the cases below would prove nothing")
	}
	cases := [][5]string{
		{"", "o", "w", "proxy", "write"},
		{"unknown", "o", "w", "proxy", "write"},
		{"K", "o", "w", "proxy", "write"},
		{"k", "", "w", "proxy", "write"},
		{"k", "o", "", "proxy", "write"},
		{"k", "o", "w", "", "write"},
		{"k", "o", "w", "proxy", ""},
		{"k", "o", "w", "", ""},
		{"k", "o", "w", "*", "*"},
		{"k", "o", "w", "proxy", "*"},
		{"k", "o", "w", "Proxy", "write"},
		{"k", "o", "w", "proxy", "read"},
		{"k", "o", "w", "billing", "read"},
		{"k", "o", "w", "proxy:write", ""},
		{"k:x", "o", "w", "proxy", "write"},
		{strings.Repeat("k", 257), "o", "w", "proxy", "write"},
	}
	for _, c := range cases {
		if a.Allow(c[0], c[1], c[2], c[3], c[4]) {
			t.Errorf("Allow%q = true", c)
		}
	}
}

func TestReplaceAllRejectsInvalidSubjects(t *testing.T) {
	valid := rbac.Subject{KeyID: "k", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleAdmin}
	badIDs := []string{"", "a/b", "a*", "*", "a:b", "a b", " a", "a\t", "a\n", "a\x00", "a\x7f", "\xff", "a\u00a0b", strings.Repeat("x", 257)}
	var cases []rbac.Subject
	for _, id := range badIDs {
		s := valid
		s.KeyID = id
		cases = append(cases, s)
		s = valid
		s.OrgID = id
		cases = append(cases, s)
		s = valid
		s.WorkspaceID = id
		cases = append(cases, s)
	}
	for _, role := range []string{"", "root", "Owner", "role:owner", "*"} {
		s := valid
		s.Role = role
		cases = append(cases, s)
	}
	for _, p := range []string{"", "*", "keys:*", "keys", "Keys:Manage", "billing:read"} {
		s := valid
		s.Permissions = []string{rbac.PermAuditRead, p}
		cases = append(cases, s)
	}
	a := newAuthorizer(t)
	for _, s := range cases {
		err := a.ReplaceAll([]rbac.Subject{s})
		if !errors.Is(err, rbac.ErrInvalidSubject) {
			t.Errorf("ReplaceAll(%+v) = %v, want ErrInvalidSubject", s, err)
		}
		if a.Allow(s.KeyID, s.OrgID, s.WorkspaceID, "analytics", "read") {
			t.Errorf("rejected subject %+v is allowed", s)
		}
	}
	// 256 bytes is still fine.
	long := valid
	long.WorkspaceID = strings.Repeat("w", 256)
	if err := a.ReplaceAll([]rbac.Subject{long}); err != nil {
		t.Fatalf("ReplaceAll with a 256-byte id: %v", err)
	}
	if !a.Allow("k", "o", long.WorkspaceID, "keys", "manage") {
		t.Error("256-byte workspace id denied")
	}
}

func TestExtraPermissionsAreAdditiveAndScopedToTheKeysWorkspace(t *testing.T) {
	a := newAuthorizer(t,
		rbac.Subject{KeyID: "v", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer,
			Permissions: []string{rbac.PermKeysManage, rbac.PermAuditRead, rbac.PermKeysManage}},
		rbac.Subject{KeyID: "d", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleDeveloper,
			Permissions: []string{rbac.PermWorkspacesManage}},
		rbac.Subject{KeyID: "own", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleOwner,
			Permissions: []string{rbac.PermProxyWrite}},
	)
	want := map[string][]string{
		"v":   {"analytics:read", "keys:manage", "audit:read"},
		"d":   {"proxy:write", "analytics:read", "workspaces:manage"},
		"own": allPermissions,
	}
	for key, perms := range want {
		for _, p := range allPermissions {
			if got := allow(a, key, "o", "w", p); got != slices.Contains(perms, p) {
				t.Errorf("%s in its workspace, %s: got %v", key, p, got)
			}
		}
	}
	for _, key := range []string{"v", "d"} {
		for _, p := range allPermissions {
			if allow(a, key, "o", "w2", p) {
				t.Errorf("%s in a sibling workspace: %s allowed", key, p)
			}
			if allow(a, key, "o2", "w", p) {
				t.Errorf("%s in another organization: %s allowed", key, p)
			}
		}
	}
	// An owner's extras live in its own workspace, but its role already
	// covers the rest of the organization.
	if !allow(a, "own", "o", "w2", "proxy:write") || allow(a, "own", "o2", "w", "proxy:write") {
		t.Error("owner with extras has the wrong reach")
	}
}

func TestChangesTakeEffectImmediately(t *testing.T) {
	steps := []struct {
		name     string
		from, to rbac.Subject
		org, ws  string
		perm     string
	}{
		{"admin downgraded to viewer", sub("admin", "o", "w"), sub("viewer", "o", "w"), "o", "w", "keys:manage"},
		{"owner downgraded to admin leaves other workspaces", sub("owner", "o", "w"), sub("admin", "o", "w"), "o", "w2", "proxy:write"},
		{"owner downgraded to admin loses workspaces:manage", sub("owner", "o", "w"), sub("admin", "o", "w"), "o", "w", "workspaces:manage"},
		{"key moved to another workspace", sub("admin", "o", "w"), sub("admin", "o", "w2"), "o", "w", "proxy:write"},
		{"key moved to another organization", sub("owner", "o", "w"), sub("owner", "o2", "w"), "o", "w", "proxy:write"},
		{"extra permission withdrawn", sub("viewer", "o", "w", "keys:manage"), sub("viewer", "o", "w"), "o", "w", "keys:manage"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			a := newAuthorizer(t, st.from)
			// Ask twice so the second answer comes from the cache.
			for range 2 {
				if !allow(a, "k", st.org, st.ws, st.perm) {
					t.Fatalf("before: %s denied", st.perm)
				}
			}
			if err := a.ReplaceAll([]rbac.Subject{st.to}); err != nil {
				t.Fatal(err)
			}
			if allow(a, "k", st.org, st.ws, st.perm) {
				t.Errorf("after: %s still allowed", st.perm)
			}
		})
	}
}

func TestUpgradeTakesEffectImmediately(t *testing.T) {
	a := newAuthorizer(t, sub("viewer", "o", "w"))
	if allow(a, "k", "o", "w", "keys:manage") {
		t.Fatal("viewer allowed keys:manage")
	}
	if err := a.ReplaceAll([]rbac.Subject{sub("admin", "o", "w")}); err != nil {
		t.Fatal(err)
	}
	if !allow(a, "k", "o", "w", "keys:manage") {
		t.Error("a cached denial outlived the upgrade")
	}
}

func TestReplaceAllIgnoresPermissionOrderAndTheCallersSlice(t *testing.T) {
	perms := []string{rbac.PermAuditRead, rbac.PermKeysManage}
	a := newAuthorizer(t, sub("viewer", "o", "w", perms...))
	perms[0] = rbac.PermWorkspacesManage // the caller reuses its slice
	if allow(a, "k", "o", "w", "workspaces:manage") || !allow(a, "k", "o", "w", "audit:read") {
		t.Fatal("the authorizer kept a reference to the caller's slice")
	}
	if err := a.ReplaceAll([]rbac.Subject{sub("viewer", "o", "w", rbac.PermKeysManage, rbac.PermAuditRead)}); err != nil {
		t.Fatal(err)
	}
	if !allow(a, "k", "o", "w", "keys:manage") || !allow(a, "k", "o", "w", "audit:read") {
		t.Error("same permissions in another order changed the decisions")
	}
}

func TestRemoveDeniesImmediately(t *testing.T) {
	a := newAuthorizer(t, sub("owner", "o", "w"), rbac.Subject{KeyID: "stay", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer})
	for range 2 {
		if !allow(a, "k", "o", "w", "proxy:write") {
			t.Fatal("owner denied")
		}
	}
	a.Remove("k")
	for _, p := range allPermissions {
		for _, ws := range []string{"w", "w2"} {
			if allow(a, "k", "o", ws, p) {
				t.Errorf("removed key still allowed %s in %s", p, ws)
			}
		}
	}
	if !allow(a, "stay", "o", "w", "analytics:read") {
		t.Error("removing one key affected another")
	}
	a.Remove("k")       // twice: no-op
	a.Remove("unknown") // never known: no-op
	a.Remove("")        // invalid: no-op
	if err := a.ReplaceAll([]rbac.Subject{sub("viewer", "o", "w"), {KeyID: "stay", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	if !allow(a, "k", "o", "w", "analytics:read") || allow(a, "k", "o", "w", "proxy:write") {
		t.Error("re-added key has the wrong permissions")
	}
}

func TestReplaceAll(t *testing.T) {
	a := newAuthorizer(t,
		rbac.Subject{KeyID: "gone", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleOwner},
		rbac.Subject{KeyID: "down", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleAdmin},
		rbac.Subject{KeyID: "same", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleDeveloper},
	)
	for _, k := range []string{"gone", "down", "same"} {
		if !allow(a, k, "o", "w", "proxy:write") {
			t.Fatalf("%s denied before the reload", k)
		}
	}
	err := a.ReplaceAll([]rbac.Subject{
		{KeyID: "down", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer},
		{KeyID: "same", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleDeveloper},
		{KeyID: "new", OrgID: "o2", WorkspaceID: "w", Role: rbac.RoleOwner},
	})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		key, org, ws, perm string
		want               bool
	}{
		{"gone", "o", "w", "proxy:write", false},
		{"down", "o", "w", "proxy:write", false},
		{"down", "o", "w", "analytics:read", true},
		{"same", "o", "w", "proxy:write", true},
		{"same", "o", "w", "keys:manage", false},
		{"new", "o2", "any", "workspaces:manage", true},
		{"new", "o", "w", "proxy:write", false},
	}
	for _, c := range checks {
		if got := allow(a, c.key, c.org, c.ws, c.perm); got != c.want {
			t.Errorf("after reload, %s %s in %s/%s: got %v, want %v", c.key, c.perm, c.org, c.ws, got, c.want)
		}
	}

	// Removing one key keeps working on the reloaded policy.
	a.Remove("same")
	if allow(a, "same", "o", "w", "analytics:read") || !allow(a, "down", "o", "w", "analytics:read") {
		t.Error("Remove after ReplaceAll did not withdraw exactly its key")
	}

	if err := a.ReplaceAll(nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"down", "same", "new"} {
		if allow(a, k, "o", "w", "analytics:read") || allow(a, k, "o2", "w", "analytics:read") {
			t.Errorf("%s allowed after reloading an empty set", k)
		}
	}
}

func TestReplaceAllRejectsBadInputAndKeepsThePolicy(t *testing.T) {
	a := newAuthorizer(t, rbac.Subject{KeyID: "k", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleAdmin})
	bad := map[string][]rbac.Subject{
		"invalid role": {
			{KeyID: "x", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer},
			{KeyID: "y", OrgID: "o", WorkspaceID: "w", Role: "root"},
		},
		"invalid id": {{KeyID: "x", OrgID: "o/*", WorkspaceID: "w", Role: rbac.RoleViewer}},
		"duplicate key": {
			{KeyID: "x", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer},
			{KeyID: "x", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleOwner},
		},
	}
	for name, subjects := range bad {
		if err := a.ReplaceAll(subjects); !errors.Is(err, rbac.ErrInvalidSubject) {
			t.Errorf("%s: ReplaceAll = %v, want ErrInvalidSubject", name, err)
		}
		if !allow(a, "k", "o", "w", "keys:manage") {
			t.Errorf("%s: the old policy was lost", name)
		}
		if allow(a, "x", "o", "w", "analytics:read") {
			t.Errorf("%s: part of a rejected reload was applied", name)
		}
	}
}

// TestConcurrentDecisionsDuringChanges runs decisions while another
// goroutine upserts, removes and reloads. Run it with -race. The invariants:
// a key present in every version of the policy is never denied, a key is
// never allowed more than its broadest version grants, nothing is ever
// allowed across organizations, and each change holds as soon as it returns
// even while readers are filling caches with decisions about the old version.
func TestConcurrentDecisionsDuringChanges(t *testing.T) {
	stable := rbac.Subject{KeyID: "stable", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleAdmin}
	// "flap" is at most an admin in o/w: never workspaces:manage, never
	// anything outside o/w.
	flapVersions := []struct {
		subject           rbac.Subject
		keysManage, audit bool
	}{
		{rbac.Subject{KeyID: "flap", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleViewer}, false, false},
		{rbac.Subject{KeyID: "flap", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleAdmin}, true, true},
		{rbac.Subject{KeyID: "flap", OrgID: "o", WorkspaceID: "w", Role: rbac.RoleDeveloper, Permissions: []string{rbac.PermAuditRead}}, false, true},
	}
	var filler []rbac.Subject
	for i := range 100 {
		filler = append(filler, rbac.Subject{KeyID: fmt.Sprintf("f%d", i), OrgID: fmt.Sprintf("o%d", i%7), WorkspaceID: "w", Role: rbac.Roles[i%len(rbac.Roles)]})
	}
	a := newAuthorizer(t, append([]rbac.Subject{stable, flapVersions[0].subject}, filler...)...)

	var done atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !done.Load() {
				switch {
				case !a.Allow("stable", "o", "w", "keys", "manage"):
					t.Error("stable key denied during a change")
				case a.Allow("stable", "o2", "w", "analytics", "read"), a.Allow("stable", "o", "w2", "analytics", "read"):
					t.Error("stable key allowed outside its workspace")
				case a.Allow("flap", "o", "w", "workspaces", "manage"), a.Allow("flap", "o", "w2", "analytics", "read"),
					a.Allow("flap", "o2", "w", "analytics", "read"):
					t.Error("flapping key allowed beyond its broadest grant")
				default:
					// Either answer is right here; asking fills the caches
					// the writer's checks must not be fooled by.
					a.Allow("flap", "o", "w", "keys", "manage")
					a.Allow("flap", "o", "w", "audit", "read")
					continue
				}
				return
			}
		})
	}
	defer func() {
		done.Store(true)
		wg.Wait()
	}()
	for i := range 160 {
		v := flapVersions[i%len(flapVersions)]
		wantKeys, wantAudit := v.keysManage, v.audit
		var err error
		switch i % 4 {
		case 0, 1:
			err = a.ReplaceAll([]rbac.Subject{stable, v.subject})
		case 2:
			a.Remove("flap")
			wantKeys, wantAudit = false, false
		case 3:
			err = a.ReplaceAll(append([]rbac.Subject{stable, v.subject}, filler[i%len(filler):]...))
		}
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Allow("flap", "o", "w", "keys", "manage"); got != wantKeys {
			t.Fatalf("step %d: keys:manage = %v right after the change, want %v", i, got, wantKeys)
		}
		if got := a.Allow("flap", "o", "w", "audit", "read"); got != wantAudit {
			t.Fatalf("step %d: audit:read = %v right after the change, want %v", i, got, wantAudit)
		}
	}
}

// sub builds key "k" with a role and optional extra permissions.
func sub(role, org, ws string, perms ...string) rbac.Subject {
	return rbac.Subject{KeyID: "k", OrgID: org, WorkspaceID: ws, Role: role, Permissions: perms}
}

// TestInstallationPermissionIsNoTenantsAndNoTenantRoleHoldsIt: installation
// access (the gateway's own diagnostics and metrics) is held by an operator
// or a key given it as an extra, wherever the question names, and by no
// tenant role, an owner's included; an operator reads no tenant data.
func TestInstallationPermissionIsNoTenantsAndNoTenantRoleHoldsIt(t *testing.T) {
	subjects := []rbac.Subject{
		{KeyID: "op", OrgID: "ops", WorkspaceID: "ops", Role: rbac.RoleOperator},
		{KeyID: "admin-op", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleAdmin, Permissions: []string{rbac.PermInstallationRead}},
		{KeyID: "op-reader", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleOperator, Permissions: []string{rbac.PermAnalyticsRead}},
	}
	for _, role := range []string{rbac.RoleOwner, rbac.RoleAdmin, rbac.RoleDeveloper, rbac.RoleMember, rbac.RoleViewer} {
		subjects = append(subjects, rbac.Subject{KeyID: role, OrgID: "acme", WorkspaceID: "prod", Role: role})
	}
	a := newAuthorizer(t, subjects...)
	for _, where := range [][2]string{{"acme", "prod"}, {"ops", "ops"}, {"globex", "main"}, {"", ""}, {"*", "*"}} {
		for _, key := range []string{"op", "admin-op", "op-reader"} {
			if !allow(a, key, where[0], where[1], rbac.PermInstallationRead) {
				t.Errorf("%s, asked in %q/%q: installation:read denied", key, where[0], where[1])
			}
		}
		for _, role := range []string{rbac.RoleOwner, rbac.RoleAdmin, rbac.RoleDeveloper, rbac.RoleMember, rbac.RoleViewer} {
			if allow(a, role, where[0], where[1], rbac.PermInstallationRead) {
				t.Errorf("%s, asked in %q/%q: installation:read allowed", role, where[0], where[1])
			}
		}
	}
	for _, p := range allPermissions {
		for _, ws := range []string{"ops", "prod"} {
			if allow(a, "op", "ops", ws, p) || allow(a, "op", "acme", ws, p) {
				t.Errorf("operator holds tenant permission %s", p)
			}
		}
		res, act, _ := strings.Cut(p, ":")
		if a.AllowOrgWide("op", "ops", res, act) {
			t.Errorf("operator holds %s organization-wide", p)
		}
	}
	// Extra permissions still hold in the operator key's own workspace.
	if !allow(a, "op-reader", "acme", "prod", rbac.PermAnalyticsRead) || allow(a, "op-reader", "acme", "staging", rbac.PermAnalyticsRead) {
		t.Error("an operator's extra analytics:read does not hold exactly in its own workspace")
	}
	// An extra installation:read adds nothing else.
	if allow(a, "admin-op", "acme", "prod", rbac.PermWorkspacesManage) || !allow(a, "admin-op", "acme", "prod", rbac.PermKeysManage) {
		t.Error("an extra installation:read changed the admin's tenant permissions")
	}
	if a.AllowOrgWide("op", "", "installation", "read") {
		t.Error("AllowOrgWide answers for an installation permission")
	}
}

// TestAllowOrgWideIsAnOrganizationWideRoleOnly: only a role held across the
// organization answers yes; a workspace role or an extra permission, which
// hold in one workspace, never do, and the org-wide answer is never served
// for a workspace question (or the reverse) from the cache.
func TestAllowOrgWideIsAnOrganizationWideRoleOnly(t *testing.T) {
	a := newAuthorizer(t,
		rbac.Subject{KeyID: "owner", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleOwner},
		rbac.Subject{KeyID: "admin", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleAdmin, Permissions: []string{rbac.PermWorkspacesManage}},
		rbac.Subject{KeyID: "viewer", OrgID: "acme", WorkspaceID: "prod", Role: rbac.RoleViewer},
	)
	for _, p := range allPermissions {
		res, act, _ := strings.Cut(p, ":")
		for range 2 { // the second round answers from the cache
			if !a.AllowOrgWide("owner", "acme", res, act) {
				t.Errorf("owner: %s not held organization-wide", p)
			}
			for _, org := range []string{"globex", "", "*", "acme/ws:prod"} {
				if a.AllowOrgWide("owner", org, res, act) {
					t.Errorf("owner of acme: %s held across org %q", p, org)
				}
			}
			for _, key := range []string{"admin", "viewer", "nobody"} {
				if a.AllowOrgWide(key, "acme", res, act) {
					t.Errorf("%s: %s held organization-wide", key, p)
				}
			}
			// The empty and the wildcard workspace are not "every workspace".
			for _, ws := range []string{"", "*"} {
				if a.Allow("owner", "acme", ws, res, act) {
					t.Errorf("owner: Allow(%q workspace, %s) = true", ws, p)
				}
			}
		}
	}
	if a.AllowOrgWide("owner", "acme", "keys", "*") {
		t.Error("unknown permission allowed")
	}
}
