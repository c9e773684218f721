package app

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/pathguard"
	"github.com/ongoingai/gateway/internal/proxy"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// newRouter registers every route of the table, each behind the guard its
// own (resource, action) calls for (see guarded), and answers JSON 404 and
// 405 for the rest. Middleware that must see every request (telemetry)
// goes in front with r.Use.
//
// Paths with dot segments or encoded slashes are refused before routing
// (pathguard), on every route: a provider route would otherwise carry
// them to the upstream, outside its base path.
func newRouter(routes []api.Route, auth *keyauth.Authenticator) http.Handler {
	r := chi.NewRouter()
	r.Use(pathguard.Middleware)
	r.NotFound(api.NotFound)
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		api.WriteError(w, http.StatusMethodNotAllowed, "method not allowed")
	})
	for _, rt := range routes {
		h := guarded(rt, auth)
		if rt.Method == "" {
			r.Handle(rt.Pattern, h)
		} else {
			r.Method(rt.Method, rt.Pattern, h)
		}
	}
	return r
}

// guarded is the one place where the route table becomes access control: a
// public route is served as is, a route mapped to a known permission goes
// through the auth guard with exactly that permission, and anything else,
// a route someone added without a policy included, is denied to everyone.
func guarded(rt api.Route, auth *keyauth.Authenticator) http.Handler {
	switch {
	case rt.Public:
		return rt.Handler
	case !rbac.ValidPermission(rt.Permission()):
		return auth.DenyUnmapped()
	default:
		return auth.Guard(keyauth.Policy{
			Resource: rt.Resource,
			Action:   rt.Action,
			Proxy:    rt.Permission() == rbac.PermProxyWrite,
			Session:  rt.Session,
		}, rt.Handler)
	}
}

// proxyRoutes are the provider routes: one per upstream prefix and one for
// everything below it (so /openai never matches /openaiX), for every
// method, each needing proxy:write.
func proxyRoutes(px *proxy.Proxy, upstreams []*proxy.Upstream) []api.Route {
	var routes []api.Route
	for _, u := range upstreams {
		h := px.Handler(u).ServeHTTP
		for _, pattern := range []string{u.Prefix, u.Prefix + "/*"} {
			routes = append(routes, api.Route{Pattern: pattern, Resource: "proxy", Action: "write", Handler: h})
		}
	}
	return routes
}

// bodyDeadline bounds the time to receive the body of every request that
// has one by server.read_body_timeout, from the end of its headers. The
// handlers that read a body lift the bound once it is in (the proxy, so a
// long stream is not cut; /api's readJSON); a request refused before its
// body is read (401, 403, 404) is bounded too: net/http reads what is left
// of a small body before answering, and a client trickling it would
// otherwise hold the connection for as long as it likes.
func bodyDeadline(timeout time.Duration, next http.Handler) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}
