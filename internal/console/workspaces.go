package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/web"
)

func (c *Console) workspacesView(r *http.Request) (web.WorkspacesView, error) {
	ctx, cancel := c.readContext(r)
	defer cancel()
	wss, err := c.d.Tenancy.ListWorkspaces(ctx, tenancy.RequestActor(r), "")
	if err != nil {
		return web.WorkspacesView{}, err
	}
	v := web.WorkspacesView{
		Shell: c.shell(r, "Workspaces"), CanManage: c.can(r, "workspaces", "manage"),
		Errors: web.FieldErrors{}, RowErrors: map[string]string{},
	}
	for _, w := range wss {
		v.Workspaces = append(v.Workspaces, web.WorkspaceRow{ID: w.ID, Name: w.Name, Created: w.CreatedAt})
	}
	return v, nil
}

func (c *Console) workspacesPage(w http.ResponseWriter, r *http.Request) {
	v, err := c.workspacesView(r)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, web.WorkspacesPage(v))
}

// createWorkspace creates a workspace in the caller's organization.
func (c *Console) createWorkspace(w http.ResponseWriter, r *http.Request) {
	form := web.WorkspaceRow{ID: r.PostForm.Get("id"), Name: r.PostForm.Get("name")}
	ws, err := c.d.Tenancy.CreateWorkspace(r.Context(), tenancy.RequestActor(r), "", form.ID, form.Name)
	c.workspaceResult(w, r, err, func(v *web.WorkspacesView, msg string) {
		v.Form = form
		v.Errors[workspaceField(msg)] = msg
	}, "Workspace "+ws.ID+" created.", http.StatusCreated)
}

func (c *Console) renameWorkspace(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	ws, err := c.d.Tenancy.RenameWorkspace(r.Context(), tenancy.RequestActor(r), "", id, r.PostForm.Get("name"))
	c.workspaceResult(w, r, err, func(v *web.WorkspacesView, msg string) { v.RowErrors[id] = msg },
		"Workspace "+ws.ID+" renamed to "+ws.Name+".", http.StatusOK)
}

// deleteWorkspace deletes a workspace; the service refuses while keys in
// it can still authenticate.
func (c *Console) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	err := c.d.Tenancy.DeleteWorkspace(r.Context(), tenancy.RequestActor(r), "", id)
	c.workspaceResult(w, r, err, func(v *web.WorkspacesView, msg string) { v.RowErrors[id] = msg },
		"Workspace "+id+" deleted.", http.StatusOK)
}

// workspaceResult shows the Workspaces page after a change: with done as
// a notice, or with the service's refusal placed by refused.
func (c *Console) workspaceResult(w http.ResponseWriter, r *http.Request, err error, refused func(*web.WorkspacesView, string), done string, status int) {
	var te *tenancy.Error
	if err != nil && !errors.As(err, &te) {
		c.serviceError(w, r, err)
		return
	}
	v, verr := c.workspacesView(r)
	if verr != nil {
		c.serviceError(w, r, verr)
		return
	}
	if err != nil {
		refused(&v, te.Msg)
		c.render(w, r, serviceStatus(err), web.WorkspacesPage(v))
		return
	}
	v.Notice = &web.Notice{Text: done}
	c.render(w, r, status, web.WorkspacesPage(v))
}

// workspaceField is the create form's field a service message is about.
func workspaceField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "name"):
		return "name"
	case strings.HasPrefix(msg, "id"), strings.HasPrefix(msg, "workspace"):
		return "id"
	}
	return ""
}
