package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

func openAt(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Every conformance case: traces, rollups, retention, tenancy and audit,
// PII salts, key watching across two handles on one file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(*testing.T) store.TxStore[*sql.Tx] {
		path := testdb.SQLitePath(t)
		return func(t *testing.T) store.TxStore[*sql.Tx] { return openAt(t, path) }
	})
}

// Open creates missing directories and applies the connection settings the
// store relies on, on the writer and on the readers.
func TestOpenSettings(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "gateway.db")
	s := openAt(t, path)
	for name, db := range map[string]*sql.DB{"writer": s.DB(), "reader": s.ReadDB()} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"busy_timeout": "10000",
			"synchronous":  "1", // NORMAL
			"foreign_keys": "1",
		} {
			var got string
			if err := db.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s: PRAGMA %s: %v", name, pragma, err)
			}
			if got != want {
				t.Errorf("%s: %s = %s, want %s", name, pragma, got, want)
			}
		}
	}
	if got := s.DB().Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer allows %d connections, want 1", got)
	}
}

func TestReadDBRefusesWrites(t *testing.T) {
	s := openAt(t, testdb.SQLitePath(t))
	_, err := s.ReadDB().ExecContext(t.Context(), "DELETE FROM traces")
	if err == nil {
		t.Error("a write through ReadDB succeeded")
	}
}

func TestPathWithQueryCharactersIsRejected(t *testing.T) {
	_, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "a?b.db"))
	if err == nil {
		t.Error("Open accepted a path with '?'")
	}
}

// Reopening a file keeps its data and applies nothing twice.
func TestReopen(t *testing.T) {
	path := testdb.SQLitePath(t)
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	if err := s.InsertTraces(t.Context(), []trace.Record{{ID: "kept", Timestamp: ts}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	if _, err := s.GetTrace(t.Context(), store.Tenant{}, "kept"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
	all, err := migrate.Load(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(all) {
		t.Errorf("schema_migrations holds %d rows, want %d", recorded, len(all))
	}
}

// Several processes may open one new file at once (a server and a CLI
// command, say); each must come up, with every migration applied once.
func TestOpenConcurrently(t *testing.T) {
	path := testdb.SQLitePath(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			s, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
	s := openAt(t, path)
	all, err := migrate.Load(migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	if err := s.DB().QueryRowContext(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(all) {
		t.Errorf("schema_migrations holds %d rows, want %d", recorded, len(all))
	}
}

// A broken migration stops the run with an error naming its file; what ran
// before it stays, nothing of it does, and a fixed file resumes from there.
func TestMigrateStopsAtBrokenFile(t *testing.T) {
	files := fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE first (x INTEGER);")},
		"0002_broken.sql": {Data: []byte("CREATE TABLE second (x INTEGER);\nCREATE TABEL third (x INTEGER);")},
		"0003_after.sql":  {Data: []byte("CREATE TABLE after (x INTEGER);")},
	}
	// A bare file rather than a store: the store's own migrations already
	// hold these version numbers.
	other, err := sql.Open("sqlite", testdb.SQLitePath(t)+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })

	applied, err := sqlite.Migrate(t.Context(), other, files)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate error = %v, want one naming 0002_broken.sql", err)
	}
	if len(applied) != 1 || applied[0].Name != "0001_first.sql" {
		t.Errorf("applied = %v, want only 0001_first.sql", applied)
	}
	assertTables(t, other, map[string]bool{"first": true, "second": false, "after": false})

	files["0002_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE second (x INTEGER);")}
	applied, err = sqlite.Migrate(t.Context(), other, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 2 {
		t.Errorf("resumed run applied %v, want 0002 and 0003", applied)
	}
	assertTables(t, other, map[string]bool{"first": true, "second": true, "after": true})
}

func assertTables(t *testing.T, db *sql.DB, want map[string]bool) {
	t.Helper()
	for name, exists := range want {
		var n int
		err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", name).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if (n == 1) != exists {
			t.Errorf("table %s exists = %v, want %v", name, n == 1, exists)
		}
	}
}

// InsertTracesTx lets a caller commit or roll back a batch together with its
// own work.
func TestInsertTracesTxJoinsCallerTransaction(t *testing.T) {
	s := openAt(t, testdb.SQLitePath(t))
	ctx := t.Context()
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)

	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertTracesTx(ctx, tx, []trace.Record{{ID: "a", Timestamp: ts}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTrace(ctx, store.Tenant{}, "a"); err != store.ErrNotFound {
		t.Errorf("rolled-back trace: err = %v, want ErrNotFound", err)
	}

	tx, err = s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertTracesTx(ctx, tx, []trace.Record{{ID: "a", Timestamp: ts}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE caller_work (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTrace(ctx, store.Tenant{}, "a"); err != nil {
		t.Errorf("committed trace: %v", err)
	}
}

// BenchmarkInsertTraces reports traces/s and, from the file's size
// afterwards, bytes per trace with indexes included.
func BenchmarkInsertTraces(b *testing.B) {
	s := openAt(b, testdb.SQLitePath(b))
	n := storetest.BenchmarkInsertTraces(b, s)
	var bytes int64
	err := s.DB().QueryRowContext(context.Background(),
		"SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").Scan(&bytes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bytes)/float64(n), "B/trace")
}
