package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/testdb"
)

func TestLimitsCommands(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := map[string]string{"ONGOINGAI_STORAGE_DRIVER": driver}
			if driver == config.DriverSQLite {
				env["ONGOINGAI_STORAGE_PATH"] = testdb.SQLitePath(t)
			} else {
				env["ONGOINGAI_STORAGE_DSN"] = testdb.PostgresDSN(t)
			}
			// A bad --limit is refused before anything is created.
			r := runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "owner", "--limit", "usd_per_week=5")
			r.expect(t, exitUsage)
			r = runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "owner", "--limit", "usd_per_day=-1")
			r.expect(t, exitUsage)
			if !strings.Contains(r.stderr, "usd_per_day: must not be negative") {
				t.Errorf("stderr %q", r.stderr)
			}

			r = runCLI(t, env, "", "keys", "create", "--org", "acme", "--workspace", "prod", "--role", "owner", "--json",
				"--limit", "usd_per_day=5", "--limit", "requests_per_minute=60")
			r.expect(t, exitOK)
			var k tenancy.IssuedKey
			if err := json.Unmarshal([]byte(r.stdout), &k); err != nil {
				t.Fatalf("%q: %v", r.stdout, err)
			}

			r = runCLI(t, env, "", "limits", "show", "--key", k.ID, "--json")
			r.expect(t, exitOK)
			var v limits.View
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Fatalf("%q: %v", r.stdout, err)
			}
			if d := v.Limits["usd_per_day"]; d.Limit != 5 || d.Source != "override" || d.Used != 0 {
				t.Errorf("usd_per_day %+v", d)
			}
			if d := v.Limits["tokens_per_day"]; d.Limit != 0 || d.Source != "default" {
				t.Errorf("tokens_per_day %+v", d)
			}

			// set replaces the overrides whole; names left out keep defaults.
			r = runCLI(t, env, "", "limits", "set", "--workspace", "acme/prod", "tokens_per_minute=1000", "usd_per_month=20")
			r.expect(t, exitOK)
			if !strings.Contains(r.stdout, "workspace:acme/prod") || !strings.Contains(r.stdout, "tokens_per_minute") {
				t.Errorf("set output %q", r.stdout)
			}
			r = runCLI(t, env, "", "limits", "set", "--key", k.ID, "requests_per_minute=default", "--json")
			r.expect(t, exitOK)
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Fatalf("%q: %v", r.stdout, err)
			}
			if d := v.Limits["usd_per_day"]; d.Limit != 0 || d.Source != "default" {
				t.Errorf("after set: usd_per_day %+v", d)
			}

			r = runCLI(t, env, "", "limits", "show", "--key", "nope")
			r.expect(t, exitFail)
			r = runCLI(t, env, "", "limits", "show")
			r.expect(t, exitUsage)
			r = runCLI(t, env, "", "limits", "set", "--key", k.ID, "bogus")
			r.expect(t, exitUsage)
		})
	}
}
