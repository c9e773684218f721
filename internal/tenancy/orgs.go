package tenancy

import (
	"context"
	"errors"
	"time"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// OrgInfo is an organization as the API shows it.
type OrgInfo struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ListOrgs lists the organizations a may see: its own for a key,
// every one for the operator or when auth is disabled.
func (s *Service) ListOrgs(ctx context.Context, a Actor) ([]OrgInfo, error) {
	if a.Identity != nil {
		o, err := s.o.Store.GetOrg(ctx, a.Identity.OrgID)
		if errors.Is(err, store.ErrNotFound) {
			return []OrgInfo{}, nil
		}
		if err != nil {
			return nil, storeErr("reading organization", err)
		}
		return []OrgInfo{orgInfo(o)}, nil
	}
	orgs, err := s.o.Store.ListOrgs(ctx)
	if err != nil {
		return nil, storeErr("listing organizations", err)
	}
	out := make([]OrgInfo, 0, len(orgs))
	for _, o := range orgs {
		out = append(out, orgInfo(o))
	}
	return out, nil
}

func orgInfo(o store.Org) OrgInfo { return OrgInfo{ID: o.ID, Name: o.Name, CreatedAt: o.CreatedAt} }

// CreateOrg creates an organization. Only the operator may: a gateway key
// acts inside its own organization and could never use a new one, so the
// API refuses (MsgOrgCreateViaCLI) and the CLI creates organizations as it
// mints their first key.
func (s *Service) CreateOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	return change(ctx, s, a, auditlog.ActionOrgCreate, "org:"+id, func(ctx context.Context, ev *store.AuditEvent) (OrgInfo, error) {
		o, err := s.createOrg(ctx, a, id, name)
		if err == nil {
			ev.OrgID = id // the new organization's owners will want to see its birth
		}
		return o, err
	})
}

func (s *Service) createOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	if !a.Operator {
		return OrgInfo{}, forbidden(MsgOrgCreateViaCLI)
	}
	if !keyauth.ValidID(id) {
		return OrgInfo{}, invalid("organization id " + keyauth.IDRule)
	}
	name, err := cleanName("name", name)
	if err != nil {
		return OrgInfo{}, err
	}
	if name == "" {
		name = id
	}
	o := store.Org{ID: id, Name: name, CreatedAt: s.now()}
	switch err := s.o.Store.CreateOrg(ctx, o); {
	case errors.Is(err, store.ErrConflict):
		return OrgInfo{}, conflict(MsgOrgExists)
	case err != nil:
		return OrgInfo{}, storeErr("creating organization", err)
	}
	return orgInfo(o), nil
}

// orgTarget checks that a may change organization id: the operator, or an
// owner key of that organization. Another organization is not found.
func orgTarget(a Actor, id string) error {
	if a.Identity == nil {
		return nil // operator; anonymous callers were refused by change
	}
	if id != a.Identity.OrgID {
		return notFound(MsgOrgNotFound)
	}
	if a.Identity.Role != rbac.RoleOwner {
		return forbidden(MsgOwnerOnly)
	}
	return nil
}

// RenameOrg renames an organization: the operator, or an owner of it.
func (s *Service) RenameOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	return change(ctx, s, a, auditlog.ActionOrgRename, "org:"+id, func(ctx context.Context, _ *store.AuditEvent) (OrgInfo, error) {
		return s.renameOrg(ctx, a, id, name)
	})
}

func (s *Service) renameOrg(ctx context.Context, a Actor, id, name string) (OrgInfo, error) {
	if err := orgTarget(a, id); err != nil {
		return OrgInfo{}, err
	}
	name, err := cleanName("name", name)
	if err != nil {
		return OrgInfo{}, err
	}
	if name == "" {
		return OrgInfo{}, invalid(MsgNameRequired)
	}
	switch err := s.o.Store.RenameOrg(ctx, id, name); {
	case errors.Is(err, store.ErrNotFound):
		return OrgInfo{}, notFound(MsgOrgNotFound)
	case err != nil:
		return OrgInfo{}, storeErr("renaming organization", err)
	}
	o, err := s.o.Store.GetOrg(ctx, id)
	if err != nil {
		return OrgInfo{}, storeErr("reading organization", err)
	}
	return orgInfo(o), nil
}

// DeleteOrg deletes an organization without workspaces: the operator, or
// an owner of it (whose own key keeps a workspace alive, so in practice the
// store refuses with MsgOrgHasWorkspaces until the operator cleans up).
func (s *Service) DeleteOrg(ctx context.Context, a Actor, id string) error {
	_, err := change(ctx, s, a, auditlog.ActionOrgDelete, "org:"+id, func(ctx context.Context, _ *store.AuditEvent) (struct{}, error) {
		return struct{}{}, s.deleteOrg(ctx, a, id)
	})
	return err
}

func (s *Service) deleteOrg(ctx context.Context, a Actor, id string) error {
	if err := orgTarget(a, id); err != nil {
		return err
	}
	switch err := s.o.Store.DeleteOrg(ctx, id); {
	case errors.Is(err, store.ErrNotFound):
		return notFound(MsgOrgNotFound)
	case errors.Is(err, store.ErrConflict):
		return conflict(MsgOrgHasWorkspaces)
	case err != nil:
		return storeErr("deleting organization", err)
	}
	return nil
}
