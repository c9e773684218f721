// Package sqlite is the SQLite implementation of store.Store: the
// zero-config default, one file on local disk, pure Go (modernc.org/sqlite),
// so the gateway builds with CGO_ENABLED=0. It owns the file's connection
// settings, runs the schema migrations at Open and turns trace records into
// rows and back; the SQL itself lives in db/queries/sqlite and is compiled by
// sqlc into litedb.
//
// SQLite allows one writer at a time. Rather than let writers queue on the
// file lock (and fail with SQLITE_BUSY when they wait too long), the store
// funnels every write through one connection and serves reads from a
// separate pool, which WAL mode lets run beside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"

	"github.com/ongoingai/gateway/internal/store"

	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a store.Store backed by one SQLite file.
type Store struct {
	path   string  // the file, for connections of their own (WatchKeys)
	writer *sql.DB // exactly one connection: all writes
	reader *sql.DB // a small pool: all reads
}

var _ store.TxStore[*sql.Tx] = (*Store)(nil)

// Connection settings shared by the writer and the readers, applied by the
// driver to every new connection:
//   - busy_timeout first, so the others wait for a lock instead of failing;
//   - WAL, so readers never block the writer or each other;
//   - synchronous=NORMAL: in WAL mode a crash loses at most the last commits
//     and never corrupts the file, for a fraction of FULL's fsyncs;
//   - foreign_keys, which SQLite leaves off unless asked.
var pragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(NORMAL)",
	"foreign_keys(1)",
}

// Open opens (creating if needed, with its directory) the database file at
// path, applies any pending migrations and returns a ready store. Options
// choose another schema policy (store.WithSchemaPolicy).
func Open(ctx context.Context, path string, opts ...store.OpenOption) (*Store, error) {
	if strings.ContainsAny(path, "?#") {
		// The driver reads everything after '?' as connection parameters.
		return nil, fmt.Errorf("sqlite: path %q: '?' and '#' are not supported in file names", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	// BEGIN IMMEDIATE takes the write lock when a transaction starts, not at
	// its first write, so a transaction never fails half-way because another
	// process wrote in between.
	writer, err := openDB(path, url.Values{"_txlock": {"immediate"}})
	if err != nil {
		return nil, err
	}
	writer.SetMaxOpenConns(1)
	// Keep that one connection for good: reopening it would redo the pragmas
	// and drop SQLite's page cache.
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	if err := pingFirst(ctx, writer); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Migrate before any reader exists, so none sees a half-built schema.
	if err := prepareSchema(ctx, writer, store.ApplyOpenOptions(opts).Schema); err != nil {
		_ = writer.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}

	// query_only makes a stray write through the read pool an error instead
	// of a second writer contending for the lock.
	reader, err := openDB(path, url.Values{"_pragma": {"query_only(1)"}})
	if err != nil {
		_ = writer.Close()
		return nil, err
	}
	readers := max(4, runtime.NumCPU())
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	reader.SetConnMaxIdleTime(5 * time.Minute)
	return &Store{path: path, writer: writer, reader: reader}, nil
}

// pingFirst opens the first connection, which applies the pragmas. Turning a
// new file to WAL needs a lock for which SQLite may answer SQLITE_BUSY at
// once, without waiting out busy_timeout (it would risk a deadlock), when
// several processes open one new file together (a gateway and a CLI
// command, say); that is retried briefly instead of failing the open.
func pingFirst(ctx context.Context, db *sql.DB) error {
	for attempt := 1; ; attempt++ {
		err := db.PingContext(ctx)
		if err == nil || attempt == 50 || !isBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

// isBusy reports SQLITE_BUSY, in any of its extended forms.
func isBusy(err error) bool {
	var e sqliteError
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

func openDB(path string, extra url.Values) (*sql.DB, error) {
	q := url.Values{"_pragma": pragmas}
	for k, vs := range extra {
		q[k] = append(q[k], vs...)
	}
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// DB returns the store's write handle: a pool of exactly one connection.
// Anything that writes to this file (a job queue, say) must go through it,
// because SQLite admits one writer at a time.
func (s *Store) DB() *sql.DB { return s.writer }

// InTx runs fn in a transaction on the writer connection, the only one
// that may write, see store.TxStore.
func (s *Store) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback() // a no-op unless the commit never happened
		return err
	}
	return nil
}

// River returns River's SQLite driver on the writer connection: River
// writes its jobs, and SQLite admits one writer.
func (s *Store) River() riverdriver.Driver[*sql.Tx] { return riversqlite.New(s.writer) }

// ReadDB returns the read-only pool, for components that only query.
func (s *Store) ReadDB() *sql.DB { return s.reader }

// Driver reports "sqlite".
func (s *Store) Driver() string { return "sqlite" }

// Ping checks that the file can be reached through the read pool.
func (s *Store) Ping(ctx context.Context) error { return s.reader.PingContext(ctx) }

// Close closes the read pool and then the writer. WAL checkpoints on the
// last close, folding the log back into the file.
func (s *Store) Close() error {
	return errors.Join(s.reader.Close(), s.writer.Close())
}
