// Package keyauth is the request path of gateway keys: it decides from
// memory alone, with no database round trip, who is calling and whether
// they may. KeyCache holds every key that can authenticate, refreshed from
// the store when any process announces a change; Authenticator guards each
// route with it and the rbac Authorizer, auditing every refusal;
// UsageTracker remembers when keys were last used and writes that in the
// background. It also defines what a gateway token and an id look like.
// Managing keys, organizations and workspaces is package tenancy's job.
package keyauth

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/telemetry"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
)

// Messages of the refusals the Authenticator answers itself. They are part
// of the public contract: clients and tests match them exactly.
const (
	// MsgUnauthorized is the 401 with the default header; a gateway with
	// another auth.header names that one (UnauthorizedMessage).
	MsgUnauthorized = "missing or invalid gateway key: send it in " + config.DefaultAuthHeader
	MsgForbidden    = "gateway key does not have required permission"
	MsgAuthDisabled = "gateway auth is disabled: keys, organizations and workspaces cannot be changed anonymously; " +
		"enable auth (auth.enabled) and use a gateway key, or use the ongoingai keys command"
	MsgMissingProviderCredential = "missing provider credential: pass the provider API key in the Authorization header " +
		"(Bearer) or x-api-key; the gateway key goes only in the gateway key header"
	MsgGatewayKeyAsProviderCredential = "a gateway key was sent as the provider credential: put the gateway key only in " +
		"the gateway key header and pass the provider API key in Authorization or x-api-key"
)

// UnauthorizedMessage is the 401 answer naming the header the gateway reads
// the key from, as configured, so a client whose SDK sent the key
// elsewhere (or not at all) learns where it goes.
func UnauthorizedMessage(header string) string {
	return "missing or invalid gateway key: send it in " + header
}

// Policy is what a route demands of its caller: one (resource, action) pair
// from the route table.
type Policy struct {
	Resource, Action string
	// Proxy marks provider routes. Their scope is always the key's own
	// workspace (query parameters belong to the provider), and they need a
	// provider credential to forward.
	Proxy bool
	// Session, when set, finds the caller through a console sign-in session
	// instead of the gateway key header, and answers refusals the way a
	// browser reads them. The key behind the session is checked in the key
	// cache on every request, exactly as a presented token would be.
	Session SessionSource
}

// Options configures an Authenticator.
type Options struct {
	// Enabled turns gateway keys on. When off, proxy and read routes are
	// open and every other method is refused (see MsgAuthDisabled).
	Enabled bool
	// Header carries the gateway key; never Authorization, which carries
	// the provider's credential.
	Header     string
	Cache      *KeyCache
	Authorizer *rbac.Authorizer
	Usage      *UsageTracker    // nil: last use is not tracked
	Audit      auditlog.Auditor // nil: denials are not audited
	Now        func() time.Time
}

// Authenticator turns a request's gateway key into an Identity and decides,
// from memory alone, whether the route's policy allows it.
type Authenticator struct {
	o               Options
	msgUnauthorized string
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(o Options) *Authenticator {
	if o.Header == "" {
		o.Header = config.DefaultAuthHeader
	}
	msg := UnauthorizedMessage(o.Header) // as configured, not canonicalised
	o.Header = http.CanonicalHeaderKey(o.Header)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Authenticator{o: o, msgUnauthorized: msg}
}

// requestAuth is what the Authenticator learned about a request, for the
// handlers behind it.
type requestAuth struct {
	id    *Identity
	scope store.Tenant
}

type authKey struct{}

// IdentityFrom returns the authenticated caller of the request whose
// context is ctx; false when auth is disabled or the route is public.
func IdentityFrom(ctx context.Context) (*Identity, bool) {
	ra, _ := ctx.Value(authKey{}).(*requestAuth)
	if ra == nil {
		return nil, false
	}
	return ra.id, true
}

// Tenant is the read scope of r: the workspace named by the workspace_id
// query parameter (for a caller allowed there: an owner, within its
// organization), else for an organization-wide role (an owner) its whole
// organization, else the caller's own workspace. With auth disabled the
// scope is everything, narrowed by workspace_id when given.
func (a *Authenticator) Tenant(r *http.Request) store.Tenant {
	if ra, _ := r.Context().Value(authKey{}).(*requestAuth); ra != nil {
		return ra.scope
	}
	if a.o.Enabled {
		// Unreachable behind Guard; an empty scope would mean "everything",
		// so refuse to match anything instead.
		return store.Tenant{OrgID: noTenant, WorkspaceID: noTenant}
	}
	return store.Tenant{WorkspaceID: r.URL.Query().Get("workspace_id")}
}

// noTenant matches no row: ValidID refuses it, so no org or workspace has it.
const noTenant = "!none"

// Guard wraps next with p: it answers 401 for a missing, unknown, revoked
// or expired key, 403 for a key without the permission in the requested
// scope, and with auth disabled 403 for anything but a read or a proxied
// call. Every refusal is audited. An allowed request reaches next with its
// identity and scope in the context.
func (a *Authenticator) Guard(p Policy, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.o.Enabled {
			if !p.Proxy && !isRead(r.Method) {
				a.refuse(w, r, p, nil, http.StatusForbidden, MsgAuthDisabled, "gateway auth disabled: mutation refused")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		now := a.o.Now()
		var id *Identity
		var reason string
		if p.Session != nil {
			id, reason = a.sessionIdentity(r, p.Session, now)
		} else {
			id, reason = a.o.Cache.Authenticate(r.Header.Get(a.o.Header), now)
		}
		if reason != "" {
			a.refuse(w, r, p, id, http.StatusUnauthorized, a.msgUnauthorized, reason)
			return
		}
		scope, allowed := a.scope(r, p, id)
		if !allowed {
			a.refuse(w, r, p, id, http.StatusForbidden, MsgForbidden, "missing permission "+p.Resource+":"+p.Action+" in workspace "+scope.WorkspaceID)
			return
		}
		if p.Proxy {
			cred := providerCredential(r.Header)
			if cred == "" {
				a.deny(w, r, id, http.StatusUnauthorized, MsgMissingProviderCredential, "missing provider credential")
				return
			}
			if LooksLikeToken(cred) {
				// Forwarding it would hand a gateway secret to the provider.
				a.deny(w, r, id, http.StatusUnauthorized, MsgGatewayKeyAsProviderCredential, "gateway key sent as provider credential")
				return
			}
		}
		if a.o.Usage != nil {
			a.o.Usage.Touch(id.KeyID, now)
		}
		ctx := context.WithValue(r.Context(), authKey{}, &requestAuth{id: id, scope: scope})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// scope settles the read scope of an authenticated request and whether id
// may use the route there. Provider routes act in the key's own workspace
// (their query belongs to the provider). Elsewhere workspace_id names the
// workspace, which the key needs the permission in; without it, a key that
// holds the permission across its organization (an owner) reads the whole
// organization, and any other key its own workspace. The organization is
// always the key's own, so a workspace id of another organization matches
// nothing of it.
func (a *Authenticator) scope(r *http.Request, p Policy, id *Identity) (store.Tenant, bool) {
	scope := store.Tenant{OrgID: id.OrgID, WorkspaceID: id.WorkspaceID}
	if !p.Proxy {
		if ws := r.URL.Query().Get("workspace_id"); ws != "" {
			scope.WorkspaceID = ws
		} else if a.o.Authorizer.AllowOrgWide(id.KeyID, id.OrgID, p.Resource, p.Action) {
			scope.WorkspaceID = ""
			return scope, true
		}
	}
	return scope, a.o.Authorizer.Allow(id.KeyID, scope.OrgID, scope.WorkspaceID, p.Resource, p.Action)
}

// DenyUnmapped answers every request with 403: the handler for a route that
// names no permission. Deny by default means a route someone forgot to map
// is closed, not open, whatever the auth setting.
func (a *Authenticator) DenyUnmapped() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id *Identity
		if a.o.Enabled {
			id, _ = a.o.Cache.Authenticate(r.Header.Get(a.o.Header), a.o.Now())
		}
		a.deny(w, r, id, http.StatusForbidden, MsgForbidden, "route has no access policy")
	})
}

// refuse is deny, answered through p's session source when it has one.
func (a *Authenticator) refuse(w http.ResponseWriter, r *http.Request, p Policy, id *Identity, status int, msg, reason string) {
	if p.Session == nil {
		a.deny(w, r, id, status, msg, reason)
		return
	}
	a.audit(r, id, reason)
	p.Session.Refuse(w, r, status, msg)
}

// deny audits a refusal and answers it. id, when known, attributes the
// event to the key's tenant so that its admins see it.
func (a *Authenticator) deny(w http.ResponseWriter, r *http.Request, id *Identity, status int, msg, reason string) {
	a.audit(r, id, reason)
	writeError(w, status, msg)
}

// audit records a refusal.
func (a *Authenticator) audit(r *http.Request, id *Identity, reason string) {
	if a.o.Audit != nil {
		ev := store.AuditEvent{
			Action:    auditlog.ActionAuthDeny,
			Target:    "route:" + r.Method + " " + r.URL.Path,
			Outcome:   auditlog.OutcomeDenied,
			Reason:    reason,
			ClientIP:  ClientIP(r),
			RequestID: RequestID(r),
		}
		if id != nil {
			ev.ActorKeyID, ev.OrgID, ev.WorkspaceID = id.KeyID, id.OrgID, id.WorkspaceID
		}
		a.o.Audit.Record(ev)
	}
}

// isRead reports whether method only reads.
func isRead(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// providerCredential returns the provider credential the client sent, in
// the headers the proxy forwards as credentials.
func providerCredential(h http.Header) string {
	for _, name := range []string{"Authorization", "X-Api-Key", "Api-Key"} {
		if v := strings.TrimSpace(h.Get(name)); v != "" {
			return v
		}
	}
	return ""
}

// ClientIP is the connection's peer address, as audit events record it.
// Forwarding headers are not trusted: any client can write them.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// RequestID is the request id the telemetry middleware put on the request
// (it replaces whatever the client sent); the audit log bounds it anyway.
func RequestID(r *http.Request) string {
	return r.Header.Get(telemetry.RequestIDHeader)
}

// writeError answers {"error": msg}, the API's error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
