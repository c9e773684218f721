package console

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/web"
)

// Sign-in messages, shown on the form.
const (
	MsgInvalidKey       = "Invalid gateway key"
	MsgTooManyAttempts  = "Too many failed sign-ins from this address: try again in "
	msgSessionStoreDown = "Sign-in is unavailable: the session store did not answer. Try again shortly."
)

// Audit actions of the console.
const (
	ActionSignIn  = "console.sign_in"
	ActionSignOut = "console.sign_out"
)

// Failed sign-ins allowed per client address per window, before further
// attempts are refused without checking the key.
const (
	loginAttempts = 5
	loginWindow   = time.Minute
	// maxLimitedAddrs bounds the limiter's memory: past it, the oldest
	// windows are forgotten first.
	maxLimitedAddrs = 10000
)

// loginLimiter counts failed sign-ins per client address in fixed windows.
type loginLimiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	fails  map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newLoginLimiter(max int, window time.Duration) *loginLimiter {
	return &loginLimiter{max: max, window: window, fails: map[string]*failWindow{}}
}

// blocked returns how long addr must wait, 0 when it may try.
func (l *loginLimiter) blocked(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[addr]
	if f == nil || now.Sub(f.start) >= l.window {
		return 0
	}
	if f.n < l.max {
		return 0
	}
	return l.window - now.Sub(f.start)
}

// fail counts a failed attempt from addr.
func (l *loginLimiter) fail(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.fails[addr]
	if f == nil || now.Sub(f.start) >= l.window {
		if f == nil && len(l.fails) >= maxLimitedAddrs {
			l.sweep(now)
		}
		f = &failWindow{start: now}
		l.fails[addr] = f
	}
	f.n++
}

// sweep forgets ended windows, and if none had ended, every window: a
// flood of addresses must not grow memory without bound.
func (l *loginLimiter) sweep(now time.Time) {
	for a, f := range l.fails {
		if now.Sub(f.start) >= l.window {
			delete(l.fails, a)
		}
	}
	if len(l.fails) >= maxLimitedAddrs {
		clear(l.fails)
	}
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, web.LoginPage("", !c.d.Auth.Enabled()))
}

// signIn checks the gateway key typed into the form and, when it
// authenticates, starts a session and sends the browser to the overview.
// A wrong key is 401 with MsgInvalidKey and counts against the client
// address; past loginAttempts a minute the address gets 429 until the
// window ends, without its key being checked.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	if !c.d.Auth.Enabled() {
		http.Redirect(w, r, "/console", http.StatusSeeOther)
		return
	}
	if err := c.origins.Check(r); err != nil {
		c.render(w, r, http.StatusForbidden, web.LoginPage(MsgCSRF, false))
		return
	}
	now := c.d.Now()
	addr := keyauth.ClientIP(r)
	if wait := c.limiter.blocked(addr, now); wait > 0 {
		secs := int(wait.Round(time.Second) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
		c.render(w, r, http.StatusTooManyRequests, web.LoginPage(MsgTooManyAttempts+strconv.Itoa(max(secs, 1))+" s", false))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	token := ""
	if err := r.ParseForm(); err == nil {
		token = r.PostForm.Get("gateway_key")
	}
	id, reason := c.d.Auth.Authenticate(token)
	if reason != "" {
		c.limiter.fail(addr, now)
		// Recorded as the guard records a refused key: aggregated per
		// source and minute, so a flood of guesses cannot flood the log.
		c.record(r, id, auditlog.ActionAuthDeny, auditlog.OutcomeDenied, reason)
		c.render(w, r, http.StatusUnauthorized, web.LoginPage(MsgInvalidKey, false))
		return
	}
	sid, err := newSessionID()
	if err == nil {
		err = c.d.Sessions.CreateSession(r.Context(), store.Session{
			IDHash: keyauth.HashToken(sid), KeyID: id.KeyID,
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(c.d.Lifetime),
		})
	}
	if err != nil {
		c.log.Error("console: creating a session failed", "err", err)
		c.render(w, r, http.StatusServiceUnavailable, web.LoginPage(msgSessionStoreDown, false))
		return
	}
	c.record(r, id, ActionSignIn, auditlog.OutcomeOK, "")
	c.setCookie(w, r, sid)
	http.Redirect(w, r, "/console", http.StatusSeeOther)
}

// signOut ends the session server-side. It is a public route because the
// session may already be over (signing out twice is fine), but it needs
// the session's CSRF token: another site must not sign anyone out.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	c.checkCSRF(func(w http.ResponseWriter, r *http.Request) {
		sid := sessionID(r)
		hash := keyauth.HashToken(sid)
		var id *keyauth.Identity
		if s, err := c.d.Sessions.GetSession(r.Context(), hash); err == nil {
			id = &keyauth.Identity{KeyID: s.KeyID}
			if k, reason := c.d.Auth.Identity(s.KeyID); reason == "" {
				id = k
			}
		}
		if err := c.d.Sessions.DeleteSession(r.Context(), hash); err != nil {
			c.storeError(w, r, err)
			return
		}
		c.record(r, id, ActionSignOut, auditlog.OutcomeOK, "")
		c.clearCookie(w, r)
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	})(w, r)
}

// record records a sign-in or sign-out attributed to the key, in its
// tenant so that its admins see it.
func (c *Console) record(r *http.Request, id *keyauth.Identity, action, outcome, reason string) {
	if c.d.Audit == nil {
		return
	}
	ev := store.AuditEvent{
		Action: action, Target: "route:" + r.Method + " " + r.URL.Path, Outcome: outcome, Reason: reason,
		ClientIP: keyauth.ClientIP(r), RequestID: keyauth.RequestID(r),
	}
	if id != nil {
		ev.ActorKeyID, ev.OrgID, ev.WorkspaceID = id.KeyID, id.OrgID, id.WorkspaceID
	}
	c.d.Audit.Record(ev)
}
