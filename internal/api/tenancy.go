package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy"
)

// maxJSONBody bounds request bodies of the management API; none needs more.
const maxJSONBody = 64 << 10

// decodeBody decodes an optional JSON body into v, refusing unknown fields
// (a misspelt "expires_at" must not silently mint a key that never
// expires) and trailing data.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // no body: every field keeps its default
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return err // readJSON answers 408
		}
		return errors.New("invalid JSON body: " + bodyProblem(err))
	}
	if dec.More() {
		return errors.New("invalid JSON body: more than one JSON value")
	}
	return nil
}

// MsgRequestBodyTimeout answers a body not received within
// server.read_body_timeout, as the proxy does on provider routes.
const MsgRequestBodyTimeout = "request body timeout"

// readJSON decodes the request body into v (see decodeBody) and answers the
// client itself when it cannot: 400 for a body that is not the JSON
// expected, 408 for one not received within server.read_body_timeout, so a
// client trickling bytes holds a connection no longer than that. The
// deadline is lifted once the body is in.
func (a *API) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	rc := http.NewResponseController(w)
	timed := a.d.ReadBodyTimeout > 0 && rc.SetReadDeadline(time.Now().Add(a.d.ReadBodyTimeout)) == nil
	err := decodeBody(w, r, v)
	if timed && err == nil {
		_ = rc.SetReadDeadline(time.Time{})
	}
	switch {
	case err == nil:
		return true
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusRequestTimeout, MsgRequestBodyTimeout)
	default:
		WriteError(w, http.StatusBadRequest, err.Error())
	}
	return false
}

// bodyProblem words a decoding error for the client in one of a few stable
// forms (documented in openapi.yaml under BadBody), instead of
// encoding/json's text, which names Go types and changes between releases.
func bodyProblem(err error) string {
	var typeErr *json.UnmarshalTypeError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return "not an object"
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q must be %s", typeErr.Field, jsonKind(typeErr.Type))
	case errors.As(err, &tooLarge):
		return fmt.Sprintf("larger than %d bytes", tooLarge.Limit)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one.
		return strings.TrimPrefix(err.Error(), "json: ")
	default:
		return "malformed JSON"
	}
}

// jsonKind names the JSON type a Go type decodes from, with its article.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	default:
		return "an object"
	}
}

// writeServiceError answers a tenancy.Service error: its own message for
// a refusal, a generic one for anything else (store details stay in logs
// and the audit log).
func (a *API) writeServiceError(ctx context.Context, w http.ResponseWriter, err error) {
	var te *tenancy.Error
	if !errors.As(err, &te) {
		// Not the service's own refusal: the store failed. A store that is
		// down or did not answer in time is a 503 the client may retry.
		a.writeStoreError(ctx, w, err)
		return
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, tenancy.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, tenancy.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, tenancy.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, tenancy.ErrConflict):
		status = http.StatusConflict
	}
	WriteError(w, status, te.Msg)
}

type itemsResponse[T any] struct {
	Items []T `json:"items"`
}

// ---- gateway keys ----

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.readContext(r)
	defer cancel()
	keys, err := a.d.Tenancy.ListKeys(ctx, a.d.Tenant(r))
	if err != nil {
		a.writeServiceError(ctx, w, err)
		return
	}
	WriteJSON(w, http.StatusOK, itemsResponse[tenancy.KeyInfo]{Items: keys})
}

func (a *API) getKey(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.readContext(r)
	defer cancel()
	k, err := a.d.Tenancy.GetKey(ctx, a.d.Tenant(r), chi.URLParam(r, "id"))
	if err != nil {
		a.writeServiceError(ctx, w, err)
		return
	}
	WriteJSON(w, http.StatusOK, k)
}

type createKeyRequest struct {
	Name        string   `json:"name"`
	Role        string   `json:"role"`
	WorkspaceID string   `json:"workspace_id"`
	ExpiresAt   string   `json:"expires_at"` // RFC3339
	Permissions []string `json:"permissions"`
}

func (a *API) createKey(w http.ResponseWriter, r *http.Request) {
	var req createKeyRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	in := tenancy.NewKey{Name: req.Name, Role: req.Role, WorkspaceID: req.WorkspaceID, Permissions: req.Permissions}
	if req.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339Nano, req.ExpiresAt)
		if err != nil {
			WriteError(w, http.StatusBadRequest, (&paramError{"expires_at", "must be an RFC3339 timestamp"}).Error())
			return
		}
		in.ExpiresAt = &t
	}
	k, err := a.d.Tenancy.CreateKey(r.Context(), a.d.Actor(r), in)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store") // the body holds a secret
	WriteJSON(w, http.StatusCreated, k)
}

type rotateKeyRequest struct {
	// GracePeriod is a Go duration ("1h", "90m"); GraceSeconds the same in
	// seconds. At most one may be given; neither means the default.
	GracePeriod  string `json:"grace_period"`
	GraceSeconds *int64 `json:"grace_seconds"`
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	var req rotateKeyRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	grace := tenancy.DefaultGrace
	switch {
	case req.GracePeriod != "" && req.GraceSeconds != nil:
		WriteError(w, http.StatusBadRequest, "give grace_period or grace_seconds, not both")
		return
	case req.GracePeriod != "":
		d, err := time.ParseDuration(req.GracePeriod)
		if err != nil {
			WriteError(w, http.StatusBadRequest, (&paramError{"grace_period", "must be a duration such as 1h, 90m or 0s"}).Error())
			return
		}
		grace = d
	case req.GraceSeconds != nil:
		if *req.GraceSeconds < 0 || *req.GraceSeconds > int64(tenancy.MaxGrace/time.Second) {
			WriteError(w, http.StatusBadRequest, "grace period must be between 0 and 720h (30 days)")
			return
		}
		grace = time.Duration(*req.GraceSeconds) * time.Second
	}
	k, err := a.d.Tenancy.RotateKey(r.Context(), a.d.Actor(r), chi.URLParam(r, "id"), grace)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, k)
}

func (a *API) revokeKey(w http.ResponseWriter, r *http.Request) {
	k, err := a.d.Tenancy.RevokeKey(r.Context(), a.d.Actor(r), chi.URLParam(r, "id"))
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	WriteJSON(w, http.StatusOK, k)
}

// ---- organizations ----

type orgRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (a *API) listOrgs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.readContext(r)
	defer cancel()
	orgs, err := a.d.Tenancy.ListOrgs(ctx, a.d.Actor(r))
	if err != nil {
		a.writeServiceError(ctx, w, err)
		return
	}
	WriteJSON(w, http.StatusOK, itemsResponse[tenancy.OrgInfo]{Items: orgs})
}

func (a *API) createOrg(w http.ResponseWriter, r *http.Request) {
	var req orgRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	o, err := a.d.Tenancy.CreateOrg(r.Context(), a.d.Actor(r), req.ID, req.Name)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, o)
}

type renameRequest struct {
	Name string `json:"name"`
}

func (a *API) renameOrg(w http.ResponseWriter, r *http.Request) {
	var req renameRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	o, err := a.d.Tenancy.RenameOrg(r.Context(), a.d.Actor(r), chi.URLParam(r, "id"), req.Name)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	WriteJSON(w, http.StatusOK, o)
}

func (a *API) deleteOrg(w http.ResponseWriter, r *http.Request) {
	if err := a.d.Tenancy.DeleteOrg(r.Context(), a.d.Actor(r), chi.URLParam(r, "id")); err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- workspaces ----

type workspaceRequest struct {
	ID    string `json:"id"`
	OrgID string `json:"org_id"`
	Name  string `json:"name"`
}

func (a *API) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.readContext(r)
	defer cancel()
	wss, err := a.d.Tenancy.ListWorkspaces(ctx, a.d.Actor(r), r.URL.Query().Get("org_id"))
	if err != nil {
		a.writeServiceError(ctx, w, err)
		return
	}
	WriteJSON(w, http.StatusOK, itemsResponse[tenancy.WorkspaceInfo]{Items: wss})
}

func (a *API) createWorkspace(w http.ResponseWriter, r *http.Request) {
	var req workspaceRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	ws, err := a.d.Tenancy.CreateWorkspace(r.Context(), a.d.Actor(r), req.OrgID, req.ID, req.Name)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	WriteJSON(w, http.StatusCreated, ws)
}

func (a *API) renameWorkspace(w http.ResponseWriter, r *http.Request) {
	var req renameRequest
	if !a.readJSON(w, r, &req) {
		return
	}
	// A key addresses its own organization's workspaces (ids are unique per
	// organization), so the org is the caller's: "" says so.
	ws, err := a.d.Tenancy.RenameWorkspace(r.Context(), a.d.Actor(r), "", chi.URLParam(r, "id"), req.Name)
	if err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	WriteJSON(w, http.StatusOK, ws)
}

func (a *API) deleteWorkspace(w http.ResponseWriter, r *http.Request) {
	if err := a.d.Tenancy.DeleteWorkspace(r.Context(), a.d.Actor(r), "", chi.URLParam(r, "id")); err != nil {
		a.writeServiceError(r.Context(), w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- audit ----

// auditEvent is the public shape of one audit event.
type auditEvent struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	OrgID       string    `json:"org_id"`
	WorkspaceID string    `json:"workspace_id"`
	ActorKeyID  string    `json:"actor_key_id"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason"`
	ClientIP    string    `json:"client_ip"`
	RequestID   string    `json:"request_id"`
	// Count is how many occurrences the event stands for: 1, or for an
	// aggregated authentication failure the denials it counts.
	Count int64 `json:"count"`
}

type auditList struct {
	Items      []auditEvent `json:"items"`
	NextCursor string       `json:"next_cursor"`
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	f, err := ParseAuditFilter(r.URL.Query())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Tenant = a.d.Tenant(r)
	ctx, cancel := a.readContext(r)
	defer cancel()
	evs, next, err := a.d.Tenancy.ListAudit(ctx, f)
	if err != nil {
		a.writeServiceError(ctx, w, err)
		return
	}
	out := auditList{Items: make([]auditEvent, 0, len(evs)), NextCursor: EncodeCursor(next)}
	for _, e := range evs {
		out.Items = append(out.Items, auditEvent{
			ID: e.ID, Time: e.Time.UTC(), OrgID: e.OrgID, WorkspaceID: e.WorkspaceID, ActorKeyID: e.ActorKeyID,
			Action: e.Action, Target: e.Target, Outcome: e.Outcome, Reason: e.Reason,
			ClientIP: e.ClientIP, RequestID: e.RequestID, Count: e.EventCount(),
		})
	}
	WriteJSON(w, http.StatusOK, out)
}

// ParseAuditFilter reads GET /api/audit's parameters (limit, cursor,
// action, from, to) from q; the tenant is the caller's to set. The console
// reads its Audit log filters with it, so both answer one query alike.
func ParseAuditFilter(q url.Values) (store.AuditFilter, error) {
	f := store.AuditFilter{Action: q.Get("action")}
	var err error
	if f.Limit, err = intParam(q, "limit", 50, 1, 200); err != nil {
		return f, err
	}
	if f.From, f.To, err = timeRange(q); err != nil {
		return f, err
	}
	if c := q.Get("cursor"); c != "" {
		cur, ok := DecodeCursor(c)
		if !ok {
			return f, &paramError{"cursor", "must be a next_cursor value returned by this endpoint"}
		}
		f.Cursor = cur
	}
	return f, nil
}
