package harness

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	// The "sqlite" database/sql driver, to count and size what the
	// gateway stored without going through the gateway.
	_ "modernc.org/sqlite"

	"github.com/ongoingai/gateway/internal/testdb"
)

// storage is one throwaway database for one driver: a SQLite file in a
// temporary directory, or a Postgres database that internal/testdb clones
// from its migrated template (through the role of
// ONGOINGAI_TEST_POSTGRES_DSN, the local server by default) and drops
// after the run.
type storage struct {
	driver   string
	path     string // sqlite
	dsn      string // postgres
	dropping func(context.Context) error
}

func newStorage(ctx context.Context, driver, dir string) (*storage, error) {
	switch driver {
	case "sqlite":
		return &storage{driver: driver, path: filepath.Join(dir, "ongoingai.db")}, nil
	case "postgres":
		dsn, drop, err := testdb.NewPostgres(ctx, "bench_")
		if err != nil {
			return nil, fmt.Errorf("%w (or pass -drivers sqlite)", err)
		}
		return &storage{driver: driver, dsn: dsn, dropping: drop}, nil
	}
	return nil, fmt.Errorf("unknown driver %q (want sqlite or postgres)", driver)
}

// drop removes the database; the SQLite file goes with the run's directory.
func (s *storage) drop(ctx context.Context) error {
	if s.dropping == nil {
		return nil
	}
	return s.dropping(ctx)
}

// footprint is what the gateway stored, table by table: the traces with
// their indexes (and TOAST), the rollups apart (hourly and daily tiers with
// their indexes), and River's job table, which holds each batch's rollup
// job (with its folded rows) until it is applied and, completed, for ten
// minutes more.
type footprint struct {
	Traces int64
	Bytes  int64
	How    string // how Bytes was measured, for the report
	// RollupRows counts the rows of both rollup tiers, RollupBytes their
	// size with indexes; RollupRequests is the requests the hourly tier
	// counts, which must equal Traces once every batch is rolled up.
	RollupRows, RollupBytes, RollupRequests int64
	// JobRows and JobBytes are River's job table (every kind of job).
	JobRows, JobBytes int64
	OtherHow          string // how the rollup and job tables were sized
	// Parts splits Bytes: the table itself and each of its indexes,
	// largest first.
	Parts []part
}

// part is one relation of the traces table: its heap (or b-tree), TOAST,
// or an index.
type part struct {
	Name  string
	Bytes int64
}

// measure counts and sizes what was stored. For SQLite it must run after
// the gateway closed the file, so the WAL is checkpointed into it.
func (s *storage) measure(ctx context.Context) (footprint, error) {
	if s.driver == "postgres" {
		conn, err := pgx.Connect(ctx, s.dsn)
		if err != nil {
			return footprint{}, err
		}
		defer conn.Close(ctx)
		var f footprint
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM traces").Scan(&f.Traces); err != nil {
			return f, err
		}
		// Every partition with its indexes and TOAST; the partitioned
		// parent itself holds nothing.
		err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(relid)), 0)
			FROM pg_partition_tree('traces') WHERE isleaf`).Scan(&f.Bytes)
		f.How = "pg_total_relation_size over the leaf partitions of traces (heap, indexes, TOAST)"
		if err != nil {
			return f, err
		}
		// The same bytes by part: each partitioned index summed over its
		// leaves, the heaps, and the rest (TOAST, free-space and
		// visibility maps).
		rows, err := conn.Query(ctx, `WITH leaves AS (SELECT relid FROM pg_partition_tree('traces') WHERE isleaf)
			SELECT 'heap', coalesce(sum(pg_relation_size(relid)), 0)::bigint FROM leaves
			UNION ALL
			SELECT 'TOAST, free-space and visibility maps', coalesce(sum(pg_table_size(relid) - pg_relation_size(relid)), 0)::bigint FROM leaves
			UNION ALL
			SELECT i.indexrelid::regclass::text,
				(SELECT coalesce(sum(pg_relation_size(t.relid)), 0) FROM pg_partition_tree(i.indexrelid) t WHERE t.isleaf)::bigint
			FROM pg_index i WHERE i.indrelid = 'traces'::regclass`)
		if err != nil {
			return f, err
		}
		if f.Parts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (part, error) {
			var p part
			return p, r.Scan(&p.Name, &p.Bytes)
		}); err != nil {
			return f, err
		}
		sortParts(f.Parts)
		err = conn.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM trace_rollups) + (SELECT count(*) FROM trace_rollups_daily),
				pg_total_relation_size('trace_rollups') + pg_total_relation_size('trace_rollups_daily') +
					pg_total_relation_size('rollup_batches'),
				(SELECT coalesce(sum(requests), 0)::bigint FROM trace_rollups),
				(SELECT count(*) FROM river_job),
				pg_total_relation_size('river_job')`).
			Scan(&f.RollupRows, &f.RollupBytes, &f.RollupRequests, &f.JobRows, &f.JobBytes)
		f.OtherHow = "pg_total_relation_size (heap, indexes, TOAST)"
		return f, err
	}
	db, err := sql.Open("sqlite", "file:"+s.path+"?mode=ro")
	if err != nil {
		return footprint{}, err
	}
	defer db.Close()
	var f footprint
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM traces").Scan(&f.Traces); err != nil {
		return f, err
	}
	if err := db.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM trace_rollups) + (SELECT count(*) FROM trace_rollups_daily),
			(SELECT coalesce(sum(requests), 0) FROM trace_rollups),
			(SELECT count(*) FROM river_job)`).Scan(&f.RollupRows, &f.RollupRequests, &f.JobRows); err != nil {
		return f, err
	}
	tableBytes := func(tables ...string) (int64, error) {
		var n int64
		q := `SELECT coalesce(sum(pgsize), 0) FROM dbstat
			WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name IN (?` + strings.Repeat(", ?", len(tables)-1) + `))`
		args := make([]any, len(tables))
		for i, t := range tables {
			args[i] = t
		}
		err := db.QueryRowContext(ctx, q, args...).Scan(&n)
		return n, err
	}
	// dbstat sizes each b-tree page by page (the modernc driver is built
	// with it).
	if f.Bytes, err = tableBytes("traces"); err != nil {
		return f, fmt.Errorf("dbstat: %w", err)
	}
	f.How = "dbstat: pages of the traces table and its indexes"
	f.OtherHow = "dbstat: pages of the tables and their indexes"
	rows, err := db.QueryContext(ctx, `SELECT name, sum(pgsize) FROM dbstat
		WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'traces') GROUP BY name`)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.Name, &p.Bytes); err != nil {
			rows.Close()
			return f, err
		}
		if p.Name == "traces" {
			p.Name = "table b-tree (rows)"
		}
		f.Parts = append(f.Parts, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	sortParts(f.Parts)
	if f.RollupBytes, err = tableBytes("trace_rollups", "trace_rollups_daily", "rollup_batches"); err != nil {
		return f, err
	}
	f.JobBytes, err = tableBytes("river_job")
	return f, err
}

func sortParts(ps []part) {
	slices.SortFunc(ps, func(a, b part) int { return cmp.Compare(b.Bytes, a.Bytes) })
}
