package harness

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	// The "sqlite" database/sql driver, to count and size what the
	// gateway stored without going through the gateway.
	_ "modernc.org/sqlite"
)

// storage is one throwaway database for one driver: a SQLite file in a
// temporary directory, or a Postgres database created for the run and
// dropped after it.
type storage struct {
	driver string
	path   string // sqlite
	dsn    string // postgres
	admin  string // postgres admin DSN, to drop the database
	dbName string
}

func newStorage(ctx context.Context, driver, dir, adminDSN string) (*storage, error) {
	switch driver {
	case "sqlite":
		return &storage{driver: driver, path: filepath.Join(dir, "ongoingai.db")}, nil
	case "postgres":
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		name := "bench_" + hex.EncodeToString(b)
		conn, err := pgx.Connect(ctx, adminDSN)
		if err != nil {
			return nil, fmt.Errorf("postgres at %s: %w (start one with `bash .ci/postgres.sh`, or pass -drivers sqlite)", redactDSN(adminDSN), err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("create database %s: %w", name, err)
		}
		return &storage{driver: driver, dsn: withDatabase(adminDSN, name), admin: adminDSN, dbName: name}, nil
	}
	return nil, fmt.Errorf("unknown driver %q (want sqlite or postgres)", driver)
}

// drop removes the database; the SQLite file goes with the run's directory.
func (s *storage) drop(ctx context.Context) error {
	if s.driver != "postgres" {
		return nil
	}
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.dbName}.Sanitize()+" WITH (FORCE)")
	return err
}

// footprint is the traces table as stored: rows and bytes, indexes and
// TOAST included.
type footprint struct {
	Traces int64
	Bytes  int64
	How    string // how Bytes was measured, for the report
}

// measure counts and sizes the traces. For SQLite it must run after the
// gateway closed the file, so the WAL is checkpointed into it.
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
	// dbstat sizes each b-tree page by page; it needs SQLite built with
	// SQLITE_ENABLE_DBSTAT_VTAB. Without it, the file size stands in (the
	// traces table is nearly all of it).
	err = db.QueryRowContext(ctx, `SELECT coalesce(sum(pgsize), 0) FROM dbstat
		WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'traces')`).Scan(&f.Bytes)
	if err == nil {
		f.How = "dbstat: pages of the traces table and its indexes"
		return f, nil
	}
	st, serr := os.Stat(s.path)
	if serr != nil {
		return f, serr
	}
	f.Bytes = st.Size()
	f.How = "database file size after checkpoint (dbstat unavailable: " + err.Error() + ")"
	return f, nil
}

// withDatabase points a Postgres DSN, URL or key=value, at database name.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}

func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
