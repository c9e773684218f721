package postgres_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/storetest"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// The conformance cases with the retention cutoff's day in a partition of
// its own and the day before it in DEFAULT: retention reaches rows
// wherever they live, and nothing else changes.
func TestConformancePartitioned(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func(*testing.T) store.TxStore[pgx.Tx] {
		dsn := testdb.PostgresDSN(t)
		s := openAtDSN(t, dsn)
		day := storetest.RetentionBase
		created, err := s.EnsureTracePartitions(t.Context(), day, day)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"traces_p20250410"}; !reflect.DeepEqual(created, want) {
			t.Fatalf("EnsureTracePartitions created %v, want %v", created, want)
		}
		return onDSN(dsn)
	})
}

// The life of day partitions: created ahead except where DEFAULT already
// holds the day, rows routed to their day, indexes inherited, expired days
// dropped whole, and every read and write working before and after, for
// rows in DEFAULT too.
func TestTracePartitions(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	day0 := time.Date(2025, 5, 6, 0, 0, 0, 0, time.UTC)
	at := func(days int, h time.Duration) time.Time { return day0.AddDate(0, 0, days).Add(h) }
	rec := func(id string, ts time.Time) trace.Record {
		return trace.Record{ID: id, Timestamp: ts, CreatedAt: ts, Provider: "openai", Model: "m", InputTokens: 7}
	}

	// A trace already in DEFAULT for day 0, before any partition exists.
	if err := s.InsertTraces(ctx, []trace.Record{rec("d0-early", at(0, 8*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	created, err := s.EnsureTracePartitions(ctx, at(0, 12*time.Hour), at(3, 12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"traces_p20250507", "traces_p20250508", "traces_p20250509"}; !reflect.DeepEqual(created, want) {
		t.Fatalf("created %v, want %v (day 0 stays in DEFAULT, which holds a row of it)", created, want)
	}
	if again, err := s.EnsureTracePartitions(ctx, at(0, 0), at(3, 0)); err != nil || len(again) != 0 {
		t.Fatalf("second EnsureTracePartitions = %v, %v; want nothing new", again, err)
	}
	wantPartitions := []string{"traces_default", "traces_p20250507", "traces_p20250508", "traces_p20250509"}
	assertPartitions(t, s, wantPartitions)
	// Indexes declared on the parent exist on every partition, new ones too.
	for _, p := range wantPartitions {
		if got := indexCount(t, s, p); got != indexCount(t, s, "traces") {
			t.Errorf("%s has %d indexes, traces %d", p, got, indexCount(t, s, "traces"))
		}
	}

	batch := []trace.Record{
		rec("d0-late", at(0, 20*time.Hour)),
		rec("d1", at(1, 10*time.Hour)),
		rec("d2", at(2, 10*time.Hour)),
		rec("d3", at(3, 23*time.Hour+59*time.Minute)),
		rec("d9", at(9, 0)), // no partition that far ahead: DEFAULT
	}
	if err := s.InsertTraces(ctx, batch); err != nil {
		t.Fatal(err)
	}
	assertHomes(t, s, map[string]string{
		"d0-early": "traces_default", "d0-late": "traces_default",
		"d1": "traces_p20250507", "d2": "traces_p20250508", "d3": "traces_p20250509",
		"d9": "traces_default",
	})

	// Everything started before day 2 expires: day 1's partition ends at
	// day 2 and goes whole; day 2's ends later and stays. Day 0 lives in
	// DEFAULT and goes by DeleteTraces.
	dropped, err := s.DropTracePartitions(ctx, at(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"traces_p20250507"}; !reflect.DeepEqual(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	assertPartitions(t, s, []string{"traces_default", "traces_p20250508", "traces_p20250509"})
	var exists bool
	if err := s.Pool().QueryRow(ctx, "SELECT to_regclass('traces_p20250507') IS NOT NULL").Scan(&exists); err != nil || exists {
		t.Fatalf("traces_p20250507 still exists (%v, %v)", exists, err)
	}
	if n, err := s.DeleteTraces(ctx, at(2, 0), 10); err != nil || n != 2 {
		t.Fatalf("DeleteTraces after the drop = %d, %v; want the 2 day-0 rows in DEFAULT", n, err)
	}

	// Reads and writes carry on; a trace for the dropped day lands in DEFAULT.
	late := rec("d1-late", at(1, 11*time.Hour))
	if err := s.InsertTraces(ctx, []trace.Record{late}); err != nil {
		t.Fatal(err)
	}
	assertHomes(t, s, map[string]string{"d1-late": "traces_default", "d2": "traces_p20250508", "d9": "traces_default"})
	page, next, err := s.ListTraces(ctx, store.TraceFilter{Limit: 10})
	if err != nil || next != nil {
		t.Fatalf("ListTraces: next %v, err %v", next, err)
	}
	var got []string
	for _, r := range page {
		got = append(got, r.ID)
	}
	if want := []string{"d9", "d3", "d2", "d1-late"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("ListTraces ids = %v, want %v", got, want)
	}
	for _, id := range []string{"d1-late", "d2", "d9"} {
		r, err := s.GetTrace(ctx, store.Tenant{}, id)
		if err != nil || r.ID != id || r.InputTokens != 7 {
			t.Errorf("GetTrace(%q) = %q, %d tokens, %v", id, r.ID, r.InputTokens, err)
		}
	}

	// A partition an operator attached by hand is never dropped, nor is
	// DEFAULT, however late the cutoff.
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE traces_archive PARTITION OF traces
		FOR VALUES FROM ('2020-01-01T00:00:00Z') TO ('2021-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	dropped, err = s.DropTracePartitions(ctx, at(30, 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"traces_p20250508", "traces_p20250509"}; !reflect.DeepEqual(dropped, want) {
		t.Fatalf("dropped %v, want %v", dropped, want)
	}
	assertPartitions(t, s, []string{"traces_archive", "traces_default"})
}

// assertPartitions checks the partitions pg_inherits lists for traces.
func assertPartitions(t *testing.T, s *postgres.Store, want []string) {
	t.Helper()
	rows, err := s.Pool().Query(t.Context(), `SELECT c.relname::text FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'traces'::regclass ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("partitions of traces = %v, want %v", got, want)
	}
}

// assertHomes checks which partition holds each trace id.
func assertHomes(t *testing.T, s *postgres.Store, want map[string]string) {
	t.Helper()
	for id, table := range want {
		var got string
		if err := s.Pool().QueryRow(t.Context(),
			"SELECT tableoid::regclass::text FROM traces WHERE id = $1", id).Scan(&got); err != nil {
			t.Fatalf("trace %q: %v", id, err)
		}
		if got != table {
			t.Errorf("trace %q is in %s, want %s", id, got, table)
		}
	}
}

func indexCount(t *testing.T, s *postgres.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(t.Context(),
		"SELECT count(*) FROM pg_index WHERE indrelid = $1::regclass", table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
