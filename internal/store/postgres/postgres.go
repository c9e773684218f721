// Package postgres is the Postgres implementation of store.Store, for
// deployments that outgrow one file: several gateway replicas, high write
// rates, time-partitioned retention. It owns the connection pool, runs the
// schema migrations at Open and turns trace records into rows and back; the
// SQL itself lives in db/queries/postgres and is compiled by sqlc into pgdb.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/ongoingai/gateway/internal/store"
)

// Store is a store.Store backed by a pgx connection pool.
type Store struct {
	pool *pgxpool.Pool
	dsn  string // as configured, for the tools Backup runs
}

var _ store.TxStore[pgx.Tx] = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, as pgx accepts), applies any pending migrations and
// returns a ready store. Pool settings such as pool_max_conns can ride in the
// DSN. Options choose another schema policy (store.WithSchemaPolicy).
func Open(ctx context.Context, dsn string, opts ...store.OpenOption) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := prepareSchema(ctx, pool, store.ApplyOpenOptions(opts).Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{pool: pool, dsn: dsn}, nil
}

// Pool returns the store's connection pool, for components that must share
// its transactions (a job queue enqueuing work in the same transaction as a
// trace batch, see InsertTracesTx).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// InTx runs fn in a transaction from the pool, see store.TxStore.
func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	// A rollback must happen even when ctx has ended, or the connection
	// goes back to the pool mid-transaction.
	rollback := func() { _ = tx.Rollback(context.Background()) }
	if err := fn(tx); err != nil {
		rollback()
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		rollback() // a no-op unless the commit never reached the server
		return err
	}
	return nil
}

// River returns River's pgx driver on the store's pool.
func (s *Store) River() riverdriver.Driver[pgx.Tx] { return riverpgxv5.New(s.pool) }

// Driver reports "postgres".
func (s *Store) Driver() string { return "postgres" }

// Ping checks that a connection can be made and answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close waits for borrowed connections to come back, then closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
