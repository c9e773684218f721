package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// rolePermissions is the spec's table of what each role holds, written out
// apart from internal/rbac so that the matrix checks the policy rather than
// restating it.
var rolePermissions = map[string][]string{
	rbac.RoleOwner:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermWorkspacesManage, rbac.PermAuditRead},
	rbac.RoleAdmin:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermAuditRead},
	rbac.RoleDeveloper: {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleMember:    {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleViewer:    {rbac.PermAnalyticsRead},
	rbac.RoleOperator:  {rbac.PermInstallationRead},
}

// TestPermissionMatrix opens every console page and sends every console
// form, signed in with every role, and checks the guard's decision against
// the route's (resource, action) and the role's permissions: the same
// table and the same rule as /api.
func TestPermissionMatrix(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			var routes int
			for _, role := range rbac.Roles {
				b := g.signedIn(role)
				for _, rt := range g.app.Routes() {
					if rt.Public || !strings.HasPrefix(rt.Pattern, "/console") {
						continue
					}
					routes++
					path := strings.ReplaceAll(rt.Pattern, "{id}", "does-not-exist")
					var p page
					if rt.Method == http.MethodGet {
						p = b.get(path)
					} else {
						p = b.post(path, url.Values{"csrf_token": {csrfOf(t, g, b)}})
					}
					allowed := slices.Contains(rolePermissions[role], rt.Permission())
					denied := p.status == http.StatusForbidden && p.has(keyauth.MsgForbidden)
					switch {
					case allowed && (denied || p.status == http.StatusSeeOther):
						t.Errorf("%s %s as %s: want allowed, got %d %s", rt.Method, path, role, p.status, p.body)
					case !allowed && !denied:
						t.Errorf("%s %s as %s: want 403 %q, got %d %s", rt.Method, path, role, keyauth.MsgForbidden, p.status, p.body)
					}
				}
			}
			if routes < 5*len(rbac.Roles) {
				t.Fatalf("only %d console routes checked", routes)
			}
		})
	}
}

// csrfOf is b's session's CSRF token, read from a page every signed-in
// caller can open whatever its permissions: a refusal page carries it too.
func csrfOf(t *testing.T, g *gateway, b *browser) string {
	t.Helper()
	b.get("/console")
	if b.csrf == "" {
		t.Fatal("no CSRF token on any page")
	}
	return b.csrf
}

func TestKeysPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.signedIn("owner")
			p := b.get("/console/keys")
			wantStatus(t, "keys page", p, http.StatusOK)
			for _, want := range []string{
				`<label for="key-name">Name</label>`, `<label for="key-role">Role</label>`,
				`<label for="key-workspace">Workspace</label>`, `<label for="key-expires">Expires</label>`,
				`<button type="submit">Create key</button>`,
				"<th scope=\"col\">Name</th>", "<th scope=\"col\">Last used</th>", "<th scope=\"col\">Expires</th>",
			} {
				if !p.has(want) {
					t.Errorf("keys page lacks %s", want)
				}
			}

			// A refused create shows the API's message next to its field
			// and keeps what was typed.
			p = b.post("/console/keys", url.Values{"name": {"late"}, "role": {"viewer"}, "workspace_id": {"prod"}, "expires": {"2001-01-01"}})
			wantStatus(t, "expiry in the past", p, http.StatusBadRequest)
			if !p.has(`<span class="field-error" id="key-expires-error">` + tenancy.MsgExpiryInPast + `</span>`) {
				t.Errorf("expiry error not next to Expires:\n%s", p.body)
			}
			if !p.has(`value="late"`) {
				t.Error("refused form lost the name typed")
			}
			p = b.post("/console/keys", url.Values{"name": {"x"}, "role": {"emperor"}, "workspace_id": {"prod"}})
			wantStatus(t, "unknown role", p, http.StatusBadRequest)
			if !p.has(`id="key-role-error">` + tenancy.MsgUnknownRole) {
				t.Errorf("role error not next to Role:\n%s", p.body)
			}

			// Create: the token once, in #new-token, with Copy.
			p = b.post("/console/keys", url.Values{"name": {"ci"}, "role": {"developer"}, "workspace_id": {"prod"}})
			wantStatus(t, "create", p, http.StatusCreated)
			token := p.newToken()
			if !keyauth.LooksLikeToken(token) || !p.has(">Copy</button>") {
				t.Fatalf("create: token %q, page:\n%s", token, p.body)
			}
			id := keyIDOf(t, p)
			if s := g.api(http.MethodGet, "/api/analytics/summary", token); s != http.StatusOK {
				t.Fatalf("new token on the API: %d", s)
			}
			if p := b.get("/console/keys"); p.has(token) || p.newToken() != "" {
				t.Error("the token is shown again")
			}

			// Rotate: the first click asks to Confirm and changes nothing.
			p = b.post("/console/keys/"+id+"/rotate", nil)
			wantStatus(t, "rotate, first click", p, http.StatusOK)
			if !p.has(">Confirm</button>") || p.newToken() != "" {
				t.Fatalf("first click: no Confirm, or rotated at once:\n%s", p.body)
			}
			p = b.post("/console/keys/"+id+"/rotate", url.Values{"confirm": {"yes"}})
			wantStatus(t, "rotate, confirmed", p, http.StatusOK)
			rotated := p.newToken()
			if rotated == "" || rotated == token || !p.has(`id="old-token-until"`) {
				t.Fatalf("rotation shows no new token or no end of grace:\n%s", p.body)
			}
			for _, tok := range []string{token, rotated} {
				if s := g.api(http.MethodGet, "/api/analytics/summary", tok); s != http.StatusOK {
					t.Errorf("during grace a token answers %d", s)
				}
			}

			// Revoke: Confirm, then both tokens stop at once.
			p = b.post("/console/keys/"+id+"/revoke", nil)
			if !p.has(">Confirm</button>") {
				t.Fatalf("revoke, first click: no Confirm:\n%s", p.body)
			}
			if s := g.api(http.MethodGet, "/api/analytics/summary", rotated); s != http.StatusOK {
				t.Fatalf("the first click revoked the key: %d", s)
			}
			p = b.post("/console/keys/"+id+"/revoke", url.Values{"confirm": {"yes"}})
			wantStatus(t, "revoke, confirmed", p, http.StatusOK)
			for _, tok := range []string{token, rotated} {
				if s := g.api(http.MethodGet, "/api/analytics/summary", tok); s != http.StatusUnauthorized {
					t.Errorf("revoked token answers %d", s)
				}
			}
			// A revoked key shows no actions, and acting on it anyway is
			// the API's refusal.
			p = b.post("/console/keys/"+id+"/rotate", url.Values{"confirm": {"yes"}})
			wantStatus(t, "rotate revoked key", p, http.StatusConflict)
			if !p.has(tenancy.MsgKeyRevoked) {
				t.Errorf("refusal lacks the API's message:\n%s", p.body)
			}
		})
	}
}

// A viewer sees no key controls and is refused them anyway.
func TestViewerHasNoKeyControls(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.signedIn("viewer")
			p := b.get("/console")
			wantStatus(t, "viewer overview", p, http.StatusOK)
			for _, hidden := range []string{">Keys</a>", ">Workspaces</a>", ">Audit log</a>"} {
				if p.has(hidden) {
					t.Errorf("viewer's navigation shows %s", hidden)
				}
			}
			p = b.get("/console/keys")
			wantStatus(t, "viewer keys page", p, http.StatusForbidden)
			if p.has("Create key") || p.has(">Rotate<") || p.has(">Revoke<") {
				t.Error("viewer sees key controls")
			}
			p = b.post("/console/keys", url.Values{"name": {"x"}, "role": {"viewer"}, "workspace_id": {"prod"}})
			wantStatus(t, "viewer creates a key", p, http.StatusForbidden)
			p = b.post("/console/keys/key-owner/revoke", url.Values{"confirm": {"yes"}})
			wantStatus(t, "viewer revokes a key", p, http.StatusForbidden)
			if s := g.api(http.MethodGet, "/api/analytics/summary", roleToken("owner")); s != http.StatusOK {
				t.Errorf("owner key after the viewer's attempt: %d", s)
			}
		})
	}
}

// An admin (keys:manage in its workspace) sees the key controls but may not
// grant a role above its own.
func TestAdminCannotGrantAbove(t *testing.T) {
	g := startGateway(t, "sqlite")
	b := g.signedIn("admin")
	p := b.get("/console/keys")
	wantStatus(t, "admin keys page", p, http.StatusOK)
	if p.has(`<option value="owner"`) {
		t.Error("admin is offered the owner role")
	}
	p = b.post("/console/keys", url.Values{"name": {"x"}, "role": {"owner"}, "workspace_id": {"prod"}})
	wantStatus(t, "admin grants owner", p, http.StatusForbidden)
	if !p.has(`id="key-role-error">cannot create a key with a role above your own`) {
		t.Errorf("refusal not next to Role:\n%s", p.body)
	}
}

func TestWorkspacesPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.signedIn("owner")
			p := b.get("/console/workspaces")
			wantStatus(t, "workspaces page", p, http.StatusOK)
			if !p.has(`<th scope="row">prod</th>`) {
				t.Fatalf("prod not listed:\n%s", p.body)
			}
			p = b.post("/console/workspaces", url.Values{"id": {"staging"}, "name": {"Staging"}})
			wantStatus(t, "create", p, http.StatusCreated)
			if !p.has(`<th scope="row">staging</th>`) {
				t.Errorf("created workspace not listed:\n%s", p.body)
			}
			p = b.post("/console/workspaces", url.Values{"id": {"staging"}, "name": {"again"}})
			wantStatus(t, "create twice", p, http.StatusConflict)
			if !p.has(`id="ws-id-error">` + tenancy.MsgWorkspaceExists) {
				t.Errorf("duplicate not refused next to ID:\n%s", p.body)
			}
			p = b.post("/console/workspaces", url.Values{"id": {"-bad"}, "name": {"x"}})
			wantStatus(t, "bad id", p, http.StatusBadRequest)

			p = b.post("/console/workspaces/staging/rename", url.Values{"name": {"Pre-production"}})
			wantStatus(t, "rename", p, http.StatusOK)
			if !p.has(`value="Pre-production"`) {
				t.Errorf("renamed workspace not shown:\n%s", p.body)
			}

			// Delete is refused while a key can authenticate in it.
			b.get("/console/keys")
			p = b.post("/console/keys", url.Values{"name": {"s"}, "role": {"viewer"}, "workspace_id": {"staging"}})
			wantStatus(t, "key in staging", p, http.StatusCreated)
			keyID := keyIDOf(t, p)
			p = b.post("/console/workspaces/staging/delete", nil)
			wantStatus(t, "delete with a live key", p, http.StatusConflict)
			if !p.has(tenancy.MsgWorkspaceHasKeys) {
				t.Errorf("refusal lacks the API's message:\n%s", p.body)
			}
			b.post("/console/keys/"+keyID+"/revoke", url.Values{"confirm": {"yes"}})
			p = b.post("/console/workspaces/staging/delete", nil)
			wantStatus(t, "delete", p, http.StatusOK)
			if p.has(`<th scope="row">staging</th>`) {
				t.Error("deleted workspace still listed")
			}
		})
	}
}
