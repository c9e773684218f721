// Package sqlconn opens a plain database/sql connection to a store's
// database, for the SQL the benches run themselves (counting rows, summing
// the rollups to check the store's answers, standing in for autovacuum):
// queries the store has no method for, in the engine's own dialect, on a
// connection apart from the store's so they never take one of its handles.
// The store itself is always opened through internal/store/opener.
package sqlconn

import (
	"database/sql"
	"fmt"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Open connects to the database driver ("postgres" or "sqlite") names at
// dsn (a Postgres DSN, or the SQLite file's path): at most two connections
// on Postgres; one read-only connection on SQLite (WAL: it never blocks
// the store's writer).
func Open(driver, dsn string) (*sql.DB, error) {
	switch driver {
	case "postgres":
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(2)
		return db, nil
	case "sqlite":
		db, err := sql.Open("sqlite", "file:"+dsn+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return db, nil
	}
	return nil, fmt.Errorf("unknown driver %q (want sqlite or postgres)", driver)
}
