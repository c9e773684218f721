package sqlite

import (
	"context"
	"fmt"
	"math"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/sqlite/litedb"
)

var _ store.Audit = (*Store)(nil)

// InsertAudit writes batch in one transaction through one prepared
// statement. An id already stored keeps the larger count, so a retried
// flush is harmless.
func (s *Store) InsertAudit(ctx context.Context, batch []store.AuditEvent) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: insert audit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmts := &preparedTx{Tx: tx}
	defer stmts.close()
	q := litedb.New(stmts)
	text := traceconv.Text // the same text Postgres stores
	for _, e := range batch {
		err := q.InsertAudit(ctx, litedb.InsertAuditParams{
			ID:          text(e.ID),
			Time:        micros(e.Time),
			OrgID:       text(e.OrgID),
			WorkspaceID: text(e.WorkspaceID),
			ActorKeyID:  text(e.ActorKeyID),
			Action:      text(e.Action),
			Target:      text(e.Target),
			Outcome:     text(e.Outcome),
			Reason:      text(e.Reason),
			ClientIp:    text(e.ClientIP),
			RequestID:   text(e.RequestID),
			Count:       e.EventCount(),
		})
		if err != nil {
			return fmt.Errorf("sqlite: insert audit %q: %w", e.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: insert audit: %w", err)
	}
	return nil
}

// ListAudit returns one page of events, newest first, and the cursor for
// the next page (nil when there is none). Paging and time bounds work as in
// ListTraces.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, *store.TraceCursor, error) {
	size := traceconv.PageSize(f.Limit)
	arg := litedb.ListAuditParams{
		OrgID:       traceconv.OptString(f.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(f.Tenant.WorkspaceID),
		Action:      traceconv.OptString(f.Action),
		// Both bounds are always given (see audit.sql); none is the widest.
		FromTime:   math.MinInt64,
		BeforeTime: math.MaxInt64,
		RowLimit:   int64(size + 1),
	}
	from, before := traceconv.TimeBounds(store.TraceFilter{From: f.From, To: f.To, Cursor: f.Cursor})
	if !from.IsZero() {
		arg.FromTime = micros(from)
	}
	if before != nil {
		arg.BeforeTime, arg.BeforeID = micros(before.Timestamp), before.ID
	}
	var (
		rows []litedb.AuditEvent
		err  error
	)
	q := litedb.New(s.reader)
	if arg.OrgID != nil && arg.WorkspaceID != nil {
		// Only the workspace query can seek the tenant index.
		rows, err = q.ListWorkspaceAudit(ctx, litedb.ListWorkspaceAuditParams{
			OrgID:       *arg.OrgID,
			WorkspaceID: *arg.WorkspaceID,
			Action:      arg.Action,
			FromTime:    arg.FromTime,
			BeforeTime:  arg.BeforeTime,
			BeforeID:    arg.BeforeID,
			RowLimit:    arg.RowLimit,
		})
	} else {
		rows, err = q.ListAudit(ctx, arg)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	events := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		events[i] = store.AuditEvent{
			ID:          r.ID,
			Time:        fromMicros(r.Time),
			OrgID:       r.OrgID,
			WorkspaceID: r.WorkspaceID,
			ActorKeyID:  r.ActorKeyID,
			Action:      r.Action,
			Target:      r.Target,
			Outcome:     r.Outcome,
			Reason:      r.Reason,
			ClientIP:    r.ClientIp,
			RequestID:   r.RequestID,
			Count:       r.Count,
		}
	}
	page, next := traceconv.Page(events, size, traceconv.AuditKey)
	return page, next, nil
}
