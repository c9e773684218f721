package api

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/tenancy"
)

// MsgInvalidLimitsPrefix starts the 400 answer to a malformed limits
// change: "invalid limits: FIELD: RULE".
const MsgInvalidLimitsPrefix = "invalid limits: "

// ---- limits of keys and workspaces ----

func subjectOf(t tenancy.LimitTarget) string {
	if t.KeyID != "" {
		return limits.KeySubject(t.KeyID)
	}
	return limits.WorkspaceSubject(t.OrgID, t.WorkspaceID)
}

func (a *API) showLimits(w http.ResponseWriter, t tenancy.LimitTarget) {
	v, err := a.d.Limits.Show(subjectOf(t), time.Now())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, MsgInternal)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

func (a *API) getKeyLimits(w http.ResponseWriter, r *http.Request) {
	t, err := a.d.Tenancy.KeyLimitTarget(r.Context(), a.d.Actor(r), chi.URLParam(r, "id"))
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	a.showLimits(w, t)
}

func (a *API) getWorkspaceLimits(w http.ResponseWriter, r *http.Request) {
	t, err := a.d.Tenancy.WorkspaceLimitTarget(r.Context(), a.d.Actor(r), r.URL.Query().Get("org_id"), chi.URLParam(r, "id"))
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	a.showLimits(w, t)
}

func (a *API) putKeyLimits(w http.ResponseWriter, r *http.Request) {
	a.putLimits(w, r, tenancy.LimitTarget{KeyID: chi.URLParam(r, "id")})
}

func (a *API) putWorkspaceLimits(w http.ResponseWriter, r *http.Request) {
	a.putLimits(w, r, tenancy.LimitTarget{OrgID: r.URL.Query().Get("org_id"), WorkspaceID: chi.URLParam(r, "id")})
}

// putLimits replaces the target's overrides with the body's: a limit left
// out or null keeps the configured default, 0 lifts it. The change holds
// on this gateway when the answer is sent and on every other within a
// second; it is audited (key.limits, workspace.limits).
func (a *API) putLimits(w http.ResponseWriter, r *http.Request, t tenancy.LimitTarget) {
	var req limits.Request
	if !a.readJSON(w, r, &req) {
		return
	}
	o, err := req.Override()
	if err != nil {
		WriteError(w, http.StatusBadRequest, MsgInvalidLimitsPrefix+err.Error())
		return
	}
	actor := a.d.Actor(r)
	by := ""
	if actor.Identity != nil {
		by = actor.Identity.KeyID
	}
	var resolved tenancy.LimitTarget
	err = a.d.Tenancy.SetLimits(r.Context(), actor, t, o.Describe(), func(rt tenancy.LimitTarget) error {
		resolved = rt
		return a.d.Limits.Set(r.Context(), subjectOf(rt), o, by, time.Now())
	})
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	a.showLimits(w, resolved)
}
