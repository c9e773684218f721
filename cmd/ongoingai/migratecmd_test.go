package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/testdb"
)

// storeEnv is the config overlay naming a fresh store of driver: a path
// with no file yet, or an empty Postgres database (no schema at all).
func storeEnv(t *testing.T, driver string) map[string]string {
	t.Helper()
	env := map[string]string{"ONGOINGAI_HOST": "127.0.0.1", "ONGOINGAI_STORAGE_DRIVER": driver}
	if driver == config.DriverSQLite {
		env["ONGOINGAI_STORAGE_PATH"] = filepath.Join(t.TempDir(), "gw.db")
	} else {
		env["ONGOINGAI_STORAGE_DSN"] = testdb.EmptyPostgresDSN(t)
	}
	return env
}

// execStore runs one statement on the store env names, behind the
// gateway's back: a newer binary's bookkeeping row, say.
func execStore(t *testing.T, env map[string]string, stmt string, args ...any) {
	t.Helper()
	if env["ONGOINGAI_STORAGE_DRIVER"] == config.DriverPostgres {
		conn, err := pgx.Connect(context.Background(), env["ONGOINGAI_STORAGE_DSN"])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), strings.ReplaceAll(stmt, "?", "$1"), args...); err != nil {
			t.Fatal(err)
		}
		return
	}
	db, err := sql.Open("sqlite", env["ONGOINGAI_STORAGE_PATH"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatal(err)
	}
}

// shippedMigrations is how many migrations the binary carries.
func shippedMigrations(t *testing.T) int {
	t.Helper()
	ms, err := migrate.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

type statusJSON struct {
	Driver  string `json:"driver"`
	Schema  int64  `json:"schema"`
	Known   int64  `json:"known"`
	Applied []struct {
		Version int64  `json:"version"`
		Name    string `json:"name"`
	} `json:"applied"`
	Pending []struct {
		Version int64  `json:"version"`
		Name    string `json:"name"`
	} `json:"pending"`
}

func migrateStatus(t *testing.T, env map[string]string, wantCode int) statusJSON {
	t.Helper()
	r := runCLI(t, env, "", "migrate", "status", "--json")
	r.expect(t, wantCode)
	var s statusJSON
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("migrate status --json: %v\n%s", err, r.stdout)
	}
	return s
}

// The operator's path with storage.auto_migrate off: serve refuses a store
// with pending migrations and says what to do; migrate status lists them,
// migrate up applies them, then serve starts.
func TestMigrateCommandsAndAutoMigrateOff(t *testing.T) {
	known, err := schemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	n := shippedMigrations(t) // versions have gaps: numbers are reserved ahead
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := storeEnv(t, driver)
			env["ONGOINGAI_STORAGE_AUTO_MIGRATE"] = "false"
			if driver == config.DriverSQLite {
				// migrate refuses a missing file (a typo must not create one).
				r := runCLI(t, env, "", "migrate", "status")
				r.expect(t, 1)
				if !strings.Contains(r.stderr, "no database at") {
					t.Fatalf("stderr = %q", r.stderr)
				}
				execStore(t, env, "CREATE TABLE unrelated (x)") // a file, nothing applied
			}

			r := runCLI(t, env, "", "serve")
			r.expect(t, 1)
			want := fmt.Sprintf("store schema is version 0, this binary needs %d: %d pending migration(s) (0001_traces.sql, ", known, n)
			if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "run `ongoingai migrate up`") {
				t.Fatalf("serve with pending migrations and auto_migrate off: stderr = %q, want %q", r.stderr, want)
			}
			rep := runDoctorJSON(t, env, 1)
			if s := statusOf(t, rep, "storage"); s.Status != statusFail || !strings.Contains(s.Message, "pending migration(s)") {
				t.Errorf("doctor storage = %+v", s)
			}

			s := migrateStatus(t, env, 0)
			if s.Driver != driver || s.Schema != 0 || s.Known != known || len(s.Pending) != n || len(s.Applied) != 0 {
				t.Fatalf("status before up = %+v", s)
			}
			r = runCLI(t, env, "", "migrate", "status")
			r.expect(t, 0)
			if !strings.Contains(r.stdout, "pending  0001 0001_traces.sql") {
				t.Errorf("text status:\n%s", r.stdout)
			}

			r = runCLI(t, env, "", "migrate", "up")
			r.expect(t, 0)
			if strings.Count(r.stdout, "applied  ") != n || !strings.Contains(r.stdout, fmt.Sprintf("schema is version %d, up to date", known)) {
				t.Fatalf("migrate up:\n%s", r.stdout)
			}
			s = migrateStatus(t, env, 0)
			if s.Schema != known || len(s.Pending) != 0 || len(s.Applied) != n {
				t.Fatalf("status after up = %+v", s)
			}
			r = runCLI(t, env, "", "migrate", "up")
			r.expect(t, 0)
			if strings.Contains(r.stdout, "applied  ") {
				t.Errorf("second migrate up applied something:\n%s", r.stdout)
			}
			rep = runDoctorJSON(t, env, 0)
			if s := statusOf(t, rep, "storage"); s.Status != statusOK {
				t.Errorf("doctor storage after up = %+v", s)
			}
			startServe(t, env).stop()
		})
	}
}

// The version gate: a store migrated by a newer binary is refused by
// serve, doctor, migrate up and migrate status, all with one message, and
// nothing is changed.
func TestVersionGate(t *testing.T) {
	known, err := schemaVersion()
	if err != nil {
		t.Fatal(err)
	}
	n := shippedMigrations(t)
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := storeEnv(t, driver)
			runCLI(t, env, "", "migrate", "up").expect(t, 0)
			future := known + 2
			execStore(t, env, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, '9999_future.sql', "+
				map[string]string{config.DriverSQLite: "0", config.DriverPostgres: "now()"}[driver]+")", future)
			want := "store schema is version " + strconv.FormatInt(future, 10) + ", this binary knows up to " +
				strconv.FormatInt(known, 10) + ": upgrade the binary or restore the backup taken before the upgrade"

			for _, args := range [][]string{{"serve"}, {"migrate", "up"}, {"migrate", "status"}} {
				r := runCLI(t, env, "", args...)
				r.expect(t, 1)
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%v: stderr = %q, want %q", args, r.stderr, want)
				}
			}
			env["ONGOINGAI_STORAGE_AUTO_MIGRATE"] = "false"
			if r := runCLI(t, env, "", "serve"); r.code != 1 || !strings.Contains(r.stderr, want) {
				t.Errorf("serve with auto_migrate off: exit %d, stderr %q", r.code, r.stderr)
			}
			delete(env, "ONGOINGAI_STORAGE_AUTO_MIGRATE")
			rep := runDoctorJSON(t, env, 1)
			if s := statusOf(t, rep, "storage"); s.Status != statusFail || !strings.Contains(s.Message, want) {
				t.Errorf("doctor storage = %+v", s)
			}
			s := migrateStatus(t, env, 1)
			if s.Schema != future || s.Known != known || len(s.Pending) != 0 || len(s.Applied) != n+1 {
				t.Errorf("status = %+v: nothing should have changed", s)
			}
		})
	}
}

func TestBackupCommand(t *testing.T) {
	for _, driver := range []string{config.DriverSQLite, config.DriverPostgres} {
		t.Run(driver, func(t *testing.T) {
			env := storeEnv(t, driver)
			runCLI(t, env, "", "migrate", "up").expect(t, 0)
			out := filepath.Join(t.TempDir(), "before-upgrade.bak")
			r := runCLI(t, env, "", "backup", "--out", out)
			r.expect(t, 0)
			if !strings.Contains(r.stdout, "backup of the "+driver+" store written to "+out) {
				t.Errorf("stdout = %q", r.stdout)
			}
			r = runCLI(t, env, "", "backup", "--out", out)
			r.expect(t, 1)
			if !strings.Contains(r.stderr, "already exists") {
				t.Errorf("second backup: stderr = %q", r.stderr)
			}
		})
	}
	r := runCLI(t, nil, "", "backup")
	r.expect(t, 2)
	if !strings.Contains(r.stderr, "--out is required") {
		t.Errorf("stderr = %q", r.stderr)
	}
}
