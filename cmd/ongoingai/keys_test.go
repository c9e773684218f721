package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/testdb"
)

var tokenPattern = regexp.MustCompile(`ogw_[0-9A-Za-z]{43}`)

// startGatewayOn serves a gateway with auth enabled on the store env names.
func startGatewayOn(t *testing.T, env map[string]string) *httptest.Server {
	t.Helper()
	cfg, err := config.Load("", false, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth.Enabled = true
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Close(ctx)
	})
	return srv
}

// get calls the gateway's API with a gateway key.
func get(t *testing.T, srv *httptest.Server, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set("X-OngoingAI-Gateway-Key", token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestKeysCommandBootstrapsAndManagesKeys(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := map[string]string{"ONGOINGAI_STORAGE_DRIVER": driver}
			if driver == config.DriverSQLite {
				env["ONGOINGAI_STORAGE_PATH"] = testdb.SQLitePath(t)
			} else {
				env["ONGOINGAI_STORAGE_DSN"] = testdb.PostgresDSN(t)
			}

			// The first key of an installation: org and workspace appear with it.
			r := runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "owner", "--name", "bootstrap", "--json")
			r.expect(t, exitOK)
			var owner tenancy.IssuedKey
			if err := json.Unmarshal([]byte(r.stdout), &owner); err != nil {
				t.Fatalf("--json output %q: %v", r.stdout, err)
			}
			if !tokenPattern.MatchString(owner.Token) || owner.OrgID != "acme" || owner.WorkspaceID != "prod" ||
				owner.Role != "owner" || owner.Name != "bootstrap" || owner.CreatedBy != "cli" {
				t.Fatalf("created key: %+v", owner)
			}

			r = runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "viewer",
				"--permission", "audit:read", "--expires-in", "720h")
			r.expect(t, exitOK)
			viewerToken := tokenPattern.FindString(r.stdout)
			if viewerToken == "" || !strings.Contains(r.stdout, "shown once") {
				t.Fatalf("human output: %q", r.stdout)
			}

			r = runCLI(t, env, "", "keys", "list", "--json")
			r.expect(t, exitOK)
			var list struct{ Items []tenancy.KeyInfo }
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list.Items) != 2 {
				t.Fatalf("list --json: %q (%v)", r.stdout, err)
			}
			if strings.Contains(r.stdout, owner.Token) || strings.Contains(r.stdout, viewerToken) {
				t.Fatal("list shows a token")
			}
			viewer := list.Items[0] // newest first
			if viewer.Role != "viewer" || viewer.ExpiresAt == nil || strings.Join(viewer.Permissions, ",") != "audit:read" {
				t.Errorf("viewer key: %+v", viewer)
			}
			r = runCLI(t, env, "", "keys", "list", "--workspace", "prod")
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "LAST USED") || !strings.Contains(r.stdout, owner.ID) {
				t.Errorf("list table: %q", r.stdout)
			}

			// A gateway on the same store accepts the CLI's keys ...
			gw := startGatewayOn(t, env)
			if status, body := get(t, gw, "/api/gateway-keys", owner.Token); status != 200 {
				t.Fatalf("owner token on the gateway: %d %s", status, body)
			}
			status, body := get(t, gw, "/api/audit?action=key.create", owner.Token)
			if status != 200 || strings.Count(body, `"actor_key_id":"cli"`) != 2 {
				t.Errorf("CLI changes are not in the audit log as actor cli: %d %s", status, body)
			}

			// ... and rotation and revocation from the CLI.
			r = runCLI(t, env, "", "keys", "rotate", viewer.ID, "--grace", "0s", "--json")
			r.expect(t, exitOK)
			var rotated tenancy.IssuedKey
			if err := json.Unmarshal([]byte(r.stdout), &rotated); err != nil || !tokenPattern.MatchString(rotated.Token) {
				t.Fatalf("rotate --json: %q (%v)", r.stdout, err)
			}
			r = runCLI(t, env, "", "keys", "revoke", owner.ID)
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "Revoked gateway key "+owner.ID) {
				t.Errorf("revoke output: %q", r.stdout)
			}
			{
				// A running gateway hears of the CLI's changes at once, on
				// either store.
				deadline := time.Now().Add(20 * time.Second)
				for {
					s1, _ := get(t, gw, "/api/traces", owner.Token)
					s2, _ := get(t, gw, "/api/traces", viewerToken)
					s3, _ := get(t, gw, "/api/traces", rotated.Token)
					if s1 == 401 && s2 == 401 && s3 == 200 {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("running gateway did not see the CLI's changes: %d %d %d", s1, s2, s3)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			fresh := startGatewayOn(t, env)
			for token, want := range map[string]int{owner.Token: 401, viewerToken: 401, rotated.Token: 200} {
				if status, body := get(t, fresh, "/api/traces", token); status != want {
					t.Errorf("after rotate and revoke: %d %s, want %d", status, body, want)
				}
			}

			// Mistakes.
			r = runCLI(t, env, "", "keys", "create", "--org", "acme")
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, "missing --workspace, --role") {
				t.Errorf("stderr: %q", r.stderr)
			}
			r = runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "root")
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, tenancy.MsgUnknownRole) {
				t.Errorf("stderr: %q", r.stderr)
			}
			r = runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "bad/ws", "--role", "viewer")
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, "workspace id must be 1 to 128 letters") {
				t.Errorf("stderr: %q", r.stderr)
			}
			r = runCLI(t, env, "", "keys", "rotate", "nope")
			r.expect(t, exitFail)
			if !strings.Contains(r.stderr, tenancy.MsgKeyNotFound) {
				t.Errorf("stderr: %q", r.stderr)
			}
			r = runCLI(t, env, "", "keys", "revoke")
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, "missing key ID") {
				t.Errorf("stderr: %q", r.stderr)
			}
		})
	}
}

func TestKeysHelpAndUnknownSubcommand(t *testing.T) {
	r := runCLI(t, nil, "", "help", "keys")
	r.expect(t, exitOK)
	for _, want := range []string{"create", "list", "rotate", "revoke"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help keys lacks %q: %q", want, r.stdout)
		}
	}
	r = runCLI(t, nil, "", "keys", "frobnicate")
	r.expect(t, exitUsage)
	r = runCLI(t, nil, "", "keys", "create", "-h")
	r.expect(t, exitOK)
	if !strings.Contains(r.stdout, "--org") && !strings.Contains(r.stdout, "-org") {
		t.Errorf("keys create -h: %q", r.stdout)
	}
}

// The operator role is granted by whoever runs the installation, through
// the CLI: the key reads the installation-wide diagnostics and no tenant's
// data.
func TestKeysCreateOperator(t *testing.T) {
	env := map[string]string{"ONGOINGAI_STORAGE_DRIVER": config.DriverSQLite, "ONGOINGAI_STORAGE_PATH": testdb.SQLitePath(t)}
	r := runCLI(t, env, "", "keys", "create", "--org", "ops", "--workspace", "ops", "--role", "operator", "--json")
	r.expect(t, exitOK)
	var op tenancy.IssuedKey
	if err := json.Unmarshal([]byte(r.stdout), &op); err != nil || op.Role != "operator" {
		t.Fatalf("created key: %q (%v)", r.stdout, err)
	}
	gw := startGatewayOn(t, env)
	if status, body := get(t, gw, "/api/diagnostics/trace-pipeline", op.Token); status != http.StatusOK {
		t.Errorf("operator reads the diagnostics: %d %s", status, body)
	}
	if status, body := get(t, gw, "/api/traces", op.Token); status != http.StatusForbidden {
		t.Errorf("operator reads traces: %d %s", status, body)
	}
}
