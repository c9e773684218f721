// Package store defines what the gateway needs from a database, one interface
// per concern. The implementations live in store/postgres and store/sqlite;
// nothing outside those packages knows which database it talks to.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ongoingai/gateway/internal/trace"
)

// ErrNotFound is returned when a row does not exist or lies outside the
// caller's tenant (the two are indistinguishable on purpose).
var ErrNotFound = errors.New("not found")

// Tenant scopes a read. Empty fields mean "any" (used when auth is off).
type Tenant struct {
	OrgID       string
	WorkspaceID string
}

// TraceFilter selects traces for GET /api/traces. Results are newest first.
type TraceFilter struct {
	Tenant     Tenant
	Provider   string
	Model      string
	Status     int // exact HTTP status; 0 = any
	APIKeyHash string
	From, To   time.Time // zero = unbounded; From inclusive, To exclusive
	Limit      int       // 1..200
	Cursor     *TraceCursor
}

// TraceCursor is the keyset position after the last item of a page.
type TraceCursor struct {
	Timestamp time.Time
	ID        string
}

// Traces stores and reads trace records.
type Traces interface {
	// InsertTraces writes one batch atomically (COPY on Postgres, one
	// transaction on SQLite). Duplicate ids are ignored, so a retried batch
	// never double-counts.
	InsertTraces(ctx context.Context, batch []trace.Record) error
	// ListTraces returns up to f.Limit records (summary fields: no bodies or
	// headers) and the cursor for the next page, nil when there is none.
	ListTraces(ctx context.Context, f TraceFilter) ([]trace.Record, *TraceCursor, error)
	// GetTrace returns the full record, or ErrNotFound.
	GetTrace(ctx context.Context, t Tenant, id string) (trace.Record, error)
}

// Store is everything the gateway needs from a database.
type Store interface {
	Traces
	Rollups
	Retention
	// Driver names the engine: "sqlite" or "postgres".
	Driver() string
	// Ping checks connectivity without touching any table.
	Ping(ctx context.Context) error
	Close() error
}
