package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// A binary that finds the schema migrated past what it carries refuses
// before it changes anything, even a migration of its own still pending.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	db, err := sql.Open("sqlite", testdb.SQLitePath(t)+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	newer := fstest.MapFS{
		"0001_first.sql": {Data: []byte("CREATE TABLE first (x INTEGER);")},
		"0003_third.sql": {Data: []byte("CREATE TABLE third (x INTEGER);")},
	}
	if _, err := sqlite.Migrate(t.Context(), db, newer); err != nil {
		t.Fatal(err)
	}
	older := fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE first (x INTEGER);")},
		"0002_second.sql": {Data: []byte("CREATE TABLE second (x INTEGER);")},
	}
	applied, err := sqlite.Migrate(t.Context(), db, older)
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) || len(applied) != 0 {
		t.Fatalf("Migrate = %v, %v; want a *TooNewError and nothing applied", applied, err)
	}
	want := "store schema is version 3, this binary knows up to 2: upgrade the binary or restore the backup taken before the upgrade"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	assertTables(t, db, map[string]bool{"first": true, "second": false, "third": true})
}

// The real store, opened under each schema policy, on a file one
// migration behind and on one a migration ahead.
func TestOpenSchemaPolicies(t *testing.T) {
	all, err := migrate.Load(migrations.SQLite)
	if err != nil || len(all) < 2 {
		t.Fatal(err)
	}
	// Versions have gaps (numbers are reserved ahead): the one before the
	// latest is the previous file's.
	known, previous := all[len(all)-1].Version, all[len(all)-2].Version
	path := testdb.SQLitePath(t)
	s := openAt(t, path)
	// Forget the latest migration: the file is one migration behind, as
	// far as schema_migrations tells (the tables are there, which is what
	// lets RequireCurrent be told apart from a failed re-run).
	if _, err := s.DB().Exec("DELETE FROM schema_migrations WHERE version = ?", known); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	_, err = sqlite.Open(t.Context(), path, store.WithSchemaPolicy(store.RequireCurrent))
	var pending *migrate.PendingError
	if !errors.As(err, &pending) || len(pending.Pending) != 1 || pending.Pending[0].Version != known {
		t.Fatalf("RequireCurrent on a store one behind: %v, want a *PendingError naming %d", err, known)
	}
	asIs, err := sqlite.Open(t.Context(), path, store.WithSchemaPolicy(store.OpenAsIs))
	if err != nil {
		t.Fatal(err)
	}
	st, err := asIs.SchemaStatus(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Known != known || st.Current != previous || len(st.Pending) != 1 {
		t.Errorf("status = %+v, want current %d, known %d, one pending", st, previous, known)
	}
	// Written back as applied (the tables exist), then a newer binary's row.
	if _, err := asIs.DB().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'x.sql', 0), (?, '9999_future.sql', 0)", known, known+1); err != nil {
		t.Fatal(err)
	}
	_ = asIs.Close()
	for _, p := range []store.SchemaPolicy{store.MigrateAtOpen, store.RequireCurrent} {
		_, err := sqlite.Open(t.Context(), path, store.WithSchemaPolicy(p))
		var tooNew *migrate.TooNewError
		if !errors.As(err, &tooNew) || tooNew.Schema != known+1 || tooNew.Known != known {
			t.Errorf("policy %d on a newer schema: %v, want the version gate", p, err)
		}
	}
}

// A backup taken while another connection writes batch after batch is the
// database as of one instant: whole batches only, a sound file.
func TestBackupWhileWriting(t *testing.T) {
	path := testdb.SQLitePath(t)
	s := openAt(t, path)
	const perBatch = 7
	var (
		batches atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			batch := make([]trace.Record, perBatch)
			for j := range batch {
				batch[j] = trace.Record{
					ID: fmt.Sprintf("b%05d-%d", i, j), Timestamp: time.Now().UTC(),
					Provider: "openai", Model: "gpt-4o", ResponseStatus: 200, RequestMethod: "POST", RequestPath: "/openai/v1/chat/completions", Outcome: trace.OutcomeOK,
				}
			}
			if err := s.InsertTraces(t.Context(), batch); err != nil {
				t.Error(err)
				return
			}
			batches.Add(1)
		}
	})
	for batches.Load() < 20 {
		time.Sleep(time.Millisecond)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	err := s.Backup(t.Context(), out)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out + "-wal"); err == nil {
		t.Error("the backup has a -wal beside it: it is not self-contained")
	}

	b, err := sql.Open("sqlite", out+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var check string
	if err := b.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	var n int64
	if err := b.QueryRow("SELECT count(*) FROM traces").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n%perBatch != 0 || n > batches.Load()*perBatch {
		t.Errorf("backup holds %d traces: want whole batches of %d, at most %d of them", n, perBatch, batches.Load())
	}
	// The backup opens as a store, up to date.
	restored := openAt(t, out)
	st, err := restored.SchemaStatus(t.Context())
	if err != nil || len(st.Pending) != 0 || st.Current != st.Known {
		t.Errorf("restored status = %+v, %v", st, err)
	}

	// A second backup to the same name is refused and leaves the first.
	if err := s.Backup(t.Context(), out); !errors.Is(err, store.ErrBackupExists) {
		t.Errorf("second backup to %s: %v, want ErrBackupExists", out, err)
	}
}
