package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
)

// SchemaStatus compares the database's schema_migrations with the embedded
// migrations.
func (s *Store) SchemaStatus(ctx context.Context) (migrate.Status, error) {
	return migrate.ReadStatus(ctx, &migrator{pool: s.pool}, migrations.Postgres)
}

// MigrateUp applies the pending embedded migrations.
func (s *Store) MigrateUp(ctx context.Context) ([]migrate.Migration, error) {
	return Migrate(ctx, s.pool, migrations.Postgres)
}

// prepareSchema does at Open what the policy asks.
func prepareSchema(ctx context.Context, pool *pgxpool.Pool, p store.SchemaPolicy) error {
	switch p {
	case store.OpenAsIs:
		return nil
	case store.RequireCurrent:
		st, err := migrate.ReadStatus(ctx, &migrator{pool: pool}, migrations.Postgres)
		if err != nil {
			return err
		}
		return st.Require()
	default:
		_, err := Migrate(ctx, pool, migrations.Postgres)
		return err
	}
}

// querier is what AppliedMigrations reads through: the session holding
// the migration lock during a run, the pool otherwise.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func (m *migrator) AppliedMigrations(ctx context.Context) ([]migrate.Applied, error) {
	var q querier = m.pool
	if m.conn != nil {
		q = m.conn
	}
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (migrate.Applied, error) {
		var a migrate.Applied
		err := r.Scan(&a.Version, &a.Name, &a.AppliedAt)
		a.AppliedAt = a.AppliedAt.UTC()
		return a, err
	})
}
