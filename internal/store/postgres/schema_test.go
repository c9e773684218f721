package postgres_test

import (
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// A binary that finds the schema migrated past what it carries refuses
// before it changes anything, even a migration of its own still pending.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	pool := openPool(t, testdb.EmptyPostgresDSN(t))
	newer := fstest.MapFS{
		"0001_first.sql": {Data: []byte("CREATE TABLE first (x int);")},
		"0003_third.sql": {Data: []byte("CREATE TABLE third (x int);")},
	}
	if _, err := postgres.Migrate(t.Context(), pool, newer); err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE first (x int);")},
		"0002_second.sql": {Data: []byte("CREATE TABLE second (x int);")},
	}
	applied, err := postgres.Migrate(t.Context(), pool, older)
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) || len(applied) != 0 {
		t.Fatalf("Migrate = %v, %v; want a *TooNewError and nothing applied", applied, err)
	}
	want := "store schema is version 3, this binary knows up to 2: upgrade the binary or restore the backup taken before the upgrade"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	assertTables(t, pool, map[string]bool{"first": true, "second": false, "third": true})
}

func TestOpenSchemaPolicies(t *testing.T) {
	all, err := migrate.Load(migrations.Postgres)
	if err != nil || len(all) == 0 {
		t.Fatal(err)
	}
	known, n := all[len(all)-1].Version, len(all)
	dsn := testdb.EmptyPostgresDSN(t)
	// Nothing applied: RequireCurrent refuses, naming every migration;
	// OpenAsIs opens and reports them pending.
	_, err = postgres.Open(t.Context(), dsn, store.WithSchemaPolicy(store.RequireCurrent))
	var pending *migrate.PendingError
	if !errors.As(err, &pending) || len(pending.Pending) != n || pending.Current != 0 {
		t.Fatalf("RequireCurrent on an empty database: %v, want a *PendingError naming all %d", err, n)
	}
	asIs, err := postgres.Open(t.Context(), dsn, store.WithSchemaPolicy(store.OpenAsIs))
	if err != nil {
		t.Fatal(err)
	}
	st, err := asIs.SchemaStatus(t.Context())
	if err != nil || st.Current != 0 || st.Known != known || len(st.Pending) != n {
		t.Fatalf("status of an empty database = %+v, %v", st, err)
	}
	applied, err := asIs.MigrateUp(t.Context())
	if err != nil || len(applied) != n {
		t.Fatalf("MigrateUp = %d migrations, %v; want %d", len(applied), err, n)
	}
	if _, err := asIs.Pool().Exec(t.Context(), "INSERT INTO schema_migrations (version, name) VALUES ($1, '9999_future.sql')", known+1); err != nil {
		t.Fatal(err)
	}
	_ = asIs.Close()
	for _, p := range []store.SchemaPolicy{store.MigrateAtOpen, store.RequireCurrent} {
		_, err := postgres.Open(t.Context(), dsn, store.WithSchemaPolicy(p))
		var tooNew *migrate.TooNewError
		if !errors.As(err, &tooNew) || tooNew.Schema != known+1 || tooNew.Known != known {
			t.Errorf("policy %d on a newer schema: %v, want the version gate", p, err)
		}
	}
}

// pg_dump's custom-format backup restores with pg_restore into a database
// that holds the same traces.
func TestBackupWithPgDump(t *testing.T) {
	s := openStore(t)
	var batch []trace.Record
	for i := range 25 {
		batch = append(batch, trace.Record{
			ID: fmt.Sprintf("t%03d", i), Timestamp: time.Now().UTC().Add(-time.Duration(i) * time.Minute),
			Provider: "openai", Model: "gpt-4o", ResponseStatus: 200, RequestMethod: "POST",
			RequestPath: "/openai/v1/chat/completions", Outcome: trace.OutcomeOK, InputTokens: int64(i),
		})
	}
	if err := s.InsertTraces(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "gw.dump")
	if err := s.Backup(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	target := testdb.EmptyPostgresDSN(t)
	if msg, err := osexec.Command("pg_restore", "--no-owner", "--dbname="+target, out).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, msg)
	}
	restored, err := postgres.Open(t.Context(), target, store.WithSchemaPolicy(store.RequireCurrent))
	if err != nil {
		t.Fatalf("the restored database is not a current store: %v", err)
	}
	defer restored.Close()
	var n, tokens int64
	if err := restored.Pool().QueryRow(t.Context(), "SELECT count(*), sum(input_tokens) FROM traces").Scan(&n, &tokens); err != nil {
		t.Fatal(err)
	}
	if n != 25 || tokens != 300 {
		t.Errorf("restored %d traces with %d input tokens, want 25 and 300", n, tokens)
	}
	if err := s.Backup(t.Context(), out); !errors.Is(err, store.ErrBackupExists) {
		t.Errorf("second backup to %s: %v, want ErrBackupExists", out, err)
	}
}

// Without pg_dump on PATH, Backup hands back the command, and that command
// run as printed (where pg_dump is) takes the backup.
func TestBackupWithoutPgDumpPrintsTheCommand(t *testing.T) {
	s := openStore(t)
	pgDump, err := osexec.LookPath("pg_dump")
	if err != nil {
		t.Fatal("pg_dump is needed to run the printed command: install postgresql-client")
	}
	t.Setenv("PATH", t.TempDir())
	out := filepath.Join(t.TempDir(), "gw.dump")
	err = s.Backup(t.Context(), out)
	var manual *store.ManualBackupError
	if !errors.As(err, &manual) || !strings.HasPrefix(manual.Command, "pg_dump --format=custom --file="+out+" ") {
		t.Fatalf("Backup without pg_dump = %v, want a ManualBackupError with the command", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a file was written without pg_dump")
	}
	cmd := osexec.Command("/bin/sh", "-c", manual.Command)
	cmd.Env = []string{"PATH=" + filepath.Dir(pgDump)}
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the printed command failed: %v\n%s", err, msg)
	}
	if info, err := os.Stat(out); err != nil || info.Size() == 0 {
		t.Fatalf("the printed command wrote no backup: %v", err)
	}
}
