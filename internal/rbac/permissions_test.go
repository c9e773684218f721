package rbac_test

import (
	"slices"
	"testing"

	"github.com/ongoingai/gateway/internal/rbac"
)

// wantRolePermissions is the spec's table, written out independently of the
// package so the tests catch a change to the policy.
var wantRolePermissions = map[string][]string{
	rbac.RoleOwner:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermWorkspacesManage, rbac.PermAuditRead},
	rbac.RoleAdmin:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermAuditRead},
	rbac.RoleDeveloper: {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleMember:    {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleViewer:    {rbac.PermAnalyticsRead},
	rbac.RoleOperator:  {rbac.PermInstallationRead},
}

// allPermissions are the tenant permissions, which hold in a workspace;
// installation:read, the one installation permission, is tested apart.
var allPermissions = []string{"proxy:write", "analytics:read", "keys:manage", "workspaces:manage", "audit:read"}

func TestRolesAndPermissionsAreTheSpecifiedOnes(t *testing.T) {
	if want := []string{"owner", "admin", "developer", "member", "viewer", "operator"}; !slices.Equal(rbac.Roles, want) {
		t.Errorf("Roles = %v, want %v", rbac.Roles, want)
	}
	if want := append(slices.Clone(allPermissions), "installation:read"); !slices.Equal(rbac.Permissions, want) {
		t.Errorf("Permissions = %v, want %v", rbac.Permissions, want)
	}
}

func TestValidRole(t *testing.T) {
	for _, r := range rbac.Roles {
		if !rbac.ValidRole(r) {
			t.Errorf("ValidRole(%q) = false", r)
		}
	}
	for _, r := range []string{"", "Owner", "OWNER", " owner", "root", "role:owner", "*"} {
		if rbac.ValidRole(r) {
			t.Errorf("ValidRole(%q) = true", r)
		}
	}
}

func TestValidPermission(t *testing.T) {
	for _, p := range append(slices.Clone(allPermissions), "installation:read") {
		if !rbac.ValidPermission(p) {
			t.Errorf("ValidPermission(%q) = false", p)
		}
	}
	for _, p := range []string{"", ":", "*", "*:*", "keys:*", "*:manage", "keys", "manage", "Keys:Manage",
		"keys:manage ", "keys::manage", "keys:manage:x", "proxy:read", "analytics:write", "installation:*", "installation:write"} {
		if rbac.ValidPermission(p) {
			t.Errorf("ValidPermission(%q) = true", p)
		}
	}
}

func TestCanGrant(t *testing.T) {
	// want[caller] lists the roles caller may mint; developer and member share
	// a rank, so each may mint the other. The operator stands outside the
	// ranks: only an operator mints an operator, and nothing else.
	want := map[string][]string{
		"operator":  {"operator"},
		"owner":     {"owner", "admin", "developer", "member", "viewer"},
		"admin":     {"admin", "developer", "member", "viewer"},
		"developer": {"developer", "member", "viewer"},
		"member":    {"developer", "member", "viewer"},
		"viewer":    {"viewer"},
	}
	for _, caller := range rbac.Roles {
		for _, target := range rbac.Roles {
			if got := rbac.CanGrant(caller, target); got != slices.Contains(want[caller], target) {
				t.Errorf("CanGrant(%q, %q) = %v", caller, target, got)
			}
		}
	}
	for _, pair := range [][2]string{{"", "viewer"}, {"owner", ""}, {"root", "viewer"}, {"owner", "root"}, {"Owner", "viewer"}} {
		if rbac.CanGrant(pair[0], pair[1]) {
			t.Errorf("CanGrant(%q, %q) = true for an unknown role", pair[0], pair[1])
		}
	}
}

func TestCanGrantPermissions(t *testing.T) {
	cases := []struct {
		name      string
		role      string
		extras    []string
		requested []string
		want      bool
	}{
		{"nothing requested", rbac.RoleViewer, nil, nil, true},
		{"owner grants anything", rbac.RoleOwner, nil, allPermissions, true},
		{"admin grants what it holds", rbac.RoleAdmin, nil, []string{"keys:manage", "audit:read"}, true},
		{"admin cannot grant workspaces:manage", rbac.RoleAdmin, nil, []string{"workspaces:manage"}, false},
		{"developer cannot grant keys:manage", rbac.RoleDeveloper, nil, []string{"keys:manage"}, false},
		{"developer passes on its extra", rbac.RoleDeveloper, []string{"keys:manage"}, []string{"keys:manage", "proxy:write"}, true},
		{"an extra does not imply others", rbac.RoleDeveloper, []string{"keys:manage"}, []string{"audit:read"}, false},
		{"invalid caller extra is ignored", rbac.RoleViewer, []string{"keys:*"}, []string{"keys:manage"}, false},
		{"invalid request", rbac.RoleOwner, nil, []string{"keys:*"}, false},
		{"unknown caller role", "root", allPermissions, []string{"analytics:read"}, false},
		{"no tenant role grants installation access", rbac.RoleOwner, nil, []string{"installation:read"}, false},
		{"an operator passes it on", rbac.RoleOperator, nil, []string{"installation:read"}, true},
		{"an operator holds no tenant permission", rbac.RoleOperator, nil, []string{"analytics:read"}, false},
		{"an extra installation:read is passed on", rbac.RoleAdmin, []string{"installation:read"}, []string{"installation:read", "audit:read"}, true},
	}
	for _, c := range cases {
		if got := rbac.CanGrantPermissions(c.role, c.extras, c.requested); got != c.want {
			t.Errorf("%s: CanGrantPermissions(%q, %v, %v) = %v, want %v", c.name, c.role, c.extras, c.requested, got, c.want)
		}
	}
}
