package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/batchwrite"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
	"github.com/ongoingai/gateway/internal/trace"
)

// InsertTraces writes batch in one transaction; see InsertTracesTx.
func (s *Store) InsertTraces(ctx context.Context, batch []trace.Record) error {
	return batchwrite.InsertTraces(ctx, "sqlite", s, batch)
}

// InsertTracesTx writes batch inside tx, which must come from DB(), so a
// caller can commit other work (a job that rolls the batch up) atomically
// with it, and returns the records it actually inserted. Traces whose id is
// already stored (or came earlier in the batch) are skipped, which makes a
// retried batch harmless; leaving them out of the result is what lets the
// caller roll up each trace exactly once. When nothing was skipped, the
// result is batch itself. On error, roll tx back: it may hold part of the
// batch.
func (s *Store) InsertTracesTx(ctx context.Context, tx *sql.Tx, batch []trace.Record) ([]trace.Record, error) {
	stmts := &preparedTx{Tx: tx}
	defer stmts.close()
	q := litedb.New(stmts)
	// skipped stays nil on the common path, so the batch is returned as is.
	var skipped []bool
	for i := range batch {
		arg, err := insertParams(&batch[i])
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert traces: %w", err)
		}
		n, err := q.InsertTrace(ctx, arg)
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert trace %q: %w", batch[i].ID, err)
		}
		if n == 0 { // OR IGNORE skipped it
			if skipped == nil {
				skipped = make([]bool, len(batch))
			}
			skipped[i] = true
		}
	}
	if skipped == nil {
		return batch, nil
	}
	var inserted []trace.Record
	for i := range batch {
		if !skipped[i] {
			inserted = append(inserted, batch[i])
		}
	}
	return inserted, nil
}

// preparedTx runs each distinct statement of a transaction through one
// prepared statement. sqlc's code would otherwise hand SQLite the SQL text
// on every row of a batch, and parsing the 35-column INSERT again for each
// row nearly doubles the CPU a trace costs. Rollups use it the same way for
// their per-row read and write.
type preparedTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

func (p *preparedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	stmt, err := p.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	return stmt.ExecContext(ctx, args...)
}

func (p *preparedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	stmt, err := p.prepare(ctx, query)
	if err != nil {
		// *sql.Row cannot be built with an error outside database/sql; the
		// unprepared path reports the same error from Scan.
		return p.Tx.QueryRowContext(ctx, query, args...)
	}
	return stmt.QueryRowContext(ctx, args...)
}

func (p *preparedTx) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	if stmt, ok := p.stmts[query]; ok {
		return stmt, nil
	}
	stmt, err := p.Tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if p.stmts == nil {
		p.stmts = make(map[string]*sql.Stmt)
	}
	p.stmts[query] = stmt
	return stmt, nil
}

func (p *preparedTx) close() {
	for _, stmt := range p.stmts {
		_ = stmt.Close()
	}
}

// ListTraces returns one page of trace summaries, newest first.
func (s *Store) ListTraces(ctx context.Context, f store.TraceFilter) ([]trace.Record, *store.TraceCursor, error) {
	size := traceconv.PageSize(f.Limit)
	arg := litedb.ListTracesParams{
		OrgID:       traceconv.OptString(f.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(f.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(f.Provider),
		Model:       traceconv.OptString(f.Model),
		ApiKeyHash:  traceconv.OptString(f.APIKeyHash),
		// The queries take both time bounds always (see traces.sql); no
		// bound is the widest one.
		FromTime:        math.MinInt64,
		BeforeStartedAt: math.MaxInt64,
		RowLimit:        int64(size + 1),
	}
	if f.Status != 0 {
		status := int64(f.Status)
		arg.ResponseStatus = &status
	}
	from, before := traceconv.TimeBounds(f)
	if !from.IsZero() {
		arg.FromTime = micros(from)
	}
	if before != nil {
		arg.BeforeStartedAt, arg.BeforeID = micros(before.Timestamp), before.ID
	}

	rows, err := s.listRows(ctx, arg)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: list traces: %w", err)
	}
	recs := make([]trace.Record, len(rows))
	for i := range rows {
		recs[i] = summaryRecord(&rows[i])
	}
	page, next := traceconv.Page(recs, size, traceconv.TraceKey)
	return page, next, nil
}

// listRows runs ListWorkspaceTraces when arg names one workspace, since only
// that query can seek the tenant index, and ListTraces otherwise.
func (s *Store) listRows(ctx context.Context, arg litedb.ListTracesParams) ([]litedb.ListTracesRow, error) {
	q := litedb.New(s.reader)
	if arg.OrgID == nil || arg.WorkspaceID == nil {
		return q.ListTraces(ctx, arg)
	}
	wsRows, err := q.ListWorkspaceTraces(ctx, litedb.ListWorkspaceTracesParams{
		OrgID:           *arg.OrgID,
		WorkspaceID:     *arg.WorkspaceID,
		Provider:        arg.Provider,
		Model:           arg.Model,
		ResponseStatus:  arg.ResponseStatus,
		ApiKeyHash:      arg.ApiKeyHash,
		FromTime:        arg.FromTime,
		BeforeStartedAt: arg.BeforeStartedAt,
		BeforeID:        arg.BeforeID,
		RowLimit:        arg.RowLimit,
	})
	rows := make([]litedb.ListTracesRow, len(wsRows))
	for i := range wsRows {
		rows[i] = litedb.ListTracesRow(wsRows[i]) // same columns, same shape
	}
	return rows, err
}

// GetTrace returns the full trace id if it belongs to tenant t.
func (s *Store) GetTrace(ctx context.Context, t store.Tenant, id string) (trace.Record, error) {
	row, err := litedb.New(s.reader).GetTrace(ctx, litedb.GetTraceParams{
		ID:          traceconv.Text(id), // as stored; see traceconv.Text
		OrgID:       traceconv.OptString(t.OrgID),
		WorkspaceID: traceconv.OptString(t.WorkspaceID),
	})
	if errors.Is(err, sql.ErrNoRows) {
		return trace.Record{}, store.ErrNotFound
	}
	if err != nil {
		return trace.Record{}, fmt.Errorf("sqlite: get trace: %w", err)
	}
	rec, err := fullRecord(&row)
	if err != nil {
		return trace.Record{}, fmt.Errorf("sqlite: get trace %q: %w", id, err)
	}
	return rec, nil
}

// RepriceTracesTx writes new costs inside tx, which must come from DB()
// (see store.Reprice), and returns the changes it wrote: a trace whose cost
// changed since it was read is left alone, so only what was written is
// rolled up.
func (s *Store) RepriceTracesTx(ctx context.Context, tx *sql.Tx, changes []store.Reprice) ([]store.Reprice, error) {
	q := litedb.New(tx)
	var written []store.Reprice
	for _, c := range changes {
		n, err := q.RepriceTrace(ctx, litedb.RepriceTraceParams{
			NewCostNanoUsd: c.CostNanoUSD, NewPriced: boolInt(c.Priced), PricingVersion: traceconv.Text(c.PricingVersion),
			ID: c.Trace.ID, StartedAt: micros(c.Trace.Timestamp),
			OldCostNanoUsd: c.Trace.CostNanoUSD, OldPriced: boolInt(c.Trace.Priced),
		})
		if err != nil {
			return nil, fmt.Errorf("sqlite: reprice trace %q: %w", c.Trace.ID, err)
		}
		if n == 1 {
			written = append(written, c)
		}
	}
	return written, nil
}
