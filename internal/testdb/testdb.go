// Package testdb hands tests real databases: a fresh, migrated Postgres
// database per test, and a SQLite path per test. Every package's tests use
// it, so that "works against a real database" is the cheap default.
//
// Postgres databases are cloned from a template that holds the migrated
// schema (CREATE DATABASE ... TEMPLATE), which takes milliseconds where
// migrating each database would take far longer. The template is named after
// a hash of the migration files, so a change to them builds a new template
// instead of reusing a stale one, and it is built under an advisory lock, so
// the test binaries that `go test ./...` runs in parallel build it once.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
)

// EnvPostgresDSN names the environment variable holding the DSN of a
// Postgres role allowed to create databases. Tests create and drop their
// databases through it; they never touch the database it names.
const EnvPostgresDSN = "ONGOINGAI_TEST_POSTGRES_DSN"

// DefaultPostgresDSN is used when EnvPostgresDSN is unset: the local server
// that .ci/postgres.sh provides.
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockKey serializes template builds across test processes. It is
// "ongoingt" read as ASCII; the migration runner uses a different key, so
// the two never wait on each other.
const templateLockKey int64 = 0x6f6e676f696e6774

// setupTimeout bounds each administrative step, so a wedged server fails the
// test with a message instead of hanging it until the go test deadline.
const setupTimeout = 60 * time.Second

// PostgresDSN returns the DSN of a new database holding the current schema,
// empty of rows, for this test alone. It is dropped when the test ends, even
// if connections to it are still open.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	tmpl, err := template()
	if err != nil {
		t.Fatal(err)
	}
	return createDatabase(t, tmpl)
}

// EmptyPostgresDSN returns the DSN of a new database with no schema at all,
// for tests of migration itself. It is dropped when the test ends.
func EmptyPostgresDSN(t testing.TB) string {
	t.Helper()
	// template0 is Postgres's pristine template; template1 may carry local
	// additions.
	return createDatabase(t, "template0")
}

// OpenPostgres opens a store on a new database (PostgresDSN) through
// store/opener, as the gateway opens one, and closes it when the test ends.
func OpenPostgres(t testing.TB) store.TxStore[pgx.Tx] {
	t.Helper()
	return OpenPostgresAt(t, PostgresDSN(t))
}

// OpenPostgresAt opens a store on the database dsn names, closed when the
// test ends: a second handle on one database, as a replica would have.
func OpenPostgresAt(t testing.TB, dsn string) store.TxStore[pgx.Tx] {
	t.Helper()
	st, err := opener.Postgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// OpenSQLite opens a store on a new file (SQLitePath) through store/opener
// and closes it when the test ends.
func OpenSQLite(t testing.TB) store.TxStore[*sql.Tx] {
	t.Helper()
	return OpenSQLiteAt(t, SQLitePath(t))
}

// OpenSQLiteAt opens a store on the file at path, closed when the test
// ends: a second handle on one file, as another process would have.
func OpenSQLiteAt(t testing.TB, path string) store.TxStore[*sql.Tx] {
	t.Helper()
	st, err := opener.SQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// SQLitePath returns a path for a SQLite database file in a directory the
// test owns and removes afterwards. The file does not exist yet.
func SQLitePath(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "ongoingai.db")
}

// AdminDSN is the Postgres role databases are created through:
// EnvPostgresDSN, or DefaultPostgresDSN when it is unset.
func AdminDSN() string {
	if dsn := os.Getenv(EnvPostgresDSN); dsn != "" {
		return dsn
	}
	return DefaultPostgresDSN
}

// connectAdmin opens a session on the admin DSN, explaining what to do when
// there is no server.
func connectAdmin(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, AdminDSN())
	if err != nil {
		return nil, fmt.Errorf("testdb: cannot reach Postgres at %s: %v\n"+
			"Tests need a real Postgres. Start one on 127.0.0.1:5432 with `bash .ci/postgres.sh`, "+
			"or point %s at a role that may create databases.", redact(AdminDSN()), err, EnvPostgresDSN)
	}
	return conn, nil
}

func createDatabase(t testing.TB, tmpl string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	dsn, drop, err := newDatabase(ctx, "t_", tmpl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
		defer cancel()
		if err := drop(ctx); err != nil {
			t.Errorf("testdb: %v", err)
		}
	})
	return dsn
}

// NewPostgres is PostgresDSN for programs that run outside `go test`, such
// as the benchmark harness: a new database, named prefix and a random
// suffix, holding the current schema; drop removes it, ending any session
// still open on it.
func NewPostgres(ctx context.Context, prefix string) (dsn string, drop func(context.Context) error, err error) {
	tmpl, err := template()
	if err != nil {
		return "", nil, err
	}
	return newDatabase(ctx, prefix, tmpl)
}

func newDatabase(ctx context.Context, prefix, tmpl string) (string, func(context.Context) error, error) {
	admin, err := connectAdmin(ctx)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(ctx)
	name := prefix + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tmpl}.Sanitize())); err != nil {
		return "", nil, fmt.Errorf("testdb: create database %s from %s: %w", name, tmpl, err)
	}
	drop := func(ctx context.Context) error { return dropDatabase(ctx, name) }
	return withDatabase(AdminDSN(), name), drop, nil
}

func dropDatabase(ctx context.Context, name string) error {
	admin, err := connectAdmin(ctx)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)
	// FORCE ends sessions a test left open (a leaked pool, a timed-out
	// query) instead of failing the drop.
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)",
		pgx.Identifier{name}.Sanitize())); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// The template is built at most once per process; a failure is not cached,
// so every test that needs it reports the cause.
var (
	templateMu   sync.Mutex
	templateName string
)

// template returns the name of a database holding the migrated schema,
// building it if no process has yet.
func template() (string, error) {
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateName != "" {
		return templateName, nil
	}
	name, err := templateFor(migrations.Postgres)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	if err := ensureTemplate(ctx, name); err != nil {
		return "", err
	}
	templateName = name
	return name, nil
}

// templateFor names the template after the migrations it holds.
func templateFor(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		// Length-prefix both parts so that moving bytes between a name and a
		// body cannot produce the same hash.
		fmt.Fprintf(h, "%d:%s%d:", len(path), path, len(body))
		h.Write(body)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("testdb: hash migrations: %w", err)
	}
	return "ongoingai_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// ensureTemplate makes sure the template database exists and is complete.
// Completion is marked by flagging it a template (datistemplate), which
// happens only after migration succeeded: a database of that name without
// the flag is the leftover of a crashed build and is rebuilt.
func ensureTemplate(ctx context.Context, name string) error {
	admin, err := connectAdmin(ctx)
	if err != nil {
		return err
	}
	defer admin.Close(ctx)

	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLockKey); err != nil {
		return fmt.Errorf("testdb: template lock: %w", err)
	}
	// Closing the session (deferred above) would release the lock too; this
	// releases it as soon as the template is ready.
	defer func() { _, _ = admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", templateLockKey) }()

	var ready *bool
	err = admin.QueryRow(ctx, "SELECT datistemplate FROM pg_database WHERE datname = $1", name).Scan(&ready)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("testdb: look up template: %w", err)
	}
	if ready != nil && *ready {
		return nil
	}
	quoted := pgx.Identifier{name}.Sanitize()
	if ready != nil {
		if _, err := admin.Exec(ctx, "DROP DATABASE "+quoted+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("testdb: drop incomplete template %s: %w", name, err)
		}
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+quoted+" TEMPLATE template0"); err != nil {
		return fmt.Errorf("testdb: create template %s: %w", name, err)
	}
	// Opening runs the migrations, exactly as the gateway does.
	st, err := opener.Postgres(ctx, withDatabase(AdminDSN(), name))
	if err != nil {
		return fmt.Errorf("testdb: migrate template %s: %w", name, err)
	}
	// Cloning requires that nobody is connected to the template.
	_ = st.Close()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+quoted+" IS_TEMPLATE true"); err != nil {
		return fmt.Errorf("testdb: mark template %s: %w", name, err)
	}
	return nil
}

// withDatabase returns dsn pointed at database name. It handles both forms
// pgx accepts: URLs and key=value strings (where a later key wins).
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}

// redact hides a password in a DSN before it goes into a test log.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
