package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/ongoingai/gateway/db/migrations"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/migrate"
)

// SchemaStatus compares the file's schema_migrations with the embedded
// migrations.
func (s *Store) SchemaStatus(ctx context.Context) (migrate.Status, error) {
	return migrate.ReadStatus(ctx, migrator{db: s.reader}, migrations.SQLite)
}

// MigrateUp applies the pending embedded migrations on the write handle.
func (s *Store) MigrateUp(ctx context.Context) ([]migrate.Migration, error) {
	return Migrate(ctx, s.writer, migrations.SQLite)
}

// prepareSchema does at Open what the policy asks, before any reader exists.
func prepareSchema(ctx context.Context, writer *sql.DB, p store.SchemaPolicy) error {
	switch p {
	case store.OpenAsIs:
		return nil
	case store.RequireCurrent:
		st, err := migrate.ReadStatus(ctx, migrator{db: writer}, migrations.SQLite)
		if err != nil {
			return err
		}
		return st.Require()
	default:
		_, err := Migrate(ctx, writer, migrations.SQLite)
		return err
	}
}

func (m migrator) AppliedMigrations(ctx context.Context) ([]migrate.Applied, error) {
	var n int
	if err := m.db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := m.db.QueryContext(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []migrate.Applied
	for rows.Next() {
		var (
			a  migrate.Applied
			us int64
		)
		if err := rows.Scan(&a.Version, &a.Name, &us); err != nil {
			return nil, err
		}
		a.AppliedAt = time.UnixMicro(us).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
