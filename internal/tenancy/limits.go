package tenancy

import (
	"context"
	"errors"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// LimitTarget is a key or a workspace whose limits an actor may read and
// set: one holding keys:manage there.
type LimitTarget struct {
	OrgID, WorkspaceID string
	KeyID              string // empty for a workspace
}

// KeyLimitTarget resolves key id for a's limits request. A key a may not
// manage is not found, as for every other key operation.
func (s *Service) KeyLimitTarget(ctx context.Context, a Actor, id string) (LimitTarget, error) {
	var ev store.AuditEvent
	k, err := s.targetKey(ctx, a, id, &ev)
	if err != nil {
		return LimitTarget{}, err
	}
	return LimitTarget{OrgID: k.OrgID, WorkspaceID: k.WorkspaceID, KeyID: k.ID}, nil
}

// WorkspaceLimitTarget resolves workspace id of organization orgID (a
// key's own organization when empty; the operator must name it) for a's
// limits request, which needs keys:manage in the workspace.
func (s *Service) WorkspaceLimitTarget(ctx context.Context, a Actor, orgID, id string) (LimitTarget, error) {
	if a.Identity != nil {
		if orgID != "" && orgID != a.Identity.OrgID {
			return LimitTarget{}, notFound(MsgWorkspaceNotFound)
		}
		orgID = a.Identity.OrgID
	} else if orgID == "" && a.Operator {
		return LimitTarget{}, invalid("org_id is required")
	}
	w, err := s.o.Store.GetWorkspace(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return LimitTarget{}, notFound(MsgWorkspaceNotFound)
	}
	if err != nil {
		return LimitTarget{}, storeErr("reading workspace", err)
	}
	if !s.allowed(a, "keys", "manage", w.OrgID, w.ID) {
		return LimitTarget{}, forbidden(keyauth.MsgForbidden)
	}
	return LimitTarget{OrgID: w.OrgID, WorkspaceID: w.ID}, nil
}

// SetLimits resolves the target as above and, when a may change it, runs
// set and records the audit event of the change (key.limits or
// workspace.limits, with detail as its reason), whatever its outcome.
func (s *Service) SetLimits(ctx context.Context, a Actor, t LimitTarget, detail string, set func(LimitTarget) error) error {
	action, target := auditlog.ActionWorkspaceLimits, "workspace:"+t.WorkspaceID
	if t.KeyID != "" {
		action, target = auditlog.ActionKeyLimits, "gateway_key:"+t.KeyID
	}
	_, err := change(ctx, s, a, action, target, func(ctx context.Context, ev *store.AuditEvent) (struct{}, error) {
		var resolved LimitTarget
		var err error
		if t.KeyID != "" {
			resolved, err = s.KeyLimitTarget(ctx, a, t.KeyID)
		} else {
			resolved, err = s.WorkspaceLimitTarget(ctx, a, t.OrgID, t.WorkspaceID)
		}
		if err != nil {
			return struct{}{}, err
		}
		ev.OrgID, ev.WorkspaceID = resolved.OrgID, resolved.WorkspaceID
		if err := set(resolved); err != nil {
			if !errors.As(err, new(*Error)) {
				err = storeErr("storing limits", err)
			}
			return struct{}{}, err
		}
		ev.Reason = detail
		return struct{}{}, nil
	})
	return err
}

// InvalidLimits is the service's refusal of a malformed limits request.
func InvalidLimits(msg string) error { return invalid(msg) }
