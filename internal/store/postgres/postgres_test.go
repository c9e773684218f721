package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

func openStore(t testing.TB) *postgres.Store {
	t.Helper()
	return openAtDSN(t, testdb.PostgresDSN(t))
}

func openPool(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Every conformance case: traces, rollups, retention, tenancy and audit,
// PII salts, key watching across two replicas' pools.
func TestConformance(t *testing.T) {
	storetest.Run(t, fresh)
}

// fresh makes a new database and opens stores on it.
func fresh(t *testing.T) func(*testing.T) store.TxStore[pgx.Tx] {
	return onDSN(testdb.PostgresDSN(t))
}

func onDSN(dsn string) func(*testing.T) store.TxStore[pgx.Tx] {
	return func(t *testing.T) store.TxStore[pgx.Tx] { return openAtDSN(t, dsn) }
}

func openAtDSN(t testing.TB, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Replicas starting together must not trip over each other's DDL: every
// runner succeeds and each migration is applied by exactly one of them.
func TestMigrateConcurrently(t *testing.T) {
	dsn := testdb.EmptyPostgresDSN(t)
	const runners = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied = map[int64]int{}
	)
	for range runners {
		pool := openPool(t, dsn) // one pool each, like separate processes
		wg.Go(func() {
			ms, err := postgres.Migrate(t.Context(), pool, migrations.Postgres)
			if err != nil {
				t.Errorf("Migrate: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				applied[m.Version]++
			}
		})
	}
	wg.Wait()

	all, err := migrate.Load(migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if applied[m.Version] != 1 {
			t.Errorf("%s applied %d times, want once", m.Name, applied[m.Version])
		}
	}
	var recorded int
	if err := openPool(t, dsn).QueryRow(t.Context(), "SELECT count(*) FROM schema_migrations").Scan(&recorded); err != nil {
		t.Fatal(err)
	}
	if recorded != len(all) {
		t.Errorf("schema_migrations holds %d rows, want %d", recorded, len(all))
	}
}

// A broken migration stops the run with an error naming its file; what ran
// before it stays, nothing of it does, and a fixed file resumes from there.
func TestMigrateStopsAtBrokenFile(t *testing.T) {
	pool := openPool(t, testdb.EmptyPostgresDSN(t))
	files := fstest.MapFS{
		"0001_first.sql":  {Data: []byte("CREATE TABLE first (x int);")},
		"0002_broken.sql": {Data: []byte("CREATE TABLE second (x int);\nCREATE TABEL third (x int);")},
		"0003_after.sql":  {Data: []byte("CREATE TABLE after (x int);")},
	}
	applied, err := postgres.Migrate(t.Context(), pool, files)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Migrate error = %v, want one naming 0002_broken.sql", err)
	}
	if len(applied) != 1 || applied[0].Name != "0001_first.sql" {
		t.Errorf("applied = %v, want only 0001_first.sql", applied)
	}
	assertTables(t, pool, map[string]bool{"first": true, "second": false, "after": false})

	files["0002_broken.sql"] = &fstest.MapFile{Data: []byte("CREATE TABLE second (x int);")}
	applied, err = postgres.Migrate(t.Context(), pool, files)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 2 {
		t.Errorf("resumed run applied %v, want 0002 and 0003", applied)
	}
	assertTables(t, pool, map[string]bool{"first": true, "second": true, "after": true})

	applied, err = postgres.Migrate(t.Context(), pool, files)
	if err != nil || len(applied) != 0 {
		t.Errorf("third run applied %v (err %v), want nothing", applied, err)
	}
}

func assertTables(t *testing.T, pool *pgxpool.Pool, want map[string]bool) {
	t.Helper()
	for name, exists := range want {
		var got bool
		err := pool.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got != exists {
			t.Errorf("table %s exists = %v, want %v", name, got, exists)
		}
	}
}

// InsertTracesTx lets a caller commit or roll back a batch together with its
// own work, also when the batch takes the duplicate path, which must leave
// the transaction usable.
func TestInsertTracesTxJoinsCallerTransaction(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	ts := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	first := []trace.Record{{ID: "a", Timestamp: ts}, {ID: "b", Timestamp: ts}}

	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.InsertTracesTx(ctx, tx, first); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	assertCount(t, s, 0)

	if err := s.InsertTraces(ctx, first); err != nil {
		t.Fatal(err)
	}
	err = pgx.BeginFunc(ctx, s.Pool(), func(tx pgx.Tx) error {
		// "a" is stored: COPY fails, the batch is retried row by row.
		if _, err := s.InsertTracesTx(ctx, tx, []trace.Record{{ID: "a", Timestamp: ts}, {ID: "c", Timestamp: ts}}); err != nil {
			return err
		}
		// The caller's own work in the same transaction.
		_, err := tx.Exec(ctx, "CREATE TABLE caller_work (x int)")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	assertCount(t, s, 3)
}

func assertCount(t *testing.T, s *postgres.Store, want int) {
	t.Helper()
	var got int
	if err := s.Pool().QueryRow(t.Context(), "SELECT count(*) FROM traces").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("traces holds %d rows, want %d", got, want)
	}
}

func TestOpenFailsClearlyWithoutServer(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=5")
	if err == nil || !strings.Contains(err.Error(), "postgres: connect") {
		t.Errorf("Open against a closed port: %v", err)
	}
}

// BenchmarkInsertTraces reports traces/s and, from the table's size on disk
// afterwards, bytes per trace with indexes included.
func BenchmarkInsertTraces(b *testing.B) {
	s := openStore(b)
	n := storetest.BenchmarkInsertTraces(b, s)
	var bytes int64
	err := s.Pool().QueryRow(context.Background(),
		"SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'traces'::regclass").Scan(&bytes)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(bytes)/float64(n), "B/trace")
}
