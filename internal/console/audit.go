package console

import (
	"net/http"
	"slices"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/web"
)

// auditPerPage is the Audit log page's length.
const auditPerPage = 50

// auditActions are the Action filter's choices: every action recorded.
var auditActions = []string{
	auditlog.ActionKeyCreate, auditlog.ActionKeyRotate, auditlog.ActionKeyRevoke,
	auditlog.ActionWorkspaceCreate, auditlog.ActionWorkspaceRename, auditlog.ActionWorkspaceDelete,
	auditlog.ActionOrgCreate, auditlog.ActionOrgRename, auditlog.ActionOrgDelete,
	ActionSignIn, ActionSignOut, auditlog.ActionAuthDeny,
}

var auditFilterParams = []string{"action", "from", "to"}

// audit lists the audit log of the caller's scope, with the API's own
// filter parsing and keyset paging.
func (c *Console) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := web.AuditView{
		Shell: c.shell(r, "Audit log"), Errors: web.FieldErrors{}, Actions: auditActions,
		Action: q.Get("action"), From: q.Get("from"), To: q.Get("to"),
	}
	f, err := api.ParseAuditFilter(onlyParams(q, append(slices.Clip(auditFilterParams), "cursor")))
	if err != nil {
		v.Errors[api.ParamName(err)] = err.Error()
		c.render(w, r, http.StatusBadRequest, web.AuditPage(v))
		return
	}
	f.Tenant, f.Limit = c.d.Auth.Tenant(r), auditPerPage
	ctx, cancel := c.readContext(r)
	defer cancel()
	evs, next, err := c.d.Tenancy.ListAudit(ctx, f)
	if err != nil {
		c.serviceError(w, r, err)
		return
	}
	for _, e := range evs {
		v.Rows = append(v.Rows, web.AuditRow{
			Time: e.Time, Actor: e.ActorKeyID, Action: e.Action, Target: e.Target, Outcome: e.Outcome,
			Reason: e.Reason, Client: e.ClientIP, Count: e.EventCount(),
		})
	}
	if next != nil {
		nq := onlyParams(q, auditFilterParams)
		nq.Set("cursor", api.EncodeCursor(next))
		v.NextHref = "/console/audit?" + nq.Encode()
	}
	c.render(w, r, http.StatusOK, web.AuditPage(v))
}
