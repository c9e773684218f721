package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// WorkspaceInfo is a workspace as the API shows it.
type WorkspaceInfo struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"org_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ListWorkspaces lists the workspaces a may manage: for a key, those of its
// organization where it holds workspaces:manage (all of them for an owner);
// for the operator or with auth disabled, those of orgID, or of every
// organization when orgID is empty.
func (s *Service) ListWorkspaces(ctx context.Context, a Actor, orgID string) ([]WorkspaceInfo, error) {
	var orgs []string
	switch {
	case a.Identity != nil:
		if orgID != "" && orgID != a.Identity.OrgID {
			return []WorkspaceInfo{}, nil
		}
		orgs = []string{a.Identity.OrgID}
	case orgID != "":
		orgs = []string{orgID}
	default:
		all, err := s.o.Store.ListOrgs(ctx)
		if err != nil {
			return nil, storeErr("listing organizations", err)
		}
		for _, o := range all {
			orgs = append(orgs, o.ID)
		}
	}
	out := []WorkspaceInfo{}
	for _, org := range orgs {
		wss, err := s.o.Store.ListWorkspaces(ctx, org)
		if err != nil {
			return nil, storeErr("listing workspaces", err)
		}
		for _, w := range wss {
			if a.Identity == nil || s.allowed(a, "workspaces", "manage", w.OrgID, w.ID) {
				out = append(out, workspaceInfo(w))
			}
		}
	}
	return out, nil
}

func workspaceInfo(w store.Workspace) WorkspaceInfo {
	return WorkspaceInfo{ID: w.ID, OrgID: w.OrgID, Name: w.Name, CreatedAt: w.CreatedAt}
}

// CreateWorkspace creates a workspace in orgID (a key's own organization
// when empty). id is generated when empty; name defaults to the id. The
// caller needs workspaces:manage there, which only an owner has in a
// workspace that does not exist yet.
func (s *Service) CreateWorkspace(ctx context.Context, a Actor, orgID, id, name string) (WorkspaceInfo, error) {
	return change(ctx, s, a, auditlog.ActionWorkspaceCreate, "workspace:"+id, func(ctx context.Context, ev *store.AuditEvent) (WorkspaceInfo, error) {
		return s.createWorkspace(ctx, a, orgID, id, name, ev)
	})
}

func (s *Service) createWorkspace(ctx context.Context, a Actor, orgID, id, name string, ev *store.AuditEvent) (WorkspaceInfo, error) {
	if a.Identity != nil {
		if orgID != "" && orgID != a.Identity.OrgID {
			return WorkspaceInfo{}, notFound(MsgOrgNotFound)
		}
		orgID = a.Identity.OrgID
	} else if orgID == "" {
		return WorkspaceInfo{}, invalid("org_id is required")
	}
	if id == "" {
		var err error
		if id, err = keyauth.NewID("ws_"); err != nil {
			return WorkspaceInfo{}, err
		}
		ev.Target = "workspace:" + id
	} else if !keyauth.ValidID(id) {
		return WorkspaceInfo{}, invalid("workspace id " + keyauth.IDRule)
	}
	name, err := cleanName("name", name)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	if name == "" {
		name = id
	}
	if !s.allowed(a, "workspaces", "manage", orgID, id) {
		return WorkspaceInfo{}, forbidden(keyauth.MsgForbidden)
	}
	ev.OrgID, ev.WorkspaceID = orgID, id
	w := store.Workspace{ID: id, OrgID: orgID, Name: name, CreatedAt: s.now()}
	switch err := s.o.Store.CreateWorkspace(ctx, w); {
	case errors.Is(err, store.ErrConflict):
		return WorkspaceInfo{}, conflict(MsgWorkspaceExists)
	case errors.Is(err, store.ErrNotFound):
		return WorkspaceInfo{}, notFound(MsgOrgNotFound)
	case err != nil:
		return WorkspaceInfo{}, storeErr("creating workspace", err)
	}
	return workspaceInfo(w), nil
}

// targetWorkspace reads workspace id of organization orgID for a change by
// a. Workspace ids are unique per organization, so a key only ever
// addresses its own organization's workspaces (orgID may be empty or must
// be its own; another is not found), and the operator must name the
// organization. One of a's own organization that a may not manage is
// forbidden.
func (s *Service) targetWorkspace(ctx context.Context, a Actor, orgID, id string, ev *store.AuditEvent) (store.Workspace, error) {
	if a.Identity != nil {
		if orgID != "" && orgID != a.Identity.OrgID {
			return store.Workspace{}, notFound(MsgWorkspaceNotFound)
		}
		orgID = a.Identity.OrgID
	} else if orgID == "" {
		return store.Workspace{}, invalid("org_id is required")
	}
	w, err := s.o.Store.GetWorkspace(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Workspace{}, notFound(MsgWorkspaceNotFound)
	}
	if err != nil {
		return store.Workspace{}, storeErr("reading workspace", err)
	}
	if !s.allowed(a, "workspaces", "manage", w.OrgID, w.ID) {
		return store.Workspace{}, forbidden(keyauth.MsgForbidden)
	}
	ev.OrgID, ev.WorkspaceID = w.OrgID, w.ID
	return w, nil
}

// RenameWorkspace renames workspace id of organization orgID (a key's own
// organization when empty).
func (s *Service) RenameWorkspace(ctx context.Context, a Actor, orgID, id, name string) (WorkspaceInfo, error) {
	return change(ctx, s, a, auditlog.ActionWorkspaceRename, "workspace:"+id, func(ctx context.Context, ev *store.AuditEvent) (WorkspaceInfo, error) {
		return s.renameWorkspace(ctx, a, orgID, id, name, ev)
	})
}

func (s *Service) renameWorkspace(ctx context.Context, a Actor, orgID, id, name string, ev *store.AuditEvent) (WorkspaceInfo, error) {
	w, err := s.targetWorkspace(ctx, a, orgID, id, ev)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	name, err = cleanName("name", name)
	if err != nil {
		return WorkspaceInfo{}, err
	}
	if name == "" {
		return WorkspaceInfo{}, invalid(MsgNameRequired)
	}
	switch err := s.o.Store.RenameWorkspace(ctx, w.OrgID, id, name); {
	case errors.Is(err, store.ErrNotFound):
		return WorkspaceInfo{}, notFound(MsgWorkspaceNotFound)
	case err != nil:
		return WorkspaceInfo{}, storeErr("renaming workspace", err)
	}
	w.Name = name
	return workspaceInfo(w), nil
}

// DeleteWorkspace deletes workspace id of organization orgID (a key's own
// organization when empty) once it has no active or rotating keys.
func (s *Service) DeleteWorkspace(ctx context.Context, a Actor, orgID, id string) error {
	_, err := change(ctx, s, a, auditlog.ActionWorkspaceDelete, "workspace:"+id, func(ctx context.Context, ev *store.AuditEvent) (struct{}, error) {
		return struct{}{}, s.deleteWorkspace(ctx, a, orgID, id, ev)
	})
	return err
}

func (s *Service) deleteWorkspace(ctx context.Context, a Actor, orgID, id string, ev *store.AuditEvent) error {
	w, err := s.targetWorkspace(ctx, a, orgID, id, ev)
	if err != nil {
		return err
	}
	switch err := s.o.Store.DeleteWorkspace(ctx, w.OrgID, id); {
	case errors.Is(err, store.ErrNotFound):
		return notFound(MsgWorkspaceNotFound)
	case errors.Is(err, store.ErrConflict):
		return conflict(MsgWorkspaceHasKeys)
	case err != nil:
		return storeErr("deleting workspace", err)
	}
	return nil
}

// EnsureWorkspace makes sure organization orgID and its workspace wsID
// exist, creating (and auditing) what is missing: the CLI's bootstrap, so
// the first key of a new installation is one command. Workspace ids are
// unique per organization, so another organization's workspace of the same
// id is neither a conflict nor touched.
func (s *Service) EnsureWorkspace(ctx context.Context, a Actor, orgID, wsID string) error {
	if !a.Operator {
		return forbidden(MsgOrgCreateViaCLI)
	}
	if !keyauth.ValidID(orgID) {
		return invalid("organization id " + keyauth.IDRule)
	}
	if !keyauth.ValidID(wsID) {
		return invalid("workspace id " + keyauth.IDRule)
	}
	if _, err := s.o.Store.GetOrg(ctx, orgID); errors.Is(err, store.ErrNotFound) {
		if _, err := s.CreateOrg(ctx, a, orgID, ""); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	} else if err != nil {
		return storeErr("reading organization", err)
	}
	_, err := s.o.Store.GetWorkspace(ctx, orgID, wsID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if _, err := s.CreateWorkspace(ctx, a, orgID, wsID, ""); err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
		return nil
	case err != nil:
		return storeErr("reading workspace", err)
	}
	return nil
}
