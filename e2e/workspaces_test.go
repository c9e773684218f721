package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/analytics"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// Workspace ids belong to their organization: two organizations pick the
// same name for a workspace and never notice each other.

func TestWorkspaceIDsArePerOrganization(t *testing.T) {
	today := time.Now().UTC().Truncate(24 * time.Hour)
	window := "from=" + today.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + today.AddDate(0, 0, 1).Format(time.DateOnly)
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		owners := map[string]string{"acme": acmeOwnerToken, "globex": globexOwnerToken}

		// Both create "shared": no 409 tells globex that acme has it.
		for org, owner := range owners {
			ws := callOK[tenancy.WorkspaceInfo](g, "POST", "/api/workspaces", owner, `{"id":"shared","name":"`+org+` shared"}`, 201)
			if ws.ID != "shared" || ws.OrgID != org {
				t.Fatalf("%s created %+v", org, ws)
			}
		}
		status, body := g.call("POST", "/api/workspaces", acmeOwnerToken, `{"id":"shared"}`)
		expectJSONError(t, "acme creates shared again", status, body, 409, tenancy.MsgWorkspaceExists)

		// A key in each, and traffic: acme twice, globex once.
		devs := map[string]tenancy.IssuedKey{}
		for org, owner := range owners {
			k := g.createKey(owner, `{"role":"developer","workspace_id":"shared"}`)
			if k.OrgID != org || k.WorkspaceID != "shared" {
				t.Fatalf("%s's key: %+v", org, k)
			}
			devs[org] = k
		}
		g.mustChat(devs["acme"].Token)
		g.mustChat(devs["acme"].Token)
		g.mustChat(devs["globex"].Token)

		for org, want := range map[string]int{"acme": 2, "globex": 1} {
			for _, tr := range g.tracesAs(devs[org].Token, want) {
				if tr.OrgID != org || tr.WorkspaceID != "shared" || tr.GatewayKeyID != devs[org].ID {
					t.Errorf("%s's key sees trace %s of %s/%s by %s", org, tr.ID, tr.OrgID, tr.WorkspaceID, tr.GatewayKeyID)
				}
			}
			// The owner naming the workspace reads its own org's only.
			tr := callOK[struct {
				Items []trace.Record `json:"items"`
			}](g, "GET", "/api/traces?workspace_id=shared", owners[org], "", 200)
			if len(tr.Items) != want {
				t.Errorf("%s owner reads %d traces in shared, want %d", org, len(tr.Items), want)
			}
			waitForRollups(t, g, devs[org].Token, window, int64(want))
			s, _ := analyticsGet[analytics.Summary](g, owners[org], "/api/analytics/summary?workspace_id=shared", window)
			if s.TotalRequests != int64(want) || s.ActiveKeys != 1 {
				t.Errorf("%s analytics of shared: %d requests by %d keys, want %d by 1", org, s.TotalRequests, s.ActiveKeys, want)
			}
			keys := callOK[keyList](g, "GET", "/api/gateway-keys?workspace_id=shared", owners[org], "", 200)
			if len(keys.Items) != 1 || keys.Items[0].ID != devs[org].ID {
				t.Errorf("%s lists keys of shared: %+v", org, keys.Items)
			}
		}

		// Renaming and deleting touch one organization's workspace only.
		callOK[tenancy.WorkspaceInfo](g, "PATCH", "/api/workspaces/shared", globexOwnerToken, `{"name":"renamed"}`, 200)
		callOK[tenancy.KeyInfo](g, "DELETE", "/api/gateway-keys/"+devs["globex"].ID, globexOwnerToken, "", 200)
		if status, body := g.call("DELETE", "/api/workspaces/shared", globexOwnerToken, ""); status != 204 {
			t.Fatalf("globex deletes its shared: %d %s", status, body)
		}
		wss := callOK[struct {
			Items []tenancy.WorkspaceInfo `json:"items"`
		}](g, "GET", "/api/workspaces", acmeOwnerToken, "", 200)
		found := false
		for _, w := range wss.Items {
			if w.ID == "shared" {
				found = true
				expect(t, "acme's shared keeps its name", w.Name, "acme shared")
			}
		}
		if !found {
			t.Errorf("acme's shared went with globex's: %+v", wss.Items)
		}
		g.mustChat(devs["acme"].Token)
		g.tracesAs(devs["acme"].Token, 3)
	})
}

// TestUpgradeToPerOrgWorkspacesKeepsData takes a database at the schema
// before workspace ids became per organization (migrations up to 0004),
// holding a workspace, a key, a trace and its rollups, and starts the
// gateway on it: the migration runs, and the key, the trace and the
// analytics carry on as before.
func TestUpgradeToPerOrgWorkspacesKeepsData(t *testing.T) {
	const token = "ogw_upgradeTokenMadeBeforeTheWorkspaceMigration01"
	eachDriver(t, func(t *testing.T, driver string) {
		now := time.Now().UTC()
		hour := now.Truncate(time.Hour)
		day := now.Truncate(24 * time.Hour)
		started := hour.Add(time.Second)
		var dsn, path string
		var exec func(q string)
		ts := func(t time.Time) string { return fmt.Sprint(t.UnixMicro()) }
		b := func(v bool) string {
			if v {
				return "1"
			}
			return "0"
		}
		ctx := context.Background()
		switch driver {
		case config.DriverSQLite:
			path = testdb.SQLitePath(t)
			if _, err := opener.Migrate(ctx, config.Storage{Driver: driver, Path: path}, before(t, migrations.SQLite, 4)); err != nil {
				t.Fatal(err)
			}
			db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec = func(q string) {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		case config.DriverPostgres:
			dsn = testdb.EmptyPostgresDSN(t)
			if _, err := opener.Migrate(ctx, config.Storage{Driver: driver, DSN: dsn}, before(t, migrations.Postgres, 4)); err != nil {
				t.Fatal(err)
			}
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			exec = func(q string) {
				if _, err := pool.Exec(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			ts = func(t time.Time) string { return "'" + t.Format(time.RFC3339Nano) + "'" }
			b = func(v bool) string { return fmt.Sprint(v) }
		}
		exec(`INSERT INTO orgs (id, name, created_at) VALUES ('initech', 'Initech', ` + ts(day) + `)`)
		exec(`INSERT INTO workspaces (id, org_id, name, created_at) VALUES ('prod', 'initech', 'Production', ` + ts(day) + `)`)
		exec(`INSERT INTO gateway_keys (id, org_id, workspace_id, name, role, permissions, token_hash, token_last4,
			status, static, created_by, created_at) VALUES ('gk_old', 'initech', 'prod', 'old', 'owner', '[]',
			'` + keyauth.HashToken(token) + `', '` + keyauth.TokenLast4(token) + `', 'active', ` + b(false) + `, 'cli', ` + ts(day) + `)`)
		exec(`INSERT INTO traces (id, started_at, created_at, org_id, workspace_id, gateway_key_id, provider, model,
			request_model, request_method, request_path, response_status, outcome, input_tokens, output_tokens,
			total_tokens, cached_input_tokens, cache_write_tokens, reasoning_tokens, tokens_estimated, latency_ms,
			time_to_first_token_ms, time_to_first_token_us, streaming, stream_events, api_key_hash, api_key_last4,
			cost_nano_usd, priced, pricing_version, request_headers, response_headers, request_body, response_body,
			metadata) VALUES ('00000000-0000-7000-8000-0000000000aa', ` + ts(started) + `, ` + ts(started) + `,
			'initech', 'prod', 'gk_old', 'openai', 'gpt-4o-mini', 'gpt-4o-mini', 'POST', '/openai/v1/chat/completions',
			200, 'ok', 10, 5, 15, 0, 0, 0, ` + b(false) + `, 100, 0, 0, ` + b(false) + `, 0, '', '', 0, ` + b(false) + `,
			'', '', '', '', '', '{}')`)
		sums := `1, 0, 0, 0, 1, 10, 5, 15, 0, 0, 0, 0, 100, 100, 100, 0, 0, 0, 0, ` + ts(started) + `, '', ''`
		sumCols := `requests, client_errors, server_errors, cancelled, unpriced, input_tokens, output_tokens, total_tokens,
			cached_input_tokens, cache_write_tokens, reasoning_tokens, cost_nano_usd, latency_sum_ms, latency_min_ms,
			latency_max_ms, ttft_count, ttft_sum_us, ttft_min_us, ttft_max_us, last_active_at, latency_hist, ttft_hist`
		exec(`INSERT INTO trace_rollups (hour, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash,
			status_class, ` + sumCols + `) VALUES (` + ts(hour) + `, 'initech', 'prod', 'openai', 'gpt-4o-mini', 'gk_old', '', '2xx', ` + sums + `)`)
		exec(`INSERT INTO trace_rollups_daily (day, org_id, workspace_id, provider, model, gateway_key_id, api_key_hash,
			` + sumCols + `) VALUES (` + ts(day) + `, 'initech', 'prod', 'openai', 'gpt-4o-mini', 'gk_old', '', ` + sums + `)`)

		g := startGateway(t, driver, withAuth, func(c *config.Config) {
			c.Storage.Path, c.Storage.DSN = path, dsn
		})
		window := "from=" + day.AddDate(0, 0, -1).Format(time.DateOnly) + "&to=" + day.AddDate(0, 0, 1).Format(time.DateOnly)
		s, _ := analyticsGet[analytics.Summary](g, token, "/api/analytics/summary", window)
		if s.TotalRequests != 1 || s.TotalTokens != 15 {
			t.Errorf("analytics after the upgrade: %+v", s)
		}
		old := g.tracesAs(token, 1)[0]
		expect(t, "old trace", old.ID, "00000000-0000-7000-8000-0000000000aa")
		keys := callOK[keyList](g, "GET", "/api/gateway-keys", token, "", 200)
		if len(keys.Items) != 1 || keys.Items[0].ID != "gk_old" || keys.Items[0].WorkspaceID != "prod" {
			t.Errorf("keys after the upgrade: %+v", keys.Items)
		}
		// The old key still works, and new traffic joins the old.
		g.mustChat(token)
		g.tracesAs(token, 2)
		waitForRollups(t, g, token, window, 2)
		// The old workspace is now initech's "prod"; acme may have its own,
		// and initech's key keeps minting keys in initech's.
		g.mustChat(acmeOwnerToken)
		k := g.createKey(token, `{"role":"viewer","workspace_id":"prod"}`)
		expect(t, "new key's org", k.OrgID, "initech")
		wss := callOK[struct {
			Items []tenancy.WorkspaceInfo `json:"items"`
		}](g, "GET", "/api/workspaces", token, "", 200)
		if len(wss.Items) != 1 || wss.Items[0].Name != "Production" {
			t.Errorf("initech's workspaces after the upgrade: %+v", wss.Items)
		}
		status, body := g.call("DELETE", "/api/workspaces/prod", token, "")
		expectJSONError(t, "delete prod with live keys", status, body, 409, tenancy.MsgWorkspaceHasKeys)
	})
}

// before returns the migrations of fsys up to and including version last:
// the schema an older release left behind.
func before(t *testing.T, fsys fs.FS, last int) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var v int
		if _, err := fmt.Sscanf(e.Name(), "%04d_", &v); err != nil || v > last || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: data}
	}
	if len(out) != last {
		t.Fatalf("found %d migrations up to %d", len(out), last)
	}
	return out
}
