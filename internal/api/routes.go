package api

import "net/http"

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
	Handler          http.HandlerFunc
}

// Permission is "resource:action", the form the policy uses.
func (r Route) Permission() string {
	if r.Public {
		return ""
	}
	return r.Resource + ":" + r.Action
}

// Routes returns the API's route table.
//
// Organizations: a gateway key acts only inside its own organization, so
// POST /api/orgs always refuses (the CLI creates organizations), and an
// owner may rename or delete only its own. Workspaces need
// workspaces:manage in the workspace concerned, which an owner holds in
// every workspace of its organization.
func (a *API) Routes() []Route {
	const (
		analytics, keys, workspaces, audit = "analytics", "keys", "workspaces", "audit"
		read, manage                       = "read", "manage"
	)
	return []Route{
		{Method: http.MethodGet, Pattern: "/", Public: true, Handler: a.root},
		{Method: http.MethodGet, Pattern: "/api/health", Public: true, Handler: a.health},
		{Method: http.MethodGet, Pattern: "/api/openapi.yaml", Public: true, Handler: a.openAPI},
		{Method: http.MethodGet, Pattern: "/api/traces", Resource: analytics, Action: read, Handler: a.listTraces},
		{Method: http.MethodGet, Pattern: "/api/traces/{id}", Resource: analytics, Action: read, Handler: a.getTrace},
		{Method: http.MethodGet, Pattern: "/api/diagnostics/trace-pipeline", Resource: analytics, Action: read, Handler: a.TracePipeline},
		{Method: http.MethodGet, Pattern: "/api/analytics/summary", Resource: analytics, Action: read, Handler: a.analyticsSummary},
		{Method: http.MethodGet, Pattern: "/api/analytics/usage", Resource: analytics, Action: read, Handler: a.analyticsUsage},
		{Method: http.MethodGet, Pattern: "/api/analytics/cost", Resource: analytics, Action: read, Handler: a.analyticsCost},
		{Method: http.MethodGet, Pattern: "/api/analytics/models", Resource: analytics, Action: read, Handler: a.analyticsModels},
		{Method: http.MethodGet, Pattern: "/api/analytics/keys", Resource: analytics, Action: read, Handler: a.analyticsKeys},
		{Method: http.MethodGet, Pattern: "/api/analytics/latency", Resource: analytics, Action: read, Handler: a.analyticsLatency},
		{Method: http.MethodGet, Pattern: "/api/analytics/errors", Resource: analytics, Action: read, Handler: a.analyticsErrors},

		{Method: http.MethodGet, Pattern: "/api/gateway-keys", Resource: keys, Action: manage, Handler: a.listKeys},
		{Method: http.MethodPost, Pattern: "/api/gateway-keys", Resource: keys, Action: manage, Handler: a.createKey},
		{Method: http.MethodGet, Pattern: "/api/gateway-keys/{id}", Resource: keys, Action: manage, Handler: a.getKey},
		{Method: http.MethodPost, Pattern: "/api/gateway-keys/{id}/rotate", Resource: keys, Action: manage, Handler: a.rotateKey},
		{Method: http.MethodDelete, Pattern: "/api/gateway-keys/{id}", Resource: keys, Action: manage, Handler: a.revokeKey},

		{Method: http.MethodGet, Pattern: "/api/orgs", Resource: workspaces, Action: manage, Handler: a.listOrgs},
		{Method: http.MethodPost, Pattern: "/api/orgs", Resource: workspaces, Action: manage, Handler: a.createOrg},
		{Method: http.MethodPatch, Pattern: "/api/orgs/{id}", Resource: workspaces, Action: manage, Handler: a.renameOrg},
		{Method: http.MethodDelete, Pattern: "/api/orgs/{id}", Resource: workspaces, Action: manage, Handler: a.deleteOrg},

		{Method: http.MethodGet, Pattern: "/api/workspaces", Resource: workspaces, Action: manage, Handler: a.listWorkspaces},
		{Method: http.MethodPost, Pattern: "/api/workspaces", Resource: workspaces, Action: manage, Handler: a.createWorkspace},
		{Method: http.MethodPatch, Pattern: "/api/workspaces/{id}", Resource: workspaces, Action: manage, Handler: a.renameWorkspace},
		{Method: http.MethodDelete, Pattern: "/api/workspaces/{id}", Resource: workspaces, Action: manage, Handler: a.deleteWorkspace},

		{Method: http.MethodGet, Pattern: "/api/audit", Resource: audit, Action: read, Handler: a.listAudit},
	}
}
