package testdb

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func count(t *testing.T, conn *pgx.Conn, query string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestPostgresDSNIsMigratedAndEmpty(t *testing.T) {
	conn := connect(t, PostgresDSN(t))
	if n := count(t, conn, "SELECT count(*) FROM schema_migrations"); n == 0 {
		t.Error("schema_migrations is empty: the database was not migrated")
	}
	if n := count(t, conn, "SELECT count(*) FROM traces"); n != 0 {
		t.Errorf("traces holds %d rows, want none", n)
	}
}

func TestEachCallGetsItsOwnDatabase(t *testing.T) {
	a, b := PostgresDSN(t), PostgresDSN(t)
	if a == b {
		t.Fatalf("two calls returned the same database: %s", a)
	}
	if _, err := connect(t, a).Exec(t.Context(), "CREATE TABLE only_in_a (x int)"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, connect(t, b), "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); n != 0 {
		t.Error("a table created in one test database shows up in another")
	}
}

func TestEmptyPostgresDSNHasNoTables(t *testing.T) {
	conn := connect(t, EmptyPostgresDSN(t))
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
		t.Errorf("%d tables in an empty database", n)
	}
}

// The database goes when its test ends, even with a session still open.
func TestDatabaseIsDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		conn := connect(t, PostgresDSN(t))
		if err := conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		// A session the test forgets to close.
		if _, err := pgx.Connect(t.Context(), withDatabase(AdminDSN(), name)); err != nil {
			t.Fatal(err)
		}
	})
	admin := connect(t, AdminDSN())
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name); n != 0 {
		t.Errorf("database %s still exists after its test", name)
	}
}

// A template left half-built by a crashed run is rebuilt, not cloned.
func TestIncompleteTemplateIsRebuilt(t *testing.T) {
	name := "ongoingai_tmpl_test_" + randomHex(4)
	admin := connect(t, AdminDSN())
	if _, err := admin.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_, _ = admin.Exec(ctx, "ALTER DATABASE "+name+" IS_TEMPLATE false")
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})

	if err := ensureTemplate(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if n := count(t, admin, "SELECT count(*) FROM pg_database WHERE datname = $1 AND datistemplate", name); n != 1 {
		t.Fatal("the rebuilt database is not marked as a template")
	}
	conn := connect(t, withDatabase(AdminDSN(), name))
	if n := count(t, conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'traces'"); n != 1 {
		t.Error("the rebuilt template has no traces table")
	}
}

func TestUnreachableServerSaysWhatToDo(t *testing.T) {
	t.Setenv(EnvPostgresDSN, "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=5")
	_, err := connectAdmin(t.Context())
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	for _, hint := range []string{".ci/postgres.sh", EnvPostgresDSN} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("error %q does not mention %s", err, hint)
		}
	}
}

func TestWithDatabase(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/postgres?sslmode=disable": "postgres://u:p@h:5432/t_1?sslmode=disable",
		"postgresql://h/postgres":                        "postgresql://h/t_1",
		"host=h user=u dbname=postgres":                  "host=h user=u dbname=postgres dbname=t_1",
	} {
		got := withDatabase(in, "t_1")
		if got != want {
			t.Errorf("withDatabase(%q) = %q, want %q", in, got, want)
		}
		// And pgx reads it the same way.
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Database != "t_1" {
			t.Errorf("pgx reads %q as database %q", got, cfg.Database)
		}
	}
}

func TestSQLitePath(t *testing.T) {
	p := SQLitePath(t)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s exists already (%v)", p, err)
	}
	if _, err := os.Stat(filepath.Dir(p)); err != nil {
		t.Errorf("its directory is missing: %v", err)
	}
}
