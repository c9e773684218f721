// Package opener opens the configured store: the one place that knows both
// drivers, and so the one place that asks which engine the configuration
// names.
//
// The store's transaction type differs by engine (pgx.Tx on Postgres,
// *sql.Tx on SQLite) and everything that joins the store's transactions
// (River's jobs, the trace sink that commits a batch with its rollup job)
// is generic over it, as River is over its Driver[TTx]. Go chooses a type
// parameter at compile time, and the engine is chosen from configuration at
// run time, so one runtime switch has to exist: it is Open's, here. Each
// branch fixes the type parameter once and closes over it (New); what Open
// hands back, DB, is no longer generic: the Store itself and the jobs entry
// points (StartJobs, CatchUpRollups, NewInsertOnlySink) already bound to
// the engine's transaction type. Migrate, which applies a chosen set of
// migrations without opening a store (tests of migration), asks the same
// question of the same setting.
//
// The package lives beside the drivers rather than in package store because
// the drivers import store: store cannot import them back. It imports
// internal/jobs and never the reverse: jobs is generic and knows no engine,
// this package knows the engines and picks the instantiation.
package opener

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/jobs"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
	"github.com/ongoingai/gateway/internal/store/postgres"
	"github.com/ongoingai/gateway/internal/store/sqlite"
	"github.com/ongoingai/gateway/internal/trace"
)

// DB is an opened store with the background jobs that share its
// database, bound to its engine's transaction type. Close it (the Store's
// Close) after stopping any runner started from it. DB has the methods of
// store.Store only; an interface only some engines implement
// (store.TracePartitions) is asked of DB.Store, the driver's own value.
type DB struct {
	store.Store
	startJobs  func(context.Context, jobs.Options) (*jobs.Runner, error)
	catchUp    func(context.Context, *slog.Logger) (jobs.CatchUpResult, error)
	insertOnly func(context.Context, *slog.Logger) (trace.Sink, error)
	jobList    func(context.Context, *river.JobListParams) (*river.JobListResult, error)
	reprice    func(context.Context, []store.Reprice, *slog.Logger) ([]store.Reprice, error)
}

// New binds an opened store to the jobs, fixing its transaction type.
// Open calls it; a test that opened a driver itself (Postgres, SQLite) to
// reach its typed transactions calls it too.
func New[TTx any](st store.TxStore[TTx]) *DB {
	return &DB{
		Store: st,
		startJobs: func(ctx context.Context, o jobs.Options) (*jobs.Runner, error) {
			return jobs.Start(ctx, st, o)
		},
		catchUp: func(ctx context.Context, logger *slog.Logger) (jobs.CatchUpResult, error) {
			return jobs.CatchUpRollups(ctx, st, logger)
		},
		insertOnly: func(ctx context.Context, logger *slog.Logger) (trace.Sink, error) {
			return jobs.NewInsertOnlySink(ctx, st, logger)
		},
		jobList: jobLister(st),
		reprice: func(ctx context.Context, changes []store.Reprice, logger *slog.Logger) ([]store.Reprice, error) {
			return jobs.RepriceTraces(ctx, st, changes, logger)
		},
	}
}

// jobLister lists River's jobs in st's database through a client that
// works nothing (no queues), made on first use.
func jobLister[TTx any](st store.TxStore[TTx]) func(context.Context, *river.JobListParams) (*river.JobListResult, error) {
	client := sync.OnceValues(func() (*river.Client[TTx], error) {
		return river.NewClient(st.River(), &river.Config{Logger: slog.New(slog.DiscardHandler)})
	})
	return func(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error) {
		c, err := client()
		if err != nil {
			return nil, err
		}
		return c.JobList(ctx, p)
	}
}

// RepriceTraces writes new trace costs and enqueues their rollup
// correction, see jobs.RepriceTraces.
func (db *DB) RepriceTraces(ctx context.Context, changes []store.Reprice, logger *slog.Logger) ([]store.Reprice, error) {
	return db.reprice(ctx, changes, logger)
}

// StartJobs starts the background jobs on the store's database, see
// jobs.Start.
func (db *DB) StartJobs(ctx context.Context, o jobs.Options) (*jobs.Runner, error) {
	return db.startJobs(ctx, o)
}

// CatchUpRollups works the rollup jobs left unfinished in the store's
// database, see jobs.CatchUpRollups.
func (db *DB) CatchUpRollups(ctx context.Context, logger *slog.Logger) (jobs.CatchUpResult, error) {
	return db.catchUp(ctx, logger)
}

// NewInsertOnlySink returns a trace sink that enqueues rollup jobs without
// running them, see jobs.NewInsertOnlySink.
func (db *DB) NewInsertOnlySink(ctx context.Context, logger *slog.Logger) (trace.Sink, error) {
	return db.insertOnly(ctx, logger)
}

// JobList lists the River jobs in the store's database that p selects
// (a tool watching the rollup queue: bench/cmd/seed, the bench harness),
// without the caller knowing the engine's River driver.
func (db *DB) JobList(ctx context.Context, p *river.JobListParams) (*river.JobListResult, error) {
	return db.jobList(ctx, p)
}

// DefaultConnectTimeout applies when storage.connect_timeout is unset (a
// Storage built in code rather than loaded).
const DefaultConnectTimeout = 10 * time.Second

// Open opens the store cfg configures and applies pending migrations,
// within storage.connect_timeout: a database that accepts connections but
// never answers (a hung host) fails with an error naming the store and the
// setting, instead of hanging the caller with no word in the log. With
// storage.auto_migrate off it applies nothing and refuses a store with
// pending migrations; opts override that (the migrate and backup commands
// open a store as it is). A schema newer than the binary knows is refused
// either way (the version gate).
func Open(ctx context.Context, cfg config.Storage, opts ...store.OpenOption) (*DB, error) {
	if !cfg.MigrateAtOpen() {
		opts = append([]store.OpenOption{store.WithSchemaPolicy(store.RequireCurrent)}, opts...)
	}
	timeout := cfg.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// timedOut names the bound when it is what ended the attempt.
	timedOut := func(err error) error {
		if octx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("no answer within storage.connect_timeout (%s): %w", timeout, err)
		}
		return err
	}
	switch cfg.Driver {
	case config.DriverPostgres:
		st, err := Postgres(octx, cfg.DSN, opts...)
		if err != nil {
			return nil, fmt.Errorf("storage (postgres): %w", timedOut(err))
		}
		return New(st), nil
	case config.DriverSQLite, "":
		st, err := SQLite(octx, cfg.Path, opts...)
		if err != nil {
			return nil, fmt.Errorf("storage (sqlite %s): %w", cfg.Path, timedOut(err))
		}
		return New(st), nil
	default:
		return nil, fmt.Errorf("storage.driver: unknown driver %q", cfg.Driver)
	}
}

// Migrate applies the migrations in fsys that the database cfg names has not
// recorded yet, without opening a store (which would apply the embedded
// ones): for tools, and for tests of migration that feed it their own
// files. It returns those it applied.
func Migrate(ctx context.Context, cfg config.Storage, fsys fs.FS) ([]migrate.Migration, error) {
	switch cfg.Driver {
	case config.DriverPostgres:
		return postgres.MigrateDSN(ctx, cfg.DSN, fsys)
	case config.DriverSQLite, "":
		return sqlite.MigrateFile(ctx, cfg.Path, fsys)
	default:
		return nil, fmt.Errorf("storage.driver: unknown driver %q", cfg.Driver)
	}
}

// Postgres opens the Postgres database dsn names (a postgres:// URL or a
// key=value string; pool settings such as pool_max_conns may ride in it)
// and applies pending migrations (unless opts say otherwise).
func Postgres(ctx context.Context, dsn string, opts ...store.OpenOption) (store.TxStore[pgx.Tx], error) {
	st, err := postgres.Open(ctx, dsn, opts...)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// SQLite opens (creating if needed, with its directory) the SQLite file at
// path and applies pending migrations (unless opts say otherwise).
func SQLite(ctx context.Context, path string, opts ...store.OpenOption) (store.TxStore[*sql.Tx], error) {
	st, err := sqlite.Open(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	return st, nil
}
