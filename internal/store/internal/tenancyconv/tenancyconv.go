// Package tenancyconv holds what both stores' tenancy code shares beyond
// the SQL: how the outcome of a statement on orgs, workspaces and gateway
// keys becomes one of the store's errors. Each driver only says which
// constraint a statement violated (the codes differ by engine), so the
// meaning of a zero-row insert or a refused update is written once.
//
// The rules themselves (which keys may change, who may do what) belong to
// tenancy.Service; the SQL enforces them atomically with conditional
// statements (UPDATE … WHERE the rule holds), and this package only names
// the outcome: zero rows is a conflict, or not found when there is no row.
package tenancyconv

import (
	"errors"
	"fmt"

	"github.com/ongoingai/gateway/internal/store"
)

// Violation is the constraint a failed statement violated, as the driver
// recognised it from its engine's error codes.
type Violation int

const (
	NoViolation Violation = iota // none, or one this package need not name
	Unique                       // a primary key or unique constraint
	ForeignKey                   // a referenced org or workspace is missing
)

// CreateWorkspace maps inserting w, which changed n rows: store.ErrNotFound
// when its org is missing, store.ErrConflict when the org has its id.
func CreateWorkspace(w store.Workspace, n int64, err error, v Violation) error {
	switch {
	case v == ForeignKey:
		return fmt.Errorf("org %q: %w", w.OrgID, store.ErrNotFound)
	case err == nil && n == 0:
		return store.ErrConflict
	}
	return err
}

// CreateKey maps inserting k, which changed n rows: store.ErrNotFound when
// its org or workspace is missing, store.ErrConflict when its id or token
// hash is taken (zero rows, or a unique violation when a concurrent insert
// won).
func CreateKey(k store.GatewayKey, n int64, err error, v Violation) error {
	switch {
	case v == ForeignKey:
		return fmt.Errorf("org %q or workspace %q: %w", k.OrgID, k.WorkspaceID, store.ErrNotFound)
	case v == Unique, err == nil && n == 0:
		return fmt.Errorf("id or token hash taken: %w", store.ErrConflict)
	}
	return err
}

// UpsertStaticKey maps creating or refreshing config-declared key k, which
// changed n rows: every refusal is store.ErrConflict, naming the key.
func UpsertStaticKey(k store.GatewayKey, n int64, err error, v Violation) error {
	switch {
	case v == Unique:
		return fmt.Errorf("static key %q: token hash in use: %w", k.ID, store.ErrConflict)
	case v == ForeignKey: // the workspace belongs to another org
		return fmt.Errorf("static key %q: workspace %q is not in org %q: %w", k.ID, k.WorkspaceID, k.OrgID, store.ErrConflict)
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("static key %q: id belongs to an API key: %w", k.ID, store.ErrConflict)
	}
	return nil
}

// Conditional maps the outcome of a statement on one row whose WHERE
// carries a rule (rotate or revoke a key the API may change, delete an
// empty org or workspace): noRow says it touched none, and lookup, called
// only then, reads the row. A missing row is store.ErrNotFound; one that
// exists was refused by the rule, store.ErrConflict, as is a constraint
// violation (a concurrent change won the race: the same new token hash, a
// workspace created in the org being deleted).
func Conditional(err error, noRow bool, v Violation, lookup func() error) error {
	switch {
	case v != NoViolation:
		return fmt.Errorf("a concurrent change: %w: %w", err, store.ErrConflict)
	case !noRow:
		return err
	}
	switch lerr := lookup(); {
	case errors.Is(lerr, store.ErrNotFound):
		return store.ErrNotFound
	case lerr != nil:
		return lerr
	}
	return fmt.Errorf("refused by its state: %w", store.ErrConflict)
}

// Rows converts every row with conv, stopping at the first error.
func Rows[R, T any](rows []R, conv func(R) (T, error)) ([]T, error) {
	out := make([]T, len(rows))
	for i, r := range rows {
		v, err := conv(r)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}
