package rbac

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// casbinModel is RBAC with domains. A request names the workspace domain
// ("org:<org>/ws:<workspace>") and the organization-wide domain
// ("org:<org>/*"); g is looked up in both by exact string equality. A
// question about the whole organization names the organization-wide domain
// twice, and one about the installation names installationDomain twice:
// installation permissions are assigned only there, tenant permissions
// never, so neither kind can stand in for the other.
//
// Deliberately, no domain matching function is installed (util.KeyMatch or
// otherwise), even though "org:<org>/*" looks like a pattern:
//   - With a domain matching function every new assignment is copied into
//     every matching domain's role manager after a scan of all of them, so
//     loading is quadratic: 4,000 keys in 4,000 workspaces took 2 s of CPU
//     against 50 ms with exact lookups (BenchmarkLoad), and 10,000 about 12 s.
//     ReplaceAll reloads everything periodically.
//   - Exact lookups make tenant isolation a string comparison: no pattern can
//     reach into another organization, whatever the matching function.
//
// Casbin installs util.KeyMatch on g by itself when the matcher contains the
// text "keyMatch(r.dom, p.dom)", so that call must not appear here
// (TestModelHasNoDomainPatternMatching guards it).
//
// Roles and the per-permission pseudo-roles that carry a key's extra
// permissions are defined once, in domain "*". Keeping extra permissions as g
// assignments rather than per-key p rules keeps the p section at a constant 21
// rules, which Casbin scans on every uncached decision.
const casbinModel = `
[request_definition]
r = sub, dom, orgdom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && r.act == p.act && p.dom == "*" && (g(r.sub, p.sub, r.dom) || g(r.sub, p.sub, r.orgdom))
`

// ErrInvalidSubject is wrapped by every error about a Subject the Authorizer
// refuses: a malformed id, an unknown role or an unknown permission.
var ErrInvalidSubject = errors.New("rbac: invalid subject")

// maxIDLen bounds ids so that request-supplied workspace ids cannot make the
// decision cache hold arbitrarily large strings.
const maxIDLen = 256

func keyName(keyID string) string   { return "key:" + keyID }
func roleName(role string) string   { return "role:" + role }
func permName(perm string) string   { return "perm:" + perm }
func orgDomain(orgID string) string { return "org:" + orgID + "/*" }

// installationDomain holds installation-wide assignments. It cannot be an
// organization's or a workspace's domain: those all start with "org:".
const installationDomain = "installation"

func workspaceDomain(orgID, workspaceID string) string {
	return "org:" + orgID + "/ws:" + workspaceID
}

// checkID rejects ids that are empty, too long, not UTF-8, or contain the
// characters the domain syntax uses ('/', '*', ':'), whitespace or control
// characters. With those excluded, distinct (org, workspace) pairs always
// give distinct domain strings, and no id can pose as a role or a pattern.
func checkID(kind, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidSubject, kind)
	}
	if len(id) > maxIDLen {
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidSubject, kind, maxIDLen)
	}
	if i := strings.IndexFunc(id, forbiddenInID); i >= 0 {
		r, _ := utf8.DecodeRuneInString(id[i:])
		return fmt.Errorf("%w: %s %q contains %q", ErrInvalidSubject, kind, id, r)
	}
	return nil
}

func forbiddenInID(r rune) bool {
	return r == '/' || r == '*' || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
}

// validIDs is checkID for Allow, where only the verdict matters.
func validIDs(ids ...string) bool {
	for _, id := range ids {
		if id == "" || len(id) > maxIDLen || strings.IndexFunc(id, forbiddenInID) >= 0 {
			return false
		}
	}
	return true
}

// normalize validates s and returns a copy with its extra permissions sorted
// and de-duplicated, so that two equal assignments compare equal and the
// caller may reuse its slice.
func normalize(s Subject) (Subject, error) {
	for _, f := range []struct{ kind, id string }{
		{"key id", s.KeyID}, {"org id", s.OrgID}, {"workspace id", s.WorkspaceID},
	} {
		if err := checkID(f.kind, f.id); err != nil {
			return Subject{}, err
		}
	}
	if !ValidRole(s.Role) {
		return Subject{}, fmt.Errorf("%w: unknown role %q", ErrInvalidSubject, s.Role)
	}
	perms := slices.Clone(s.Permissions)
	for _, p := range perms {
		if !ValidPermission(p) {
			return Subject{}, fmt.Errorf("%w: unknown permission %q", ErrInvalidSubject, p)
		}
	}
	slices.Sort(perms)
	s.Permissions = slices.Compact(perms)
	return s, nil
}

// sameAssignment reports whether two normalized subjects get the same g rules
// and therefore the same decisions.
func sameAssignment(a, b Subject) bool {
	return a.KeyID == b.KeyID && a.OrgID == b.OrgID && a.WorkspaceID == b.WorkspaceID &&
		a.Role == b.Role && slices.Equal(a.Permissions, b.Permissions)
}

// groupingRules turns a normalized subject into its g rules: the role at the
// organization-wide domain for an owner, at the installation domain for an
// operator and at the key's workspace otherwise, plus one rule per extra
// permission: an installation permission at the installation domain, where
// it is asked about, and any other at the key's own workspace.
func groupingRules(s Subject) [][]string {
	def, _ := lookupRole(s.Role)
	key := keyName(s.KeyID)
	ws := workspaceDomain(s.OrgID, s.WorkspaceID)
	roleDomain := ws
	switch {
	case def.orgWide:
		roleDomain = orgDomain(s.OrgID)
	case def.installation:
		roleDomain = installationDomain
	}
	rules := make([][]string, 0, 1+len(s.Permissions))
	rules = append(rules, []string{key, roleName(s.Role), roleDomain})
	for _, p := range s.Permissions {
		domain := ws
		if resource, action, _ := strings.Cut(p, ":"); isInstallation(resource, action) {
			domain = installationDomain
		}
		rules = append(rules, []string{key, permName(p), domain})
	}
	return rules
}

// isInstallation reports whether resource:action is an installation
// permission.
func isInstallation(resource, action string) bool {
	perm, ok := lookupPermission(resource, action)
	return ok && perm.installation()
}

// policyRules is the p section: every role's permissions and one pseudo-role
// per permission, all in domain "*".
func policyRules() [][]string {
	var rules [][]string
	for _, role := range []string{RoleOwner, RoleAdmin, RoleDeveloper, RoleMember, RoleViewer, RoleOperator} {
		def, _ := lookupRole(role)
		for _, p := range def.perms {
			resource, action, _ := strings.Cut(p, ":")
			rules = append(rules, []string{roleName(role), "*", resource, action})
		}
	}
	for _, p := range []string{PermProxyWrite, PermAnalyticsRead, PermKeysManage, PermWorkspacesManage, PermAuditRead, PermInstallationRead} {
		resource, action, _ := strings.Cut(p, ":")
		rules = append(rules, []string{permName(p), "*", resource, action})
	}
	return rules
}

// newEnforcer builds an enforcer holding the static p rules and the given g
// rules.
func newEnforcer(grouping [][]string) (*casbin.SyncedEnforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, fmt.Errorf("rbac: casbin model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("rbac: casbin enforcer: %w", err)
	}
	if _, err := e.AddPolicies(policyRules()); err != nil {
		return nil, fmt.Errorf("rbac: role policy: %w", err)
	}
	if len(grouping) > 0 {
		if _, err := e.AddGroupingPolicies(grouping); err != nil {
			return nil, fmt.Errorf("rbac: key assignments: %w", err)
		}
	}
	return e, nil
}
