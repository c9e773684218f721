package keyauth

import (
	"net/http"
	"time"
)

// SessionSource finds the gateway key behind a request that carries no
// gateway key header: the operator console's sign-in session. Its lookup
// reads the session store: only console routes have one (Policy.Session),
// never the proxy's or the API's, whose guard stays in memory.
type SessionSource interface {
	// SessionKey returns the id of the key r's session belongs to, or ""
	// and why not (no cookie, unknown, idle or past its absolute end).
	SessionKey(r *http.Request) (keyID, reason string)
	// Refuse answers a refusal as the route's clients read it (a sign-in
	// redirect, an HTML page) with msg, the Authenticator's own message.
	Refuse(w http.ResponseWriter, r *http.Request, status int, msg string)
}

// ReasonNoSession is the audited reason for a console request without a
// live session.
const ReasonNoSession = "no console session"

// sessionIdentity authenticates r through its session: the session names a
// key, and the key must still authenticate now (not revoked, not expired),
// checked in the cache as a token would be. So revoking or expiring a key
// ends its sessions at once, on every replica as soon as its cache hears.
func (a *Authenticator) sessionIdentity(r *http.Request, s SessionSource, now time.Time) (*Identity, string) {
	keyID, reason := s.SessionKey(r)
	if keyID == "" {
		if reason == "" {
			reason = ReasonNoSession
		}
		return nil, reason
	}
	return a.o.Cache.AuthenticateID(keyID, now)
}

// AuthenticateID returns the identity of key id at now, or nil and the
// reason it is refused: Authenticate for a caller already proven to hold
// the key (a console session signed in with its token).
func (c *KeyCache) AuthenticateID(id string, now time.Time) (*Identity, string) {
	k, ok := c.snap.Load().byID[id]
	if !ok {
		return nil, ReasonUnknownKey
	}
	if !k.expiresAt.IsZero() && !now.Before(k.expiresAt) {
		return k.id, ReasonExpiredKey
	}
	return k.id, ""
}

// Enabled reports whether gateway keys are on (auth.enabled). When off,
// everything may be read and nothing changed.
func (a *Authenticator) Enabled() bool { return a.o.Enabled }

// Authenticate returns the key holding token now, as the guard would, for
// a sign-in form: nil and the reason when it would be refused.
func (a *Authenticator) Authenticate(token string) (*Identity, string) {
	return a.o.Cache.Authenticate(token, a.o.Now())
}

// Identity returns key id's identity now, or nil and why it cannot
// authenticate.
func (a *Authenticator) Identity(keyID string) (*Identity, string) {
	return a.o.Cache.AuthenticateID(keyID, a.o.Now())
}

// Allows reports whether the authenticated caller of r holds
// resource:action in its own workspace or across its organization: what
// the console asks to decide which links and controls to show. The routes
// behind them are guarded all the same. With auth disabled there is no
// caller and it is false: the guard then lets every read through and
// refuses every change, whatever the permission.
func (a *Authenticator) Allows(r *http.Request, resource, action string) bool {
	id, ok := IdentityFrom(r.Context())
	if !ok || id == nil {
		return false
	}
	return a.o.Authorizer.AllowOrgWide(id.KeyID, id.OrgID, resource, action) ||
		a.o.Authorizer.Allow(id.KeyID, id.OrgID, id.WorkspaceID, resource, action)
}
