package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// Applied is one row of schema_migrations: a migration the database has
// recorded, possibly one this binary does not know (written by a newer one).
type Applied struct {
	Version   int64     `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at"`
}

// Recorder reads the engine's bookkeeping table.
type Recorder interface {
	// AppliedMigrations returns the rows of schema_migrations in version
	// order; none, without error, when the table does not exist yet. It
	// changes nothing.
	AppliedMigrations(ctx context.Context) ([]Applied, error)
}

// Status compares a database with the migrations a binary carries.
type Status struct {
	// Known is the highest version this binary carries: the schema version
	// it was built for.
	Known int64 `json:"known"`
	// Current is the highest version the database has recorded; 0 for a
	// database nothing was applied to.
	Current int64     `json:"current"`
	Applied []Applied `json:"applied"`
	// Pending are the carried migrations the database has not recorded,
	// in the order Up would apply them.
	Pending []Migration `json:"pending"`
}

// TooNewError is the version gate's refusal: the database was migrated by
// a newer binary, whose schema this one cannot be trusted to read or write.
type TooNewError struct {
	Schema, Known int64
}

func (e *TooNewError) Error() string {
	return fmt.Sprintf("store schema is version %d, this binary knows up to %d: upgrade the binary or restore the backup taken before the upgrade",
		e.Schema, e.Known)
}

// PendingError refuses a store that is behind the binary when migrating at
// start is off (storage.auto_migrate: false).
type PendingError struct {
	Current, Known int64
	Pending        []Migration
}

func (e *PendingError) Error() string {
	names := make([]string, len(e.Pending))
	for i, m := range e.Pending {
		names[i] = m.Name
	}
	return fmt.Sprintf("store schema is version %d, this binary needs %d: %d pending migration(s) (%s); run `ongoingai migrate up` (back up first: `ongoingai backup --out FILE`) or set storage.auto_migrate: true",
		e.Current, e.Known, len(e.Pending), strings.Join(names, ", "))
}

// Latest returns the highest version in fsys: the schema version a binary
// carrying fsys knows.
func Latest(fsys fs.FS) (int64, error) {
	ms, err := Load(fsys)
	if err != nil {
		return 0, err
	}
	if len(ms) == 0 {
		return 0, nil
	}
	return ms[len(ms)-1].Version, nil
}

// ReadStatus compares the database r reads with the migrations in fsys,
// changing nothing.
func ReadStatus(ctx context.Context, r Recorder, fsys fs.FS) (Status, error) {
	ms, err := Load(fsys)
	if err != nil {
		return Status{}, err
	}
	applied, err := r.AppliedMigrations(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("read schema_migrations: %w", err)
	}
	return status(ms, applied), nil
}

func status(ms []Migration, applied []Applied) Status {
	st := Status{Applied: applied}
	if len(ms) > 0 {
		st.Known = ms[len(ms)-1].Version
	}
	recorded := make(map[int64]bool, len(applied))
	for _, a := range applied {
		recorded[a.Version] = true
		st.Current = max(st.Current, a.Version)
	}
	for _, m := range ms {
		if !recorded[m.Version] {
			st.Pending = append(st.Pending, m)
		}
	}
	return st
}

// Gate returns a *TooNewError when the database holds a schema newer than
// the binary knows, nil otherwise.
func (s Status) Gate() error {
	if s.Current > s.Known {
		return &TooNewError{Schema: s.Current, Known: s.Known}
	}
	return nil
}

// Require returns the gate's error, or a *PendingError when migrations are
// pending: nil means the database is exactly what the binary expects.
func (s Status) Require() error {
	if err := s.Gate(); err != nil {
		return err
	}
	if len(s.Pending) > 0 {
		return &PendingError{Current: s.Current, Known: s.Known, Pending: s.Pending}
	}
	return nil
}
