package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ongoingai/gateway/internal/store/migrate"
)

// migrationLockKey names the advisory lock that serializes migration runs.
// Advisory locks live in one namespace per database, so the key only has to
// be one nothing else picks: it is "ongoinga" read as ASCII.
const migrationLockKey int64 = 0x6f6e676f696e6761

// Migrate applies the migrations in fsys that the database has not recorded
// yet and returns those it applied. Open runs it with the embedded
// migrations; it is exported for tools that migrate without serving and for
// tests that feed it their own files. Concurrent callers, in one process or
// many, queue on a Postgres advisory lock, so each migration runs once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]migrate.Migration, error) {
	return migrate.Up(ctx, &migrator{pool: pool}, fsys)
}

// MigrateDSN applies the migrations in fsys that the database dsn names has
// not recorded yet, on a pool of its own, without opening a store: for
// tools, and for tests of migration that feed it their own files.
func MigrateDSN(ctx context.Context, dsn string, fsys fs.FS) ([]migrate.Migration, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	return Migrate(ctx, pool, fsys)
}

// migrator runs a migration on one pooled session: the advisory lock is
// held by a session, so everything else happens on that session too.
type migrator struct {
	pool *pgxpool.Pool
	conn *pgxpool.Conn
}

func (m *migrator) Lock(ctx context.Context) (func(), error) {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		conn.Release()
		return nil, err
	}
	m.conn = conn
	return func() {
		// Unlock even when ctx is already cancelled: a lock left on a pooled
		// session would block every later run until that session dies.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", migrationLockKey); err != nil {
			// Ending the session releases its locks; the pool then discards it.
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}, nil
}

func (m *migrator) CreateVersionTable(ctx context.Context) error {
	_, err := m.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    bigint      PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`)
	return err
}

func (m *migrator) Apply(ctx context.Context, mig migrate.Migration) (bool, error) {
	tx, err := m.conn.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Claim the version first: if a runner without the lock (an older
	// binary, a manual run) got there before us, the claim finds its row and
	// nothing runs twice.
	tag, err := tx.Exec(ctx,
		`INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`,
		mig.Version, mig.Name)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	// No arguments: pgx sends this over the simple protocol, which accepts a
	// file of several statements.
	if _, err := tx.Exec(ctx, mig.SQL); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
