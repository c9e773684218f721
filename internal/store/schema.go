package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/ongoingai/gateway/internal/store/migrate"
)

// SchemaPolicy is what opening a store does about its schema.
type SchemaPolicy int

const (
	// MigrateAtOpen applies pending migrations before the store is used:
	// serve's default (storage.auto_migrate: true).
	MigrateAtOpen SchemaPolicy = iota
	// RequireCurrent applies nothing and refuses a store with pending
	// migrations (storage.auto_migrate: false: the operator migrates with
	// `ongoingai migrate up` before the rollout).
	RequireCurrent
	// OpenAsIs applies and checks nothing: for the tools that inspect or
	// copy a store whatever its schema (migrate status, backup).
	OpenAsIs
)

// OpenOption adjusts a driver's Open.
type OpenOption func(*OpenOptions)

// OpenOptions is what the options given to a driver's Open add up to.
type OpenOptions struct {
	Schema SchemaPolicy
}

// WithSchemaPolicy sets what Open does about the schema (default
// MigrateAtOpen). Under MigrateAtOpen and RequireCurrent a schema newer
// than the binary knows is refused (*migrate.TooNewError) before anything
// is changed.
func WithSchemaPolicy(p SchemaPolicy) OpenOption {
	return func(o *OpenOptions) { o.Schema = p }
}

// ApplyOpenOptions folds opts over the defaults; drivers call it in Open.
func ApplyOpenOptions(opts []OpenOption) OpenOptions {
	var o OpenOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Schema is the maintenance side of a store: its schema version and its
// backup, for the upgrade runbook (migrate status, migrate up, backup).
type Schema interface {
	// SchemaStatus compares the store's schema_migrations with the
	// migrations this binary carries, changing nothing.
	SchemaStatus(ctx context.Context) (migrate.Status, error)
	// MigrateUp applies the pending migrations and returns them; a schema
	// newer than the binary knows is refused with *migrate.TooNewError.
	MigrateUp(ctx context.Context) ([]migrate.Migration, error)
	// Backup writes a consistent copy of the store to the file out, which
	// must not exist; it is safe while gateways use the store. A store
	// that needs an outside program it cannot find returns a
	// *ManualBackupError holding the command to run instead.
	Backup(ctx context.Context, out string) error
}

// ManualBackupError says the backup could not be taken here and holds the
// exact command that takes it where its program is installed.
type ManualBackupError struct {
	Program string // what was missing, e.g. pg_dump
	Command string // the command line to run instead
	Note    string // what the command line leaves out (a password), or ""
}

func (e *ManualBackupError) Error() string {
	msg := fmt.Sprintf("%s is not on PATH; run this where it is installed:\n  %s", e.Program, e.Command)
	if e.Note != "" {
		msg += "\n" + e.Note
	}
	return msg
}

// ErrBackupExists refuses to overwrite a file with a backup.
var ErrBackupExists = errors.New("the backup file already exists: choose a new name (a backup never overwrites)")
