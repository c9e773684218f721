// Package batchwrite holds how both stores write a batch, the parts that
// are rules rather than queries: a trace batch outside a caller's
// transaction gets one of its own, and a rollup batch is applied under the
// applied-batch ledger, at most once per id. A driver supplies the queries.
package batchwrite

import (
	"context"
	"errors"
	"fmt"

	"github.com/ongoingai/gateway/internal/trace"
)

// TraceWriter is the part of a store.TxStore that InsertTraces needs.
type TraceWriter[TTx any] interface {
	InTx(ctx context.Context, fn func(tx TTx) error) error
	InsertTracesTx(ctx context.Context, tx TTx, batch []trace.Record) ([]trace.Record, error)
}

// InsertTraces is store.Traces.InsertTraces for a store whose
// InsertTracesTx joins a caller's transaction: batch goes in through it, in
// a transaction of its own. engine prefixes the errors the transaction
// itself meets ("postgres"); InsertTracesTx names its own.
func InsertTraces[TTx any](ctx context.Context, engine string, st TraceWriter[TTx], batch []trace.Record) error {
	if len(batch) == 0 {
		return nil
	}
	var insertErr error
	err := st.InTx(ctx, func(tx TTx) error {
		_, insertErr = st.InsertTracesTx(ctx, tx, batch)
		return insertErr
	})
	if err != nil && insertErr == nil {
		return fmt.Errorf("%s: insert traces: %w", engine, err)
	}
	return err
}

// ApplyRollups is the outline of ApplyRollupsTx, in the caller's
// transaction: an empty batch id is refused; record enters batchID in the
// applied-batch ledger and says how many entries it inserted, where 0 means
// the id was there already, the batch was applied before and nothing is
// applied now; apply then adds the rows. engine prefixes errors
// ("postgres").
func ApplyRollups(engine, batchID string, record func() (int64, error), apply func() error) (applied bool, err error) {
	if batchID == "" {
		return false, errors.New(engine + ": apply rollups: empty batch id")
	}
	n, err := record()
	if err != nil {
		return false, fmt.Errorf("%s: apply rollups: record batch: %w", engine, err)
	}
	if n == 0 {
		return false, nil // applied before
	}
	if err := apply(); err != nil {
		return false, err
	}
	return true, nil
}
