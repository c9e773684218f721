// Package migrate brings a database schema up to date from numbered SQL
// files. It owns the part every engine shares: reading and ordering the
// files, deciding what to run, and naming the file that failed. The engine
// supplies the rest through Driver: its lock, its bookkeeping table and its
// transactions.
//
// Migrations are forward-only. Each runs in its own transaction together
// with the row that records it in schema_migrations(version, name,
// applied_at), so a migration is either fully applied and recorded or not at
// all, and a crash between two migrations resumes cleanly at the next start.
package migrate

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Migration is one SQL file.
type Migration struct {
	// Version orders migrations and identifies them in schema_migrations.
	Version int64
	// Name is the file name, used to point at the file when it fails.
	Name string
	// SQL is the file's content: one or more statements.
	SQL string
}

// Driver is the engine-specific half of a migration run. Its methods are
// called in order (Lock, AppliedMigrations, CreateVersionTable, then Apply
// per migration) from one goroutine.
type Driver interface {
	Recorder
	// Lock blocks until this runner may migrate and returns the function
	// that lets the next one in, so that several replicas starting at once
	// do not race on DDL.
	Lock(ctx context.Context) (unlock func(), err error)
	// CreateVersionTable creates schema_migrations if it does not exist.
	CreateVersionTable(ctx context.Context) error
	// Apply runs m and records it in schema_migrations in one transaction.
	// It reports false, changing nothing, when m is already recorded.
	Apply(ctx context.Context, m Migration) (applied bool, err error)
}

// fileName is NNNN_description.sql; the number is the version.
var fileName = regexp.MustCompile(`^([0-9]+)_([a-z0-9_]+)\.sql$`)

// Load reads the migrations at the root of fsys in version order. Files
// without the .sql extension are ignored; a .sql file with another name
// shape, or two files with one version, is an error rather than something
// silently skipped.
func Load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		match := fileName.FindStringSubmatch(name)
		if match == nil {
			return nil, fmt.Errorf("migration %s: name must look like 0001_description.sql", name)
		}
		version, err := strconv.ParseInt(match[1], 10, 64)
		if err != nil || version == 0 {
			return nil, fmt.Errorf("migration %s: version must be a positive number", name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share version %d", ms[i-1].Name, ms[i].Name, ms[i].Version)
		}
	}
	return ms, nil
}

// Up applies, in version order, every migration in fsys that the database
// has not recorded yet, and returns those it applied. It stops at the first
// failure, with an error that names the file; the migrations before it stay
// applied. A database already migrated past fsys (by a newer binary) is
// refused with a *TooNewError before anything is changed.
func Up(ctx context.Context, d Driver, fsys fs.FS) ([]Migration, error) {
	ms, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	unlock, err := d.Lock(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	defer unlock()
	recorded, err := d.AppliedMigrations(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	if err := status(ms, recorded).Gate(); err != nil {
		return nil, err
	}
	if err := d.CreateVersionTable(ctx); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []Migration
	for _, m := range ms {
		ok, err := d.Apply(ctx, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if ok {
			applied = append(applied, m)
		}
	}
	return applied, nil
}
