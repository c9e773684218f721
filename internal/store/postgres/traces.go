package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/batchwrite"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// InsertTraces writes batch in one transaction; see InsertTracesTx.
func (s *Store) InsertTraces(ctx context.Context, batch []trace.Record) error {
	return batchwrite.InsertTraces(ctx, "postgres", s, batch)
}

// InsertTracesTx writes batch inside tx, so a caller can commit other work
// (a job that rolls the batch up) atomically with it, and returns the
// records it actually inserted. Traces already stored (same start time and
// id) are skipped, which makes a retried batch harmless; leaving them out of
// the result is what lets the caller roll up each trace exactly once. On
// error, roll tx back.
//
// The batch is first COPied straight into traces, the fastest way in, inside
// a savepoint. COPY fails as a whole on a key that is already stored (or
// twice in the batch); only then, which in practice means a retry after a
// lost commit acknowledgement, does the savepoint roll back and the batch go
// in again as one INSERT ... ON CONFLICT DO NOTHING, which checks every row
// and returns the keys it inserted. Exactly-once thus costs nothing on the
// common path, where the result is batch itself.
func (s *Store) InsertTracesTx(ctx context.Context, tx pgx.Tx, batch []trace.Record) ([]trace.Record, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	rows := make([]pgdb.CopyTracesParams, len(batch))
	for i := range batch {
		row, err := copyParams(&batch[i])
		if err != nil {
			return nil, fmt.Errorf("postgres: insert traces: %w", err)
		}
		rows[i] = row
	}

	sp, err := tx.Begin(ctx) // a savepoint
	if err != nil {
		return nil, fmt.Errorf("postgres: insert traces: %w", err)
	}
	_, err = pgdb.New(sp).CopyTraces(ctx, rows)
	if err == nil {
		err = sp.Commit(ctx) // releases the savepoint
	}
	if err == nil {
		return batch, nil
	}
	_ = sp.Rollback(ctx)
	if !isUniqueViolation(err) {
		return nil, fmt.Errorf("postgres: insert traces: %w", err)
	}
	keys, err := pgdb.New(tx).InsertTracesSkipDuplicates(ctx, skipDuplicatesParams(rows))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert traces: %w", err)
	}
	return insertedRecords(batch, rows, keys), nil
}

// insertedRecords picks out of batch the records whose keys the retry path
// returned, in batch order. A key the batch holds twice was inserted once:
// unnest yields the arrays in order, so its first occurrence went in and the
// later ones conflicted, and only the first is picked.
func insertedRecords(batch []trace.Record, rows []pgdb.CopyTracesParams, keys []pgdb.InsertTracesSkipDuplicatesRow) []trace.Record {
	type key struct {
		micros int64 // as stored: pgx sends microseconds, truncating
		id     string
	}
	fresh := make(map[key]bool, len(keys))
	for _, k := range keys {
		fresh[key{k.StartedAt.UnixMicro(), k.ID}] = true
	}
	var out []trace.Record
	for i := range rows {
		k := key{rows[i].StartedAt.UnixMicro(), rows[i].ID}
		if fresh[k] {
			out = append(out, batch[i])
			delete(fresh, k) // later duplicates were skipped
		}
	}
	return out
}

// uniqueViolation is SQLSTATE 23505, which COPY raises on a stored id.
const uniqueViolation = "23505"

func isUniqueViolation(err error) bool { return hasCode(err, uniqueViolation) }

// ListTraces returns one page of trace summaries, newest first.
func (s *Store) ListTraces(ctx context.Context, f store.TraceFilter) ([]trace.Record, *store.TraceCursor, error) {
	size := traceconv.PageSize(f.Limit)
	arg := pgdb.ListTracesParams{
		OrgID:       traceconv.OptString(f.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(f.Tenant.WorkspaceID),
		Provider:    traceconv.OptString(f.Provider),
		Model:       traceconv.OptString(f.Model),
		ApiKeyHash:  traceconv.OptString(f.APIKeyHash),
		RowLimit:    int32(size + 1),
	}
	if f.Status != 0 {
		status := int16(min(max(f.Status, -1), 1000)) // out of HTTP range matches nothing, without wrapping
		arg.ResponseStatus = &status
	}
	from, before := traceconv.TimeBounds(f)
	if !from.IsZero() {
		arg.FromTime = &from
	}
	if before != nil {
		arg.BeforeStartedAt, arg.BeforeID = &before.Timestamp, &before.ID
	}
	rows, err := pgdb.New(planEachCall{s.pool}).ListTraces(ctx, arg)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: list traces: %w", err)
	}
	recs := make([]trace.Record, len(rows))
	for i := range rows {
		recs[i] = summaryRecord(&rows[i])
	}
	page, next := traceconv.Page(recs, size, traceconv.TraceKey)
	return page, next, nil
}

// GetTrace returns the full trace id if it belongs to tenant t.
func (s *Store) GetTrace(ctx context.Context, t store.Tenant, id string) (trace.Record, error) {
	row, err := pgdb.New(s.pool).GetTrace(ctx, pgdb.GetTraceParams{
		ID:          traceconv.Text(id), // as stored; see traceconv.Text
		OrgID:       traceconv.OptString(t.OrgID),
		WorkspaceID: traceconv.OptString(t.WorkspaceID),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return trace.Record{}, store.ErrNotFound
	}
	if err != nil {
		return trace.Record{}, fmt.Errorf("postgres: get trace: %w", err)
	}
	rec, err := fullRecord(&row)
	if err != nil {
		return trace.Record{}, fmt.Errorf("postgres: get trace %q: %w", id, err)
	}
	return rec, nil
}

// planEachCall sends queries as unnamed statements, which Postgres plans
// for the arguments of each call. ListTraces needs that: its optional
// filters are "$1 IS NULL OR col = $1", and only a plan that sees the actual
// $1 can drop the dead branch and seek the tenant index. A cached generic
// plan would have to serve every combination, and for a LIMIT query it tends
// to pick a scan of the newest rows filtered by tenant, which reads the whole
// table for a quiet tenant.
type planEachCall struct{ pgdb.DBTX }

func (p planEachCall) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.DBTX.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
}

// copyParams maps a record to a row, with text made storable by
// traceconv.Text, the same way the SQLite store does it.
func copyParams(r *trace.Record) (pgdb.CopyTracesParams, error) {
	reqHeaders, respHeaders, err := traceconv.EncodeHeaders(r)
	if err != nil {
		return pgdb.CopyTracesParams{}, err
	}
	text := traceconv.Text
	return pgdb.CopyTracesParams{
		StartedAt:          r.Timestamp,
		CreatedAt:          r.CreatedAt,
		InputTokens:        r.InputTokens,
		OutputTokens:       r.OutputTokens,
		TotalTokens:        r.TotalTokens,
		CachedInputTokens:  r.CachedInputTokens,
		CacheWriteTokens:   r.CacheWriteTokens,
		CacheWrite1hTokens: r.CacheWrite1hTokens,
		ReasoningTokens:    r.ReasoningTokens,
		LatencyMs:          r.LatencyMS,
		TimeToFirstTokenMs: r.TimeToFirstTokenMS,
		TimeToFirstTokenUs: r.TimeToFirstTokenUS,
		TimeToFirstByteMs:  r.TimeToFirstByteMS,
		StreamEvents:       r.StreamEvents,
		CostNanoUsd:        r.CostNanoUSD,
		ResponseStatus:     int16(r.ResponseStatus),
		TokensEstimated:    r.TokensEstimated,
		Streaming:          r.Streaming,
		Priced:             r.Priced,
		ID:                 text(r.ID),
		OrgID:              text(r.OrgID),
		WorkspaceID:        text(r.WorkspaceID),
		GatewayKeyID:       text(r.GatewayKeyID),
		Provider:           text(r.Provider),
		Model:              text(r.Model),
		RequestModel:       text(r.RequestModel),
		RequestMethod:      text(r.RequestMethod),
		RequestPath:        text(r.RequestPath),
		Outcome:            text(string(r.Outcome)),
		ApiKeyHash:         text(r.APIKeyHash),
		ApiKeyLast4:        text(r.APIKeyLast4),
		PricingVersion:     text(r.PricingVersion),
		RequestHeaders:     reqHeaders,
		ResponseHeaders:    respHeaders,
		RequestBody:        text(r.RequestBody),
		ResponseBody:       text(r.ResponseBody),
		Metadata:           traceconv.Metadata(r.Metadata),
	}, nil
}

// skipDuplicatesParams turns the COPY rows into the column arrays of the
// retry path. That path is rare, so growing the arrays as it goes is fine.
func skipDuplicatesParams(rows []pgdb.CopyTracesParams) pgdb.InsertTracesSkipDuplicatesParams {
	var p pgdb.InsertTracesSkipDuplicatesParams
	for i := range rows {
		r := &rows[i]
		p.StartedAt = append(p.StartedAt, r.StartedAt)
		p.CreatedAt = append(p.CreatedAt, r.CreatedAt)
		p.InputTokens = append(p.InputTokens, r.InputTokens)
		p.OutputTokens = append(p.OutputTokens, r.OutputTokens)
		p.TotalTokens = append(p.TotalTokens, r.TotalTokens)
		p.CachedInputTokens = append(p.CachedInputTokens, r.CachedInputTokens)
		p.CacheWriteTokens = append(p.CacheWriteTokens, r.CacheWriteTokens)
		p.ReasoningTokens = append(p.ReasoningTokens, r.ReasoningTokens)
		p.LatencyMs = append(p.LatencyMs, r.LatencyMs)
		p.TimeToFirstTokenMs = append(p.TimeToFirstTokenMs, r.TimeToFirstTokenMs)
		p.TimeToFirstTokenUs = append(p.TimeToFirstTokenUs, r.TimeToFirstTokenUs)
		p.StreamEvents = append(p.StreamEvents, r.StreamEvents)
		p.CostNanoUsd = append(p.CostNanoUsd, r.CostNanoUsd)
		p.ResponseStatus = append(p.ResponseStatus, r.ResponseStatus)
		p.TokensEstimated = append(p.TokensEstimated, r.TokensEstimated)
		p.Streaming = append(p.Streaming, r.Streaming)
		p.Priced = append(p.Priced, r.Priced)
		p.ID = append(p.ID, r.ID)
		p.OrgID = append(p.OrgID, r.OrgID)
		p.WorkspaceID = append(p.WorkspaceID, r.WorkspaceID)
		p.GatewayKeyID = append(p.GatewayKeyID, r.GatewayKeyID)
		p.Provider = append(p.Provider, r.Provider)
		p.Model = append(p.Model, r.Model)
		p.RequestModel = append(p.RequestModel, r.RequestModel)
		p.RequestMethod = append(p.RequestMethod, r.RequestMethod)
		p.RequestPath = append(p.RequestPath, r.RequestPath)
		p.Outcome = append(p.Outcome, r.Outcome)
		p.ApiKeyHash = append(p.ApiKeyHash, r.ApiKeyHash)
		p.ApiKeyLast4 = append(p.ApiKeyLast4, r.ApiKeyLast4)
		p.PricingVersion = append(p.PricingVersion, r.PricingVersion)
		p.RequestHeaders = append(p.RequestHeaders, r.RequestHeaders)
		p.ResponseHeaders = append(p.ResponseHeaders, r.ResponseHeaders)
		p.RequestBody = append(p.RequestBody, r.RequestBody)
		p.ResponseBody = append(p.ResponseBody, r.ResponseBody)
		p.Metadata = append(p.Metadata, r.Metadata)
		p.CacheWrite1hTokens = append(p.CacheWrite1hTokens, r.CacheWrite1hTokens)
		p.TimeToFirstByteMs = append(p.TimeToFirstByteMs, r.TimeToFirstByteMs)
	}
	return p
}

// RepriceTracesTx writes new costs inside tx (see store.Reprice) and
// returns the changes it wrote: a trace whose cost changed since it was
// read is left alone, so only what was written is rolled up.
func (s *Store) RepriceTracesTx(ctx context.Context, tx pgx.Tx, changes []store.Reprice) ([]store.Reprice, error) {
	q := pgdb.New(tx)
	var written []store.Reprice
	for _, c := range changes {
		n, err := q.RepriceTrace(ctx, pgdb.RepriceTraceParams{
			NewCostNanoUsd: c.CostNanoUSD, NewPriced: c.Priced, PricingVersion: traceconv.Text(c.PricingVersion),
			StartedAt: c.Trace.Timestamp, ID: c.Trace.ID,
			OldCostNanoUsd: c.Trace.CostNanoUSD, OldPriced: c.Trace.Priced,
		})
		if err != nil {
			return nil, fmt.Errorf("postgres: reprice trace %q: %w", c.Trace.ID, err)
		}
		if n == 1 {
			written = append(written, c)
		}
	}
	return written, nil
}
