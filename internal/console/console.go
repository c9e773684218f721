// Package console serves the operator console under /console: server-
// rendered pages (templ components from web/) that sign in with a gateway
// key and then show and change exactly what that key may, through the same
// services as /api (tenancy, analytics, the trace store) and behind the
// same route table and auth guard. Pages render in full without
// JavaScript; htmx only swaps them in place.
package console

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/trace"
	"github.com/ongoingai/gateway/web"
)

// Deps is what the console needs from the rest of the gateway.
type Deps struct {
	Auth     *keyauth.Authenticator
	Tenancy  *tenancy.Service
	Sessions store.Sessions
	// Store reads traces and rollups.
	Store store.Store
	// QueueStats reports the trace writer's counters for the Overview's
	// pipeline health; nil: not shown.
	QueueStats func() trace.Stats
	// Audit records sign-ins and sign-outs; nil: not recorded.
	Audit auditlog.Auditor
	// SecureCookies marks the cookie Secure on plain HTTP too
	// (console.secure_cookies); over TLS it always is.
	SecureCookies bool
	// IdleTimeout and Lifetime end sessions (console.idle_timeout,
	// console.session_lifetime).
	IdleTimeout, Lifetime time.Duration
	// ReadTimeout bounds each read of the store (storage.read_timeout);
	// zero means no bound.
	ReadTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Console holds the handlers.
type Console struct {
	d       Deps
	log     *slog.Logger
	limiter *loginLimiter
	origins *http.CrossOriginProtection
}

// New returns the console.
func New(d Deps) *Console {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.IdleTimeout <= 0 {
		d.IdleTimeout = 30 * time.Minute
	}
	if d.Lifetime <= 0 {
		d.Lifetime = 12 * time.Hour
	}
	return &Console{
		d: d, log: d.Logger,
		limiter: newLoginLimiter(loginAttempts, loginWindow),
		origins: http.NewCrossOriginProtection(),
	}
}

// Routes returns the console's entries for the gateway's route table. Each
// page names the same permission as the API route it shows, so a key sees
// and does in the console exactly what it may through /api.
func (c *Console) Routes() []api.Route {
	const (
		analytics, keys, workspaces, audit = "analytics", "keys", "workspaces", "audit"
		read, manage                       = "read", "manage"
	)
	page := func(method, pattern, resource, action string, h http.HandlerFunc) api.Route {
		if method == http.MethodPost {
			h = c.checkCSRF(h)
		}
		return api.Route{Method: method, Pattern: pattern, Resource: resource, Action: action, Session: c, Handler: h}
	}
	return []api.Route{
		{Method: http.MethodGet, Pattern: "/console/static/*", Public: true, Handler: staticFiles()},
		{Method: http.MethodGet, Pattern: "/console/login", Public: true, Handler: c.loginPage},
		{Method: http.MethodPost, Pattern: "/console/login", Public: true, Handler: c.signIn},
		{Method: http.MethodPost, Pattern: "/console/logout", Public: true, Handler: c.signOut},

		page(http.MethodGet, "/console", analytics, read, c.overview),
		page(http.MethodGet, "/console/traces", analytics, read, c.traces),
		page(http.MethodGet, "/console/traces/{id}", analytics, read, c.traceDetail),
		page(http.MethodGet, "/console/analytics", analytics, read, c.analyticsPage),
		page(http.MethodGet, "/console/keys", keys, manage, c.keysPage),
		page(http.MethodPost, "/console/keys", keys, manage, c.createKey),
		page(http.MethodPost, "/console/keys/{id}/rotate", keys, manage, c.rotateKey),
		page(http.MethodPost, "/console/keys/{id}/revoke", keys, manage, c.revokeKey),
		page(http.MethodGet, "/console/workspaces", workspaces, manage, c.workspacesPage),
		page(http.MethodPost, "/console/workspaces", workspaces, manage, c.createWorkspace),
		page(http.MethodPost, "/console/workspaces/{id}/rename", workspaces, manage, c.renameWorkspace),
		page(http.MethodPost, "/console/workspaces/{id}/delete", workspaces, manage, c.deleteWorkspace),
		page(http.MethodGet, "/console/audit", audit, read, c.audit),
	}
}

// staticFiles serves web.Static under /console/static/, cached for a day:
// the files change only with the binary.
func staticFiles() http.HandlerFunc {
	fs := http.StripPrefix("/console/static/", http.FileServerFS(web.Static))
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fs.ServeHTTP(w, r)
	}
}

// Navigation entries, each shown only to callers who may open the page.
var navigation = []struct {
	web.NavLink
	resource, action string
}{
	{web.NavLink{Name: "Overview", Href: "/console"}, "analytics", "read"},
	{web.NavLink{Name: "Traces", Href: "/console/traces"}, "analytics", "read"},
	{web.NavLink{Name: "Analytics", Href: "/console/analytics"}, "analytics", "read"},
	{web.NavLink{Name: "Keys", Href: "/console/keys"}, "keys", "manage"},
	{web.NavLink{Name: "Workspaces", Href: "/console/workspaces"}, "workspaces", "manage"},
	{web.NavLink{Name: "Audit log", Href: "/console/audit"}, "audit", "read"},
}

// shell is the frame of a page for r's caller.
func (c *Console) shell(r *http.Request, title string) web.Shell {
	s := web.Shell{Title: title, Active: title, ReadOnly: !c.d.Auth.Enabled()}
	for _, n := range navigation {
		if s.ReadOnly || c.d.Auth.Allows(r, n.resource, n.action) {
			s.Nav = append(s.Nav, n.NavLink)
		}
	}
	if id, ok := keyauth.IdentityFrom(r.Context()); ok && id != nil {
		s.Who = id.KeyID + " (" + id.Role + ")"
	}
	if c.d.Auth.Enabled() {
		// Also on a refusal page, where the guard stopped before naming the
		// caller: a key that may open no page can still sign out.
		s.CSRF = csrfTokenOf(r)
	}
	return s
}

// can reports whether r's caller may change what resource:action guards:
// never with auth disabled.
func (c *Console) can(r *http.Request, resource, action string) bool {
	return c.d.Auth.Enabled() && c.d.Auth.Allows(r, resource, action)
}

// render writes a component with status. Pages are never cached: they
// show per-session data and, after a create or rotation, a token.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, comp templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", contentSecurityPolicy)
	w.Header().Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if err := comp.Render(r.Context(), w); err != nil {
		c.log.Warn("console: rendering a page failed", "path", r.URL.Path, "err", err)
	}
}

// contentSecurityPolicy allows the console's own scripts and styles only.
// 'unsafe-eval' is for htmx's hx-on attributes (the Copy button).
const contentSecurityPolicy = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// errorPage answers a refusal or failure as a page.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, web.ErrorPage(web.ErrorView{Shell: c.shell(r, http.StatusText(status)), Status: status, Message: msg}))
}

// serviceError answers an error from the tenancy service or the store the
// way the API does: the service's own message for a refusal, a generic one
// for a store failure (details go to the log).
func (c *Console) serviceError(w http.ResponseWriter, r *http.Request, err error) {
	var te *tenancy.Error
	if errors.As(err, &te) {
		c.errorPage(w, r, serviceStatus(err), te.Msg)
		return
	}
	c.storeError(w, r, err)
}

func serviceStatus(err error) int {
	switch {
	case errors.Is(err, tenancy.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, tenancy.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, tenancy.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, tenancy.ErrConflict):
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// storeError answers a store failure: 503 when it timed out or was
// cancelled (the client may retry), 500 otherwise.
func (c *Console) storeError(w http.ResponseWriter, r *http.Request, err error) {
	c.log.Error("console: store failure", "path", r.URL.Path, "err", err)
	if errors.Is(err, context.DeadlineExceeded) || trace.Unavailable(trace.Classify(trace.ClassifierOf(c.d.Store), err)) {
		c.errorPage(w, r, http.StatusServiceUnavailable, api.MsgStoreUnavailable)
		return
	}
	c.errorPage(w, r, http.StatusInternalServerError, api.MsgInternal)
}

// readContext bounds a read by storage.read_timeout.
func (c *Console) readContext(r *http.Request) (context.Context, context.CancelFunc) {
	if c.d.ReadTimeout <= 0 {
		return context.WithCancel(r.Context())
	}
	return context.WithTimeout(r.Context(), c.d.ReadTimeout)
}
