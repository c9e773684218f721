// Package migrations embeds the schema migrations for both engines so the
// binary can bring any database up to date at startup with no files beside
// it. The same files are sqlc's schema (see sqlc.yaml), so the generated code
// and the migrated database cannot disagree.
//
// Each engine's migrations are plain SQL files named NNNN_description.sql,
// applied in version order by internal/store/migrate.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql
var postgresFiles embed.FS

//go:embed sqlite/*.sql
var sqliteFiles embed.FS

// Postgres holds the Postgres migrations, rooted at their directory.
var Postgres = mustSub(postgresFiles, "postgres")

// SQLite holds the SQLite migrations, rooted at their directory.
var SQLite = mustSub(sqliteFiles, "sqlite")

// mustSub roots fsys at dir; dir is a literal embedded above, so failure is
// a build mistake worth a panic at init.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
