package console

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/web"
)

// keysView builds the Keys page for r's caller: the keys of its scope, and
// the create form's choices (the roles it may grant, the workspaces it may
// create keys in).
func (c *Console) keysView(r *http.Request) (web.KeysView, error) {
	ctx, cancel := c.readContext(r)
	defer cancel()
	keys, err := c.d.Tenancy.ListKeys(ctx, c.d.Auth.Tenant(r))
	if err != nil {
		return web.KeysView{}, err
	}
	v := web.KeysView{Shell: c.shell(r, "Keys"), CanManage: c.can(r, "keys", "manage"), Errors: web.FieldErrors{}}
	for _, k := range keys {
		v.Keys = append(v.Keys, web.KeyRow{
			ID: k.ID, Name: k.Name, Role: k.Role, Workspace: k.WorkspaceID, Status: string(k.Status),
			Static: k.Static, Created: k.CreatedAt, LastUsed: k.LastUsedAt, Expires: k.ExpiresAt,
		})
	}
	if id, ok := keyauth.IdentityFrom(r.Context()); ok && id != nil && v.CanManage {
		for _, role := range rbac.Roles {
			if rbac.CanGrant(id.Role, role) {
				v.Roles = append(v.Roles, role)
			}
		}
		v.Workspaces = []string{id.WorkspaceID}
		if c.d.Auth.Allows(r, "workspaces", "manage") {
			wss, err := c.d.Tenancy.ListWorkspaces(ctx, tenancy.RequestActor(r), "")
			if err != nil {
				return web.KeysView{}, err
			}
			v.Workspaces = v.Workspaces[:0]
			for _, w := range wss {
				v.Workspaces = append(v.Workspaces, w.ID)
			}
		}
		v.Form.Workspace = id.WorkspaceID
		v.Form.Role = rbac.RoleDeveloper
	}
	return v, nil
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request) {
	v, err := c.keysView(r)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, web.KeysPage(v))
}

// createKey creates a key from the form and shows its token once, in
// #new-token. A refusal shows the form again with the service's message
// next to the field it concerns.
func (c *Console) createKey(w http.ResponseWriter, r *http.Request) {
	f := web.KeyForm{
		Name: r.PostForm.Get("name"), Role: r.PostForm.Get("role"),
		Workspace: r.PostForm.Get("workspace_id"), Expires: r.PostForm.Get("expires"),
	}
	in := tenancy.NewKey{Name: f.Name, Role: f.Role, WorkspaceID: f.Workspace}
	var err error
	if f.Expires != "" {
		var t time.Time
		if t, err = parseExpires(f.Expires); err == nil {
			in.ExpiresAt = &t
		}
	}
	var k tenancy.IssuedKey
	if err == nil {
		k, err = c.d.Tenancy.CreateKey(r.Context(), tenancy.RequestActor(r), in)
	}
	v, verr := c.keysView(r)
	if verr != nil {
		c.serviceError(w, r, verr)
		return
	}
	if err != nil {
		var te *tenancy.Error
		if !errors.As(err, &te) {
			c.serviceError(w, r, err)
			return
		}
		v.Form = f
		v.Errors[keyField(te.Msg)] = te.Msg
		c.render(w, r, serviceStatus(err), web.KeysPage(v))
		return
	}
	v.NewToken = &web.NewToken{KeyID: k.ID, Token: k.Token}
	v.Notice = &web.Notice{Text: "Key " + k.Name + " (" + k.ID + ") created."}
	c.render(w, r, http.StatusCreated, web.KeysPage(v))
}

// msgExpires refuses an Expires value that is neither a date nor a time.
const msgExpires = "expires_at must be a date (YYYY-MM-DD) or an RFC3339 timestamp"

// parseExpires reads the Expires field: a date (the key stops working at
// its start, UTC) or an RFC3339 time.
func parseExpires(v string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, &tenancy.Error{Kind: tenancy.ErrInvalid, Msg: msgExpires}
}

// keyField is the create form's field a service message is about, "" for
// the form as a whole.
func keyField(msg string) string {
	switch {
	case strings.HasPrefix(msg, "name"):
		return "name"
	case strings.Contains(msg, "role"):
		return "role"
	case strings.Contains(msg, "workspace"):
		return "workspace_id"
	case strings.Contains(msg, "expires_at"):
		return "expires_at"
	}
	return ""
}

// rotateKey rotates on the second click: the first shows Confirm on the
// row. The new token is shown once, with when the old one stops working
// (after the API's default grace period).
func (c *Console) rotateKey(w http.ResponseWriter, r *http.Request) {
	c.keyAction(w, r, "rotate", func(id string) (*web.NewToken, string, error) {
		k, err := c.d.Tenancy.RotateKey(r.Context(), tenancy.RequestActor(r), id, tenancy.DefaultGrace)
		if err != nil {
			return nil, "", err
		}
		return &web.NewToken{KeyID: k.ID, Token: k.Token, OldValidUntil: k.PreviousTokenExpiresAt}, "Key " + k.Name + " rotated.", nil
	})
}

// revokeKey revokes on the second click; the key stops working at once.
func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request) {
	c.keyAction(w, r, "revoke", func(id string) (*web.NewToken, string, error) {
		k, err := c.d.Tenancy.RevokeKey(r.Context(), tenancy.RequestActor(r), id)
		if err != nil {
			return nil, "", err
		}
		return nil, "Key " + k.Name + " revoked: it no longer authenticates.", nil
	})
}

// keyAction is a rotate or revoke: without confirm=yes it shows the Keys
// page with the row asking to Confirm; with it, it acts and shows the
// result (or the refusal) on the Keys page.
func (c *Console) keyAction(w http.ResponseWriter, r *http.Request, verb string, act func(id string) (*web.NewToken, string, error)) {
	id := chi.URLParam(r, "id")
	if r.PostForm.Get("confirm") != "yes" {
		v, err := c.keysView(r)
		if err != nil {
			c.serviceError(w, r, err)
			return
		}
		found := false
		for i := range v.Keys {
			if v.Keys[i].ID == id {
				v.Keys[i].Confirm, found = verb, true
			}
		}
		if !found {
			c.errorPage(w, r, http.StatusNotFound, tenancy.MsgKeyNotFound)
			return
		}
		c.render(w, r, http.StatusOK, web.KeysPage(v))
		return
	}
	token, done, err := act(id)
	var te *tenancy.Error
	if err != nil && !errors.As(err, &te) {
		c.serviceError(w, r, err)
		return
	}
	v, verr := c.keysView(r)
	if verr != nil {
		c.serviceError(w, r, verr)
		return
	}
	if err != nil {
		v.Notice = &web.Notice{Text: te.Msg, Error: true}
		c.render(w, r, serviceStatus(err), web.KeysPage(v))
		return
	}
	v.NewToken, v.Notice = token, &web.Notice{Text: done}
	c.render(w, r, http.StatusOK, web.KeysPage(v))
}
