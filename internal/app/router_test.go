package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/testdb"
)

// roleToken is the static token of the test key with role.
func roleToken(role string) string { return "test-token-for-the-" + role + "-role-0123456789" }

// newTestApp builds a gateway on driver with auth enabled and one static
// key per role in acme/prod, in front of a fake upstream.
func newTestApp(t *testing.T, driver string, mutate ...func(*config.Config)) (*App, *httptest.Server) {
	t.Helper()
	upstream := httptest.NewServer(fakeupstream.New(fakeupstream.Options{}))
	t.Cleanup(upstream.Close)
	cfg := config.Default()
	cfg.Storage.Driver = driver
	switch driver {
	case config.DriverSQLite:
		cfg.Storage.Path = testdb.SQLitePath(t)
	case config.DriverPostgres:
		cfg.Storage.DSN = testdb.PostgresDSN(t)
	}
	for name, p := range cfg.Providers {
		p.Upstream = upstream.URL
		cfg.Providers[name] = p
	}
	cfg.Auth.Enabled = true
	for _, role := range rbac.Roles {
		cfg.Auth.Keys = append(cfg.Auth.Keys, config.StaticKey{
			ID: "key-" + role, Token: roleToken(role), OrgID: "acme", WorkspaceID: "prod", Role: role,
		})
	}
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return a, srv
}

// request sends what the matrix needs to reach a route's handler without
// changing anything: ids that do not exist, and a body that is not JSON for
// API writes (400 from the handler, after the guard let it through).
func request(t *testing.T, srv *httptest.Server, rt api.Route, token string) (int, string) {
	t.Helper()
	method := rt.Method
	path := strings.ReplaceAll(rt.Pattern, "{id}", "does-not-exist")
	body := ""
	if rt.Permission() == rbac.PermProxyWrite {
		method = http.MethodPost
		if strings.HasSuffix(path, "/*") {
			path = strings.TrimSuffix(path, "/*") + "/v1/chat/completions"
		}
		body = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`
	} else if method != http.MethodGet && method != http.MethodDelete {
		body = `{`
	}
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-provider-key")
	if token != "" {
		req.Header.Set("X-OngoingAI-Gateway-Key", token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func errorMessage(body string) string {
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}

// rolePermissions is the spec's table of what each role holds, written out
// apart from internal/rbac so the matrix below checks the policy rather
// than restating it.
var rolePermissions = map[string][]string{
	rbac.RoleOwner:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermWorkspacesManage, rbac.PermAuditRead},
	rbac.RoleAdmin:     {rbac.PermProxyWrite, rbac.PermAnalyticsRead, rbac.PermKeysManage, rbac.PermAuditRead},
	rbac.RoleDeveloper: {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleMember:    {rbac.PermProxyWrite, rbac.PermAnalyticsRead},
	rbac.RoleViewer:    {rbac.PermAnalyticsRead},
	rbac.RoleOperator:  {rbac.PermInstallationRead},
}

// TestPermissionMatrix sends every route of the table, with every role, and
// checks the guard's decision against the route's (resource, action) and
// the role's permissions: the policy has no other source, so a route added
// without a mapping fails here before it can ship.
func TestPermissionMatrix(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			a, srv := newTestApp(t, driver)
			routes := a.Routes()
			if len(routes) < 10 {
				t.Fatalf("route table has only %d routes", len(routes))
			}
			for _, rt := range routes {
				name := rt.Method + " " + rt.Pattern
				if strings.HasPrefix(rt.Pattern, "/console") {
					// The console signs in with a session, not the key
					// header: internal/console's TestPermissionMatrix
					// holds its pages to the same rule.
					continue
				}
				if rt.Method == "" {
					name = "* " + rt.Pattern
				}
				if !rt.Public && !rbac.ValidPermission(rt.Permission()) {
					t.Errorf("%s: no policy: set Public or a (resource, action) that rbac knows, got %q", name, rt.Permission())
					continue
				}
				status, body := request(t, srv, rt, "")
				if rt.Public {
					if status == http.StatusUnauthorized || status == http.StatusForbidden {
						t.Errorf("%s, no key: public route answered %d %s", name, status, body)
					}
				} else if status != http.StatusUnauthorized || errorMessage(body) != keyauth.MsgUnauthorized {
					t.Errorf("%s, no key: got %d %s, want 401 %q", name, status, body, keyauth.MsgUnauthorized)
				}
				for _, role := range rbac.Roles {
					status, body := request(t, srv, rt, roleToken(role))
					allowed := rt.Public || slices.Contains(rolePermissions[role], rt.Permission())
					denied := status == http.StatusForbidden && errorMessage(body) == keyauth.MsgForbidden
					switch {
					case allowed && (denied || status == http.StatusUnauthorized):
						t.Errorf("%s as %s: want allowed, got %d %s", name, role, status, body)
					case !allowed && !denied:
						t.Errorf("%s as %s: want 403 %q, got %d %s", name, role, keyauth.MsgForbidden, status, body)
					}
				}
			}
		})
	}
}

// TestRouteWithoutPolicyIsDeniedToEveryone registers a route that names no
// permission: nobody reaches its handler, whatever the key and whether or
// not auth is enabled.
func TestRouteWithoutPolicyIsDeniedToEveryone(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		a, _ := newTestApp(t, config.DriverSQLite, func(c *config.Config) { c.Auth.Enabled = enabled })
		reached := false
		unmapped := api.Route{Method: http.MethodGet, Pattern: "/api/unmapped", Handler: func(http.ResponseWriter, *http.Request) { reached = true }}
		srv := httptest.NewServer(newRouter([]api.Route{unmapped}, a.keys.auth))
		for _, token := range append([]string{""}, roleToken(rbac.RoleOwner), roleToken(rbac.RoleViewer)) {
			status, body := request(t, srv, unmapped, token)
			if status != http.StatusForbidden || errorMessage(body) != keyauth.MsgForbidden {
				t.Errorf("auth enabled %v, token %q: got %d %s, want 403", enabled, token, status, body)
			}
		}
		srv.Close()
		if reached {
			t.Errorf("auth enabled %v: the unmapped route's handler ran", enabled)
		}
	}
}
