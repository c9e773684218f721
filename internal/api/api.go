// Package api serves the gateway's REST API under /api: health, traces,
// gateway keys, organizations, workspaces, the audit log and, as it lands,
// analytics. Every route is declared once in
// the route table (routes.go), which the router, the access policy and the
// OpenAPI contract test all read. Errors are JSON {"error": "..."} with
// stable messages documented in openapi/openapi.yaml.
package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/health"
	"github.com/ongoingai/gateway/internal/limits"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/trace"
)

// Deps is what the API needs from the rest of the gateway.
type Deps struct {
	Store   store.Store
	Version string
	Started time.Time
	// QueueStats reports the trace writer's counters.
	QueueStats func() trace.Stats
	// Tenant returns the caller's read scope; nil means unscoped (auth off).
	Tenant func(*http.Request) store.Tenant
	// Tenancy performs the key, organization and workspace operations and
	// reads the audit log.
	Tenancy *tenancy.Service
	// Actor describes the caller to Tenancy; nil means anonymous, which
	// Tenancy lets read and never change.
	Actor func(*http.Request) tenancy.Actor
	// Health returns the background probe's last report (store reachable,
	// trace writer writing); nil means always healthy.
	Health func() health.Report
	// ReadTimeout bounds each read of the store by /api/traces and
	// /api/analytics (storage.read_timeout); zero means no bound.
	ReadTimeout time.Duration
	// ReadBodyTimeout bounds the time to receive a request body
	// (server.read_body_timeout); zero means no bound.
	ReadBodyTimeout time.Duration
	// Limits reads and sets the limits of keys and workspaces.
	Limits *limits.Manager
	// Features lists the enabled features /api/health reports
	// (config.Features.Enabled).
	Features []string
}

// API holds the handlers.
type API struct {
	d Deps
	// classify is the store's failure classifier (trace.ClassifierOf),
	// nil when it has none.
	classify func(error) string
}

// New returns the API.
func New(d Deps) *API {
	if d.Tenant == nil {
		d.Tenant = func(*http.Request) store.Tenant { return store.Tenant{} }
	}
	if d.Actor == nil {
		d.Actor = func(*http.Request) tenancy.Actor { return tenancy.Actor{} }
	}
	return &API{d: d, classify: trace.ClassifierOf(d.Store)}
}

// Stable error messages. They are part of the public contract
// (openapi/openapi.yaml); change them only with the spec.
const (
	MsgNotFound      = "not found"
	MsgTraceNotFound = "trace not found"
	MsgInternal      = "internal error"
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	// Encode first: once the status line is out, a value that cannot be
	// encoded would leave the client a 200 with an empty body.
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		_ = enc.Encode(map[string]string{"error": MsgInternal})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}

// WriteError writes {"error": msg}.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// NotFound answers any path the gateway does not serve.
func NotFound(w http.ResponseWriter, _ *http.Request) {
	WriteError(w, http.StatusNotFound, MsgNotFound)
}
