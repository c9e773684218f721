package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"net/url"
	"time"

	"github.com/ongoingai/gateway/internal/store/migrate"
)

// Migrate applies the migrations in fsys that db has not recorded yet and
// returns those it applied. Open runs it with the embedded migrations on
// its write handle; it is exported for tools that migrate without serving
// and for tests that feed it their own files. db should be such a handle
// (Store.DB): its transactions begin IMMEDIATE, which is what keeps two
// processes migrating one file from interleaving.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS) ([]migrate.Migration, error) {
	return migrate.Up(ctx, migrator{db: db}, fsys)
}

// MigrateFile applies the migrations in fsys that the file at path has not
// recorded yet, through a writer handle of its own with the store's
// connection settings, without opening a store: for tools, and for tests of
// migration that feed it their own files.
func MigrateFile(ctx context.Context, path string, fsys fs.FS) ([]migrate.Migration, error) {
	writer, err := openDB(path, url.Values{"_txlock": {"immediate"}})
	if err != nil {
		return nil, err
	}
	defer writer.Close()
	writer.SetMaxOpenConns(1)
	return Migrate(ctx, writer, fsys)
}

// migrator needs no lock of its own: each Apply runs in a transaction that
// holds SQLite's write lock from its start (BEGIN IMMEDIATE on the store's
// writer), and it claims its version in that transaction before running.
type migrator struct{ db *sql.DB }

func (migrator) Lock(context.Context) (func(), error) { return func() {}, nil }

func (m migrator) CreateVersionTable(ctx context.Context) error {
	_, err := m.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL -- unix microseconds, like every time here
	) STRICT`)
	return err
}

func (m migrator) Apply(ctx context.Context, mig migrate.Migration) (bool, error) {
	tx, err := m.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx,
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?) ON CONFLICT (version) DO NOTHING`,
		mig.Version, mig.Name, time.Now().UnixMicro())
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
