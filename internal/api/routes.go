package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// Route is one entry of the route table: the single place that says which
// handler serves a method and path, and which (resource, action) a caller
// needs for it. The router wraps every non-public route in the auth guard
// with exactly this pair; a route that is neither public nor mapped to a
// known permission is denied to everyone.
type Route struct {
	// Method is an HTTP method, or empty for every method (the provider
	// routes, whose methods are the provider's business).
	Method  string
	Pattern string // chi pattern, e.g. /api/traces/{id}
	// Resource and Action name the permission required, e.g. analytics/read.
	// Public routes need none.
	Resource, Action string
	Public           bool
	// Query lists the query parameters the route takes; Routes answers any
	// other with 400 (see UnknownQueryParameter) before the handler runs,
	// so a misspelt filter (?workspace=staging) is refused instead of
	// silently answering for another scope. The OpenAPI test holds the
	// spec's query parameters of every route to this list.
	Query []string
	// Session, when set, authenticates the route's callers by their
	// console sign-in session rather than the gateway key header (the
	// operator console's pages); the permission check is the same.
	Session keyauth.SessionSource
	// Feature names the optional capability (config.Features) the route
	// belongs to, empty for the core; the app replaces the routes of a
	// disabled feature with FeatureDisabled.
	Feature string
	Handler http.HandlerFunc
}

// FeatureDisabled answers every request 404 {"error":"feature disabled:
// NAME"}: the route of a feature switched off in the features block.
func FeatureDisabled(name string) http.HandlerFunc {
	msg := MsgFeatureDisabledPrefix + name
	return func(w http.ResponseWriter, _ *http.Request) { WriteError(w, http.StatusNotFound, msg) }
}

// MsgFeatureDisabledPrefix starts the 404 answer of a disabled feature's
// routes.
const MsgFeatureDisabledPrefix = "feature disabled: "

// Permission is "resource:action", the form the policy uses.
func (r Route) Permission() string {
	if r.Public {
		return ""
	}
	return r.Resource + ":" + r.Action
}

// Routes returns the API's route table, every handler wrapped so that a
// query parameter outside its route's Query is refused.
//
// Organizations: a gateway key acts only inside its own organization, so
// POST /api/orgs always refuses (the CLI creates organizations), and an
// owner may rename or delete only its own. Workspaces need
// workspaces:manage in the workspace concerned, which an owner holds in
// every workspace of its organization.
//
// The diagnostics are installation-wide (installation:read): they describe
// the gateway process that every tenant shares, so no tenant role reads
// them.
func (a *API) Routes() []Route {
	const (
		analytics, keys, workspaces, audit, installation = "analytics", "keys", "workspaces", "audit", "installation"
		read, manage                                     = "read", "manage"
	)
	// The query parameters, by family. workspace_id is the read scope the
	// auth guard settles (see keyauth.Authenticator.Tenant).
	var (
		scope            = []string{"workspace_id"}
		traceQuery       = []string{"workspace_id", "limit", "cursor", "provider", "model", "status", "api_key_hash", "from", "to"}
		auditQuery       = []string{"workspace_id", "limit", "cursor", "action", "from", "to"}
		analyticsQuery   = []string{"workspace_id", "from", "to", "provider", "model"}
		analyticsGrouped = append(slices.Clip(analyticsQuery), "group_by")
		analyticsBuckets = append(slices.Clip(analyticsGrouped), "bucket")
	)
	routes := []Route{
		{Method: http.MethodGet, Pattern: "/", Public: true, Handler: a.root},
		{Method: http.MethodGet, Pattern: "/api/health", Public: true, Query: []string{"ready"}, Handler: a.health},
		{Method: http.MethodGet, Pattern: "/api/openapi.yaml", Public: true, Handler: a.openAPI},
		{Method: http.MethodGet, Pattern: "/api/traces", Resource: analytics, Action: read, Query: traceQuery, Handler: a.listTraces},
		{Method: http.MethodGet, Pattern: "/api/traces/{id}", Resource: analytics, Action: read, Query: scope, Handler: a.getTrace},
		{Method: http.MethodGet, Pattern: "/api/diagnostics/trace-pipeline", Resource: installation, Action: read, Handler: a.TracePipeline},
		{Method: http.MethodGet, Pattern: "/api/analytics/summary", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsQuery, Handler: a.analyticsSummary},
		{Method: http.MethodGet, Pattern: "/api/analytics/usage", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsBuckets, Handler: a.analyticsUsage},
		{Method: http.MethodGet, Pattern: "/api/analytics/cost", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsBuckets, Handler: a.analyticsCost},
		{Method: http.MethodGet, Pattern: "/api/analytics/models", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsQuery, Handler: a.analyticsModels},
		{Method: http.MethodGet, Pattern: "/api/analytics/keys", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsQuery, Handler: a.analyticsKeys},
		{Method: http.MethodGet, Pattern: "/api/analytics/latency", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsGrouped, Handler: a.analyticsLatency},
		{Method: http.MethodGet, Pattern: "/api/analytics/errors", Resource: analytics, Feature: "analytics", Action: read, Query: analyticsGrouped, Handler: a.analyticsErrors},

		{Method: http.MethodGet, Pattern: "/api/gateway-keys", Resource: keys, Action: manage, Query: scope, Handler: a.listKeys},
		{Method: http.MethodPost, Pattern: "/api/gateway-keys", Resource: keys, Action: manage, Handler: a.createKey},
		{Method: http.MethodGet, Pattern: "/api/gateway-keys/{id}", Resource: keys, Action: manage, Query: scope, Handler: a.getKey},
		{Method: http.MethodPost, Pattern: "/api/gateway-keys/{id}/rotate", Resource: keys, Action: manage, Handler: a.rotateKey},
		{Method: http.MethodDelete, Pattern: "/api/gateway-keys/{id}", Resource: keys, Action: manage, Handler: a.revokeKey},
		{Method: http.MethodGet, Pattern: "/api/gateway-keys/{id}/limits", Resource: keys, Feature: "limits", Action: manage, Handler: a.getKeyLimits},
		{Method: http.MethodPut, Pattern: "/api/gateway-keys/{id}/limits", Resource: keys, Feature: "limits", Action: manage, Handler: a.putKeyLimits},

		{Method: http.MethodGet, Pattern: "/api/orgs", Resource: workspaces, Action: manage, Handler: a.listOrgs},
		{Method: http.MethodPost, Pattern: "/api/orgs", Resource: workspaces, Action: manage, Handler: a.createOrg},
		{Method: http.MethodPatch, Pattern: "/api/orgs/{id}", Resource: workspaces, Action: manage, Handler: a.renameOrg},
		{Method: http.MethodDelete, Pattern: "/api/orgs/{id}", Resource: workspaces, Action: manage, Handler: a.deleteOrg},

		{Method: http.MethodGet, Pattern: "/api/workspaces", Resource: workspaces, Action: manage, Query: []string{"org_id"}, Handler: a.listWorkspaces},
		{Method: http.MethodPost, Pattern: "/api/workspaces", Resource: workspaces, Action: manage, Handler: a.createWorkspace},
		{Method: http.MethodPatch, Pattern: "/api/workspaces/{id}", Resource: workspaces, Action: manage, Handler: a.renameWorkspace},
		{Method: http.MethodDelete, Pattern: "/api/workspaces/{id}", Resource: workspaces, Action: manage, Handler: a.deleteWorkspace},
		{Method: http.MethodGet, Pattern: "/api/workspaces/{id}/limits", Resource: keys, Feature: "limits", Action: manage, Query: []string{"org_id"}, Handler: a.getWorkspaceLimits},
		{Method: http.MethodPut, Pattern: "/api/workspaces/{id}/limits", Resource: keys, Feature: "limits", Action: manage, Query: []string{"org_id"}, Handler: a.putWorkspaceLimits},

		{Method: http.MethodGet, Pattern: "/api/audit", Resource: audit, Action: read, Query: auditQuery, Handler: a.listAudit},
	}
	for i := range routes {
		routes[i].Handler = onlyQuery(routes[i].Query, routes[i].Handler)
	}
	return routes
}

// UnknownQueryParameter is the 400 message for a query parameter the route
// does not take: "unknown query parameter: NAME", the name as sent (cut to
// maxParamNameLen bytes). Clients may match on the prefix.
func UnknownQueryParameter(name string) string {
	return MsgUnknownQueryParameterPrefix + truncateUTF8(name, maxParamNameLen)
}

// MsgUnknownQueryParameterPrefix starts every UnknownQueryParameter message.
const MsgUnknownQueryParameterPrefix = "unknown query parameter: "

// maxParamNameLen bounds the name echoed back in UnknownQueryParameter.
const maxParamNameLen = 64

// onlyQuery answers 400 naming the first query parameter, in the order
// sent, that is not in allowed, and otherwise runs next.
func onlyQuery(allowed []string, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name, ok := unknownParam(r.URL.RawQuery, allowed); ok {
			WriteError(w, http.StatusBadRequest, UnknownQueryParameter(name))
			return
		}
		next(w, r)
	}
}

// unknownParam returns the first parameter name in rawQuery that is not in
// allowed. It walks the raw query rather than url.Values so that the
// answer names the first offender deterministically, and it reads names
// the way url.ParseQuery does (empty pairs skipped, "+" and %XX decoded).
func unknownParam(rawQuery string, allowed []string) (string, bool) {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		name, _, _ := strings.Cut(pair, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if !slices.Contains(allowed, name) {
			return name, true
		}
	}
	return "", false
}
