package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

// cookieName holds the session id. The id is 32 random bytes; the store
// keeps only its SHA-256, and the cookie never carries the key.
const cookieName = "ongoingai_console"

// touchEvery is how stale last_seen may get before a request writes it:
// the idle timeout is measured to within this, and a busy console does not
// write its session row on every click.
const touchEvery = time.Minute

// Refusal reasons for the audit log.
const (
	reasonSessionUnknown = "unknown or signed-out console session"
	reasonSessionIdle    = "console session idle past console.idle_timeout"
	reasonSessionEnded   = "console session past console.session_lifetime"
	reasonSessionStore   = "console session store unavailable"
)

// newSessionID returns a fresh random session id for the cookie.
func newSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// sessionID is r's session cookie value, "" without one.
func sessionID(r *http.Request) string {
	ck, err := r.Cookie(cookieName)
	if err != nil || len(ck.Value) > 64 {
		return ""
	}
	return ck.Value
}

// SessionKey implements tenancy.SessionSource: the key of r's live session.
// A session ends when idle past console.idle_timeout or older than
// console.session_lifetime; the key itself is then checked by the guard in
// the key cache, so a revoked or expired key ends its sessions at once.
func (c *Console) SessionKey(r *http.Request) (string, string) {
	sid := sessionID(r)
	if sid == "" {
		return "", keyauth.ReasonNoSession
	}
	ctx, cancel := c.readContext(r)
	defer cancel()
	hash := keyauth.HashToken(sid)
	s, err := c.d.Sessions.GetSession(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", reasonSessionUnknown
	case err != nil:
		c.log.Error("console: reading a session failed", "err", err)
		return "", reasonSessionStore
	}
	now := c.d.Now()
	switch {
	case !now.Before(s.ExpiresAt):
		return "", reasonSessionEnded
	case now.Sub(s.LastSeenAt) >= c.d.IdleTimeout:
		return "", reasonSessionIdle
	case now.Sub(s.LastSeenAt) >= touchEvery:
		if err := c.d.Sessions.TouchSession(ctx, hash, now); err != nil {
			c.log.Warn("console: recording session activity failed", "err", err)
		}
	}
	return s.KeyID, ""
}

// Refuse implements tenancy.SessionSource: a caller without a live session
// is sent to sign in (htmx follows HX-Redirect, a browser the 303); any
// other refusal is a page with the guard's message.
func (c *Console) Refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if status == http.StatusUnauthorized {
		if sessionID(r) != "" {
			c.clearCookie(w, r)
		}
		if r.Header.Get("HX-Request") != "" {
			w.Header().Set("HX-Redirect", "/console/login")
		}
		http.Redirect(w, r, "/console/login", http.StatusSeeOther)
		return
	}
	c.errorPage(w, r, status, msg)
}

// setCookie hands the browser its session: HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it), Secure over TLS or when
// configured, and no Max-Age: the server ends sessions, the browser drops
// the cookie when it closes.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, sid string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sid, Path: "/console",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(r),
	})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: c.secure(r),
	})
}

func (c *Console) secure(r *http.Request) bool { return r.TLS != nil || c.d.SecureCookies }

// csrfToken is the synchronizer token of the session whose cookie holds
// sid: a keyed hash of the id, so it needs no storage, differs per
// session, and cannot be computed by a page that cannot read the cookie.
func csrfToken(sid string) string {
	m := hmac.New(sha256.New, []byte(sid))
	m.Write([]byte("ongoingai console csrf"))
	return hex.EncodeToString(m.Sum(nil))
}

// csrfTokenOf is the token of r's session, "" without one.
func csrfTokenOf(r *http.Request) string {
	if sid := sessionID(r); sid != "" {
		return csrfToken(sid)
	}
	return ""
}

// MsgCSRF refuses a state-changing request without its session's token or
// from another origin. Nothing was changed.
const MsgCSRF = "request refused: missing or invalid CSRF token, or sent from another origin; reload the page and try again"

// maxFormBody bounds console form bodies; none needs more.
const maxFormBody = 64 << 10

// checkCSRF wraps a state-changing handler: the request must come from
// this origin (Origin and Sec-Fetch-Site, as http.CrossOriginProtection
// reads them) and carry the session's token in the csrf_token field or the
// X-CSRF-Token header (htmx sends it from hx-headers). Otherwise 403, and
// next never runs.
func (c *Console) checkCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := c.origins.Check(r); err != nil {
			c.errorPage(w, r, http.StatusForbidden, MsgCSRF)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			c.errorPage(w, r, http.StatusBadRequest, "invalid form: "+err.Error())
			return
		}
		want := csrfTokenOf(r)
		got := r.Header.Get("X-CSRF-Token")
		if got == "" {
			got = r.PostForm.Get("csrf_token")
		}
		if want == "" || !hmac.Equal([]byte(got), []byte(want)) {
			c.errorPage(w, r, http.StatusForbidden, MsgCSRF)
			return
		}
		next(w, r)
	}
}

// sweepEvery is how often ended sessions are deleted. They are refused
// the moment they end whatever the sweep; it only keeps the table small.
const sweepEvery = 10 * time.Minute

// SweepSessions deletes ended sessions (past their absolute end, or idle
// past the idle timeout) every sweepEvery until ctx ends. Replicas sweeping
// at once delete the same rows harmlessly.
func (c *Console) SweepSessions(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		now := c.d.Now()
		if n, err := c.d.Sessions.DeleteEndedSessions(ctx, now, now.Add(-c.d.IdleTimeout)); err != nil && ctx.Err() == nil {
			c.log.Warn("console: deleting ended sessions failed", "err", err)
		} else if n > 0 {
			c.log.Debug("console: ended sessions deleted", "sessions", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
