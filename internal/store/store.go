// Package store defines what the gateway needs from a database: Store, the
// whole contract, assembled from one interface per concern (Traces, Rollups,
// Retention, Tenancy, Audit, PIISalts, Limits), and TxStore, the same store seen
// through its engine's own transaction type.
//
// The implementations live in store/postgres and store/sqlite; only
// store/opener imports them, picking one from the configuration once, so
// nothing else knows which database it talks to. Callers that use a part
// of the store declare a small interface of their own for it (as trace.Sink
// does) or take Store; nobody re-declares the whole.
//
// Adding a table (a new concern) is one change per layer, each in one
// place: the migration and queries under db/ (both engines), an interface
// here embedded in Store, its method in each driver (run the query, map
// the row, map the error; shared logic in store/internal), and its cases
// in storetest, which storetest.Run then holds both drivers to. Nothing
// between the opener and the callers changes: they all hold a Store.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river/riverdriver"

	"github.com/ongoingai/gateway/internal/rollup"
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

// Reprice is a new cost for one stored trace: Trace is the record as read
// (its key, its tenant, its old cost and priced flag), the rest what it
// costs now. A store writes it only if the stored cost and priced flag are
// still the old ones.
type Reprice struct {
	Trace          trace.Record
	CostNanoUSD    int64
	Priced         bool
	PricingVersion string
}

// Store is everything the gateway needs from a database.
type Store interface {
	Traces
	Rollups
	Retention
	Tenancy
	Audit
	PIISalts
	Limits
	Sessions
	// ClassifyWriteError names the cause of a failed write (timeout,
	// connection, constraint), for the trace writer's failure counts.
	trace.FailureClassifier
	Schema
	// Driver names the engine: "sqlite" or "postgres".
	Driver() string
	// Ping checks connectivity without touching any table.
	Ping(ctx context.Context) error
	Close() error
}

// TxStore is a Store together with the part of it that joins a caller's
// transaction, typed by its engine's transaction (pgx.Tx on Postgres,
// *sql.Tx on SQLite), as River's riverdriver.Driver[TTx] is: the type is
// fixed once, where the store is opened (store/opener), and everything
// that works in transactions (internal/jobs) is generic over it instead of
// asking which engine it has.
type TxStore[TTx any] interface {
	Store
	// InTx runs fn in a transaction on the store's write path and commits
	// it when fn returns nil; otherwise, or when the commit fails, it rolls
	// back (even after ctx ended) and returns the error.
	InTx(ctx context.Context, fn func(tx TTx) error) error
	// InsertTracesTx inserts batch in tx and returns the records it
	// inserted: none for a retried batch, which is what keeps a batch from
	// being counted twice.
	InsertTracesTx(ctx context.Context, tx TTx, batch []trace.Record) ([]trace.Record, error)
	// ApplyRollupsTx adds rows to the hourly and daily rollups in tx unless
	// batchID is in the applied-batch ledger, and enters it there; applied
	// says which. Rows must start on whole UTC hours.
	ApplyRollupsTx(ctx context.Context, tx TTx, batchID string, rows []rollup.Row) (applied bool, err error)
	// RepriceTracesTx writes new trace costs in tx (see Reprice) and
	// returns the changes it wrote: a trace whose cost changed since it
	// was read is left alone, so only what was written is rolled up.
	RepriceTracesTx(ctx context.Context, tx TTx, changes []Reprice) ([]Reprice, error)
	// River is River's driver on the same database, so that jobs commit in
	// the store's transactions.
	River() riverdriver.Driver[TTx]
}
