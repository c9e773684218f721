package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/trace"
)

// Installation and organization stories: the platform team that runs the
// gateway reads its diagnostics and metrics with an operator key, which no
// tenant key can stand in for; an organization's owner reads the whole
// organization by default; and a misspelt query parameter is refused
// instead of answering for another scope.

// operatorToken is the static operator key of the stories: it lives in an
// organization of its own and holds nothing but installation:read.
const operatorToken = "ogw_opsOperatorStaticTokenForTheE2eStories04"

// withOperator adds the operator key to the config (after withAuth).
func withOperator(c *config.Config) {
	c.Auth.Keys = append(c.Auth.Keys, config.StaticKey{
		ID: "ops-operator", Token: operatorToken, OrgID: "ops", WorkspaceID: "ops", Role: "operator",
	})
}

// withMetrics serves /metrics on the main listener.
func withMetrics(c *config.Config) {
	c.Observability.Prometheus.Enabled = true
}

func TestInstallationRoutesNeedAnOperator(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, withOperator, withMetrics)
		g.mustChat(acmeOwnerToken) // traffic in acme; globex has none

		acmeViewer := g.createKey(acmeOwnerToken, `{"role":"viewer"}`).Token
		globexViewer := g.createKey(globexOwnerToken, `{"role":"viewer"}`).Token
		tenantKeys := map[string]string{
			"acme viewer": acmeViewer, "acme admin": acmeAdminToken, "acme owner": acmeOwnerToken,
			"viewer of an org without traffic": globexViewer, "owner of an org without traffic": globexOwnerToken,
		}
		for _, path := range []string{"/api/diagnostics/trace-pipeline", "/metrics"} {
			for who, token := range tenantKeys {
				status, body := g.call(http.MethodGet, path, token, "")
				expectJSONError(t, who+": GET "+path, status, body, http.StatusForbidden, keyauth.MsgForbidden)
			}
			status, body := g.call(http.MethodGet, path, "", "")
			expectJSONError(t, "no key: GET "+path, status, body, http.StatusUnauthorized, keyauth.MsgUnauthorized)
		}

		// The operator reads both, and they count acme's call.
		eventually(t, "the pipeline wrote acme's trace", func() bool {
			var p struct {
				Records struct {
					Written int64 `json:"written_total"`
				} `json:"records"`
			}
			status, body := g.call(http.MethodGet, "/api/diagnostics/trace-pipeline", operatorToken, "")
			if status != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
				t.Fatalf("operator: GET /api/diagnostics/trace-pipeline = %d %s", status, body)
			}
			return p.Records.Written == 1
		})
		status, body := g.call(http.MethodGet, "/metrics", operatorToken, "")
		if status != http.StatusOK || !strings.Contains(body, "ongoingai_trace_written") {
			t.Errorf("operator: GET /metrics = %d %.300s", status, body)
		}

		// An operator reads no tenant's data, not even its own organization's.
		for _, path := range []string{"/api/traces", "/api/analytics/summary", "/api/gateway-keys", "/api/audit", "/api/workspaces"} {
			status, body := g.call(http.MethodGet, path, operatorToken, "")
			expectJSONError(t, "operator: GET "+path, status, body, http.StatusForbidden, keyauth.MsgForbidden)
		}
		status, body = g.chat(operatorToken)
		expectJSONError(t, "operator proxies", status, body, http.StatusForbidden, keyauth.MsgForbidden)

		// No tenant key hands out installation access, by role or by extra
		// permission.
		status, body = g.call(http.MethodPost, "/api/gateway-keys", acmeOwnerToken, `{"role":"operator"}`)
		expectJSONError(t, "owner mints an operator", status, body, http.StatusForbidden, "cannot create a key with a role above your own (owner)")
		status, body = g.call(http.MethodPost, "/api/gateway-keys", acmeOwnerToken, `{"role":"viewer","permissions":["installation:read"]}`)
		expectJSONError(t, "owner grants installation:read", status, body, http.StatusForbidden, tenancy.MsgPermsNotHeld)
	})
}

// An extra installation:read on a tenant key (in the config file) opens the
// installation routes to it and changes nothing else.
func TestInstallationReadAsAnExtraPermission(t *testing.T) {
	g := startGateway(t, config.DriverSQLite, withAuth, withMetrics, func(c *config.Config) {
		c.Auth.Keys = append(c.Auth.Keys, config.StaticKey{
			ID: "acme-sre", Token: "ogw_acmeSreStaticTokenForTheE2eStories00005", OrgID: "acme", WorkspaceID: "prod",
			Role: "viewer", Permissions: []string{"installation:read"},
		})
	})
	const sre = "ogw_acmeSreStaticTokenForTheE2eStories00005"
	for _, path := range []string{"/api/diagnostics/trace-pipeline", "/metrics", "/api/analytics/summary"} {
		if status, body := g.call(http.MethodGet, path, sre, ""); status != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, status, body)
		}
	}
	status, body := g.call(http.MethodGet, "/api/gateway-keys", sre, "")
	expectJSONError(t, "the extra adds no tenant permission", status, body, http.StatusForbidden, keyauth.MsgForbidden)
}

// TestDiagnosticsNeverShowConnectionDetails drops the gateway's database
// under it, so that every trace write fails with the driver's real error,
// which names the host, port, user and database: the operator sees the
// failures counted and classed, and none of those details.
func TestDiagnosticsNeverShowConnectionDetails(t *testing.T) {
	g := startGateway(t, config.DriverPostgres, withAuth, withOperator, func(c *config.Config) {
		c.Server.ShutdownTimeout = time.Second // the batch can never land: do not wait for it
	})
	cfg, err := pgx.ParseConfig(g.cfg.Storage.DSN)
	if err != nil {
		t.Fatal(err)
	}
	dropDatabase(t, cfg)

	g.mustChat(acmeOwnerToken) // the proxy needs no database; its trace does
	var p struct {
		WriteFailures struct {
			Total     int64  `json:"total"`
			LastError string `json:"last_error"`
		} `json:"write_failures"`
	}
	var body string
	eventually(t, "a trace write failed", func() bool {
		var status int
		status, body = g.call(http.MethodGet, "/api/diagnostics/trace-pipeline", operatorToken, "")
		if status != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
			t.Fatalf("GET /api/diagnostics/trace-pipeline = %d %s", status, body)
		}
		return p.WriteFailures.Total > 0
	})
	t.Logf("diagnostics after the database was dropped: %s", body)
	if p.WriteFailures.LastError == "" {
		t.Errorf("no last_error after %d failures: %s", p.WriteFailures.Total, body)
	}
	// The test's premise: the driver's own error does carry the details.
	if _, err := pgx.ConnectConfig(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), cfg.Database) {
		t.Fatalf("connecting to the dropped database: %v; the test needs an error naming it", err)
	}
	for _, secret := range []string{cfg.Host, cfg.Database, cfg.User, "5432", "user=", "host="} {
		if strings.Contains(body, secret) {
			t.Errorf("diagnostics show %q: %s", secret, body)
		}
	}
}

// dropDatabase drops the database cfg names, cutting the gateway's
// connections to it.
func dropDatabase(t *testing.T, cfg *pgx.ConnConfig) {
	t.Helper()
	admin := cfg.Copy()
	admin.Database = "postgres"
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Fatal(err)
	}
}

func TestOwnerReadsItsWholeOrganization(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		callOK[tenancy.WorkspaceInfo](g, http.MethodPost, "/api/workspaces", acmeOwnerToken, `{"id":"staging"}`, http.StatusCreated)
		staging := g.createKey(acmeOwnerToken, `{"role":"admin","workspace_id":"staging"}`)
		g.mustChat(acmeOwnerToken) // prod
		g.mustChat(acmeAdminToken) // prod
		g.mustChat(staging.Token)  // staging
		g.mustChat(globexOwnerToken)
		g.tracesAs(globexOwnerToken, 1)

		// Traces and keys: the owner's default is its whole organization.
		traces := g.tracesAs(acmeOwnerToken, 3)
		for _, tr := range traces {
			if tr.OrgID != "acme" {
				t.Errorf("acme's owner reads a trace of org %s", tr.OrgID)
			}
		}
		g.tracesAs(acmeAdminToken, 2) // an admin: its workspace only
		g.tracesAs(staging.Token, 1)
		keys := callOK[keyList](g, http.MethodGet, "/api/gateway-keys", acmeOwnerToken, "", http.StatusOK)
		if !slices.ContainsFunc(keys.Items, func(k tenancy.KeyInfo) bool { return k.ID == staging.ID }) {
			t.Errorf("the owner's key list lacks staging's key: %+v", keys.Items)
		}
		for _, k := range callOK[keyList](g, http.MethodGet, "/api/gateway-keys", acmeAdminToken, "", http.StatusOK).Items {
			if k.WorkspaceID != "prod" {
				t.Errorf("the prod admin lists key %s of workspace %s", k.ID, k.WorkspaceID)
			}
		}

		// Analytics: every workspace of acme with traffic, and only acme's.
		waitForRollups(t, g, acmeOwnerToken, "", 3)
		waitForRollups(t, g, globexOwnerToken, "", 1) // its trace may be in a later batch
		byWorkspace := func(token, query string) map[string]int64 {
			t.Helper()
			c, _ := analyticsGet[analytics.Cost](g, token, "/api/analytics/cost?group_by=workspace"+query, "")
			out := map[string]int64{}
			for _, it := range c.Items {
				if it.Group == nil {
					t.Fatalf("a group_by=workspace item without a group: %+v", it)
				}
				out[*it.Group] += it.Requests
			}
			return out
		}
		expectJSON(t, "owner's cost by workspace", byWorkspace(acmeOwnerToken, ""), map[string]int64{"prod": 2, "staging": 1})
		expectJSON(t, "owner narrows to staging", byWorkspace(acmeOwnerToken, "&workspace_id=staging"), map[string]int64{"staging": 1})
		expectJSON(t, "owner names globex's workspace", byWorkspace(acmeOwnerToken, "&workspace_id=main"), map[string]int64{})
		expectJSON(t, "workspace-bound admin", byWorkspace(acmeAdminToken, ""), map[string]int64{"prod": 2})
		expectJSON(t, "staging's admin", byWorkspace(staging.Token, ""), map[string]int64{"staging": 1})
		expectJSON(t, "globex's owner", byWorkspace(globexOwnerToken, ""), map[string]int64{"main": 1})
		s, _ := analyticsGet[analytics.Summary](g, acmeOwnerToken, "/api/analytics/summary", "")
		expect(t, "owner's total requests", s.TotalRequests, int64(3))
		status, body := g.call(http.MethodGet, "/api/analytics/cost?workspace_id=staging", acmeAdminToken, "")
		expectJSONError(t, "the prod admin names staging", status, body, http.StatusForbidden, keyauth.MsgForbidden)
		if tr := callOK[struct {
			Items []trace.Record `json:"items"`
		}](g, http.MethodGet, "/api/traces?workspace_id=main", acmeOwnerToken, "", http.StatusOK); len(tr.Items) != 0 {
			t.Errorf("acme's owner reads %d traces naming globex's workspace", len(tr.Items))
		}

		// A misspelt scope is refused, not answered for the whole org.
		for _, path := range []string{
			"/api/analytics/cost?workspace=staging", "/api/traces?workspace=staging", "/api/gateway-keys?workspace=staging",
			"/api/analytics/summary?from=2020-01-01&workspace=staging",
		} {
			status, body := g.call(http.MethodGet, path, acmeOwnerToken, "")
			expectJSONError(t, path, status, body, http.StatusBadRequest, api.UnknownQueryParameter("workspace"))
		}
	})
}
