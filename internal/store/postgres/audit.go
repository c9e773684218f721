package postgres

import (
	"context"
	"fmt"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/internal/traceconv"
	"github.com/ongoingai/gateway/internal/store/postgres/pgdb"
)

var _ store.Audit = (*Store)(nil)

// InsertAudit writes batch in one statement. An id already stored keeps
// the larger count, so a retried flush is harmless; an id repeated in the
// batch is written once, with its largest count (one statement may not
// update a row twice).
func (s *Store) InsertAudit(ctx context.Context, batch []store.AuditEvent) error {
	if len(batch) == 0 {
		return nil
	}
	var p pgdb.InsertAuditParams
	at := make(map[string]int, len(batch))
	for _, e := range batch {
		if i, dup := at[e.ID]; dup {
			p.Count[i] = max(p.Count[i], e.EventCount())
			continue
		}
		at[e.ID] = len(p.ID)
		p.Count = append(p.Count, e.EventCount())
		p.Time = append(p.Time, e.Time)
		p.ID = append(p.ID, traceconv.Text(e.ID))
		p.OrgID = append(p.OrgID, traceconv.Text(e.OrgID))
		p.WorkspaceID = append(p.WorkspaceID, traceconv.Text(e.WorkspaceID))
		p.ActorKeyID = append(p.ActorKeyID, traceconv.Text(e.ActorKeyID))
		p.Action = append(p.Action, traceconv.Text(e.Action))
		p.Target = append(p.Target, traceconv.Text(e.Target))
		p.Outcome = append(p.Outcome, traceconv.Text(e.Outcome))
		p.Reason = append(p.Reason, traceconv.Text(e.Reason))
		p.ClientIp = append(p.ClientIp, traceconv.Text(e.ClientIP))
		p.RequestID = append(p.RequestID, traceconv.Text(e.RequestID))
	}
	if err := pgdb.New(s.pool).InsertAudit(ctx, p); err != nil {
		return fmt.Errorf("postgres: insert audit: %w", err)
	}
	return nil
}

// ListAudit returns one page of events, newest first, and the cursor for
// the next page (nil when there is none). Paging and time bounds work as in
// ListTraces.
func (s *Store) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, *store.TraceCursor, error) {
	size := traceconv.PageSize(f.Limit)
	arg := pgdb.ListAuditParams{
		OrgID:       traceconv.OptString(f.Tenant.OrgID),
		WorkspaceID: traceconv.OptString(f.Tenant.WorkspaceID),
		Action:      traceconv.OptString(f.Action),
		RowLimit:    int32(size + 1),
	}
	from, before := traceconv.TimeBounds(store.TraceFilter{From: f.From, To: f.To, Cursor: f.Cursor})
	if !from.IsZero() {
		arg.FromTime = &from
	}
	if before != nil {
		arg.BeforeTime, arg.BeforeID = &before.Timestamp, &before.ID
	}
	rows, err := pgdb.New(planEachCall{s.pool}).ListAudit(ctx, arg)
	if err != nil {
		return nil, nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	events := make([]store.AuditEvent, len(rows))
	for i, r := range rows {
		events[i] = store.AuditEvent{
			ID:          r.ID,
			Time:        r.Time.UTC(),
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
