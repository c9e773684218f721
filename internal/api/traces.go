package api

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/trace"
)

type traceList struct {
	Items      []trace.Record `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func (a *API) listTraces(w http.ResponseWriter, r *http.Request) {
	f, err := ParseTraceFilter(r.URL.Query())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Tenant = a.d.Tenant(r)
	ctx, cancel := a.readContext(r)
	defer cancel()
	items, next, err := a.d.Store.ListTraces(ctx, f)
	if err != nil {
		a.writeStoreError(ctx, w, err)
		return
	}
	if items == nil {
		items = []trace.Record{}
	}
	WriteJSON(w, http.StatusOK, traceList{Items: items, NextCursor: EncodeCursor(next)})
}

// ParseTraceFilter reads GET /api/traces's filter parameters from q; the
// tenant is the caller's to set. The console's Traces page reads its
// filters with it too.
func ParseTraceFilter(q url.Values) (store.TraceFilter, error) {
	var f store.TraceFilter
	var err error
	if f.Limit, err = intParam(q, "limit", 50, 1, 200); err != nil {
		return f, err
	}
	if f.Status, err = intParam(q, "status", 0, 100, 599); err != nil {
		return f, err
	}
	if f.From, f.To, err = timeRange(q); err != nil {
		return f, err
	}
	f.Provider = q.Get("provider")
	f.Model = q.Get("model")
	if h := q.Get("api_key_hash"); h != "" {
		if !hexSHA256.MatchString(h) {
			return f, &paramError{"api_key_hash", "must be 64 lowercase hex characters (a SHA-256)"}
		}
		f.APIKeyHash = h
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

// The cursor is opaque to clients: base64url of "<unix micros>:<id>".
// EncodeCursor writes a keyset position as an opaque next_cursor; "" for
// none.
func EncodeCursor(c *store.TraceCursor) string {
	if c == nil {
		return ""
	}
	raw := strconv.FormatInt(c.Timestamp.UnixMicro(), 10) + ":" + c.ID
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor reads a next_cursor EncodeCursor wrote.
func DecodeCursor(s string) (*store.TraceCursor, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, false
	}
	ts, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" {
		return nil, false
	}
	us, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return nil, false
	}
	return &store.TraceCursor{Timestamp: time.UnixMicro(us).UTC(), ID: id}, true
}

func (a *API) getTrace(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := a.readContext(r)
	defer cancel()
	rec, err := a.d.Store.GetTrace(ctx, a.d.Tenant(r), chi.URLParam(r, "id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		WriteError(w, http.StatusNotFound, MsgTraceNotFound)
	case err != nil:
		a.writeStoreError(ctx, w, err)
	default:
		WriteJSON(w, http.StatusOK, rec)
	}
}
