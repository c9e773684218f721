package rbac

import "strings"

// The permissions a gateway key can hold. A permission is
// "resource:action"; Allow takes the two halves separately because the route
// table names them separately.
//
// The first five are tenant permissions: they hold in a workspace (or, for
// an organization-wide role, in every workspace of one organization).
// PermInstallationRead is an installation permission: it is about the
// gateway process itself (its trace pipeline, its metrics), which every
// tenant shares, so it holds everywhere or nowhere and no organization's
// role includes it.
const (
	PermProxyWrite       = "proxy:write"
	PermAnalyticsRead    = "analytics:read"
	PermKeysManage       = "keys:manage"
	PermWorkspacesManage = "workspaces:manage"
	PermAuditRead        = "audit:read"
	// PermInstallationRead reads installation-wide diagnostics:
	// /api/diagnostics/* and /metrics.
	PermInstallationRead = "installation:read"
)

// The roles a gateway key can have, from the most to the least powerful.
const (
	// RoleOwner can do everything in every workspace of its organization.
	RoleOwner = "owner"
	// RoleAdmin runs its own workspace: proxy, analytics, keys and audit.
	RoleAdmin = "admin"
	// RoleDeveloper calls models and reads analytics in its workspace.
	RoleDeveloper = "developer"
	// RoleMember grants exactly what RoleDeveloper grants, at the same rank.
	RoleMember = "member"
	// RoleViewer only reads analytics in its workspace.
	RoleViewer = "viewer"
	// RoleOperator runs the installation: it reads the installation-wide
	// diagnostics and metrics, and nothing of any tenant. It stands outside
	// the tenant ranks: only an operator may mint, rotate or revoke an
	// operator key (in practice the CLI or the config file grants it), and
	// an operator mints no tenant key. Like every key it still lives in a
	// workspace, where extra permissions given to it apply as usual.
	RoleOperator = "operator"
)

// Roles lists every role, the tenant roles from the most to the least
// powerful, then the installation role. It is for documentation and UIs:
// editing it does not change the policy.
var Roles = []string{RoleOwner, RoleAdmin, RoleDeveloper, RoleMember, RoleViewer, RoleOperator}

// Permissions lists every permission. Like Roles, it is informational.
var Permissions = []string{PermProxyWrite, PermAnalyticsRead, PermKeysManage, PermWorkspacesManage, PermAuditRead, PermInstallationRead}

// roleDef is the single definition of a role; the Casbin policy, CanGrant
// and CanGrantPermissions are all derived from it so they cannot drift apart.
type roleDef struct {
	rank int
	// orgWide roles hold their permissions in every workspace of their
	// organization instead of only in the key's own workspace.
	orgWide bool
	// installation roles hold installation permissions only, and stand
	// outside the tenant ranks (see CanGrant).
	installation bool
	perms        []string
}

// lookupRole is a switch rather than a package-level map so that no caller
// can alter the policy table at run time.
func lookupRole(role string) (roleDef, bool) {
	switch role {
	case RoleOwner:
		return roleDef{rank: 3, orgWide: true, perms: []string{
			PermProxyWrite, PermAnalyticsRead, PermKeysManage, PermWorkspacesManage, PermAuditRead,
		}}, true
	case RoleAdmin:
		return roleDef{rank: 2, perms: []string{PermProxyWrite, PermAnalyticsRead, PermKeysManage, PermAuditRead}}, true
	case RoleDeveloper, RoleMember:
		return roleDef{rank: 1, perms: []string{PermProxyWrite, PermAnalyticsRead}}, true
	case RoleViewer:
		return roleDef{rank: 0, perms: []string{PermAnalyticsRead}}, true
	case RoleOperator:
		return roleDef{installation: true, perms: []string{PermInstallationRead}}, true
	}
	return roleDef{}, false
}

// permID identifies a permission on the hot path without building a string.
type permID uint8

const (
	permProxyWrite permID = iota
	permAnalyticsRead
	permKeysManage
	permWorkspacesManage
	permAuditRead
	permInstallationRead
)

// installation reports whether p holds installation-wide rather than in
// a workspace.
func (p permID) installation() bool { return p == permInstallationRead }

// lookupPermission maps a resource and an action to a known permission.
// Anything else, including empty strings, is unknown and therefore denied.
func lookupPermission(resource, action string) (permID, bool) {
	switch {
	case resource == "proxy" && action == "write":
		return permProxyWrite, true
	case resource == "analytics" && action == "read":
		return permAnalyticsRead, true
	case resource == "keys" && action == "manage":
		return permKeysManage, true
	case resource == "workspaces" && action == "manage":
		return permWorkspacesManage, true
	case resource == "audit" && action == "read":
		return permAuditRead, true
	case resource == "installation" && action == "read":
		return permInstallationRead, true
	}
	return 0, false
}

// ValidRole reports whether role is one of Roles.
func ValidRole(role string) bool {
	_, ok := lookupRole(role)
	return ok
}

// ValidPermission reports whether p is one of Permissions, spelled exactly
// ("keys:manage", not "keys:*" or "Keys:Manage").
func ValidPermission(p string) bool {
	resource, action, ok := strings.Cut(p, ":")
	if !ok {
		return false
	}
	_, ok = lookupPermission(resource, action)
	return ok
}

// CanGrant reports whether a key with callerRole may mint or rotate a key with
// targetRole: only roles of the same or a lower rank (owner > admin >
// developer = member > viewer). Developer and member share a rank and grant
// the same permissions, so each may mint the other without gaining anything.
// The operator role has no rank: only an operator may act on an operator
// key (no tenant role may hand out installation access), and an operator
// may act on no tenant key (it holds no tenant role to pass on).
//
// Rank is necessary, not sufficient: the caller also needs keys:manage in the
// target workspace (ask Allow), which viewers, developers and members lack
// unless it was given to them as an extra permission, and any extra
// permissions on the new key must pass CanGrantPermissions.
func CanGrant(callerRole, targetRole string) bool {
	caller, ok := lookupRole(callerRole)
	if !ok {
		return false
	}
	target, ok := lookupRole(targetRole)
	if !ok {
		return false
	}
	if caller.installation || target.installation {
		return caller.installation && target.installation
	}
	return caller.rank >= target.rank
}

// CanGrantPermissions reports whether a key with callerRole and the extra
// permissions callerExtras may put the extra permissions requested on a key
// it mints or rotates. Every requested permission must be valid and already
// held by the caller; without this check a developer with keys:manage could
// mint a viewer key carrying workspaces:manage, sidestepping CanGrant.
func CanGrantPermissions(callerRole string, callerExtras, requested []string) bool {
	def, ok := lookupRole(callerRole)
	if !ok {
		return false
	}
	held := make(map[string]bool, len(def.perms)+len(callerExtras))
	for _, p := range def.perms {
		held[p] = true
	}
	for _, p := range callerExtras {
		if ValidPermission(p) {
			held[p] = true
		}
	}
	for _, p := range requested {
		if !held[p] {
			return false
		}
	}
	return true
}
