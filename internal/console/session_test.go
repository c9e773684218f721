package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/console"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/store/opener"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
)

func TestSignInAndOut(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.browser()

			p := b.get("/console")
			if p.status != http.StatusSeeOther || p.location != "/console/login" {
				t.Fatalf("GET /console without a session: %d %q", p.status, p.location)
			}
			p = b.get("/console/login")
			wantStatus(t, "login page", p, http.StatusOK)
			for _, want := range []string{`<label for="gateway-key">Gateway key</label>`, `type="password"`, `<button type="submit">Sign in</button>`} {
				if !p.has(want) {
					t.Errorf("login page lacks %s", want)
				}
			}

			p = b.post("/console/login", url.Values{"gateway_key": {"not-a-key"}})
			wantStatus(t, "wrong key", p, http.StatusUnauthorized)
			if !p.has(console.MsgInvalidKey) {
				t.Errorf("wrong key: page lacks %q", console.MsgInvalidKey)
			}
			if b.cookie() != nil {
				t.Error("a wrong key got a session cookie")
			}

			p = b.post("/console/login", url.Values{"gateway_key": {roleToken("owner")}})
			if p.status != http.StatusSeeOther || p.location != "/console" {
				t.Fatalf("right key: %d %q", p.status, p.location)
			}
			set := p.header.Get("Set-Cookie")
			for _, want := range []string{"ongoingai_console=", "HttpOnly", "SameSite=Strict", "Path=/console"} {
				if !strings.Contains(set, want) {
					t.Errorf("Set-Cookie %q lacks %s", set, want)
				}
			}
			if strings.Contains(set, "Secure") {
				t.Errorf("Set-Cookie %q is Secure over plain HTTP without console.secure_cookies", set)
			}
			if strings.Contains(set, roleToken("owner")) || strings.Contains(set, keyauth.HashToken(roleToken("owner"))) {
				t.Errorf("the cookie carries the key: %q", set)
			}

			p = b.get("/console")
			wantStatus(t, "overview", p, http.StatusOK)
			for _, link := range []string{">Overview</a>", ">Traces</a>", ">Analytics</a>", ">Keys</a>", ">Workspaces</a>", ">Audit log</a>", ">Sign out</button>"} {
				if !p.has(link) {
					t.Errorf("owner's overview lacks %s", link)
				}
			}

			old := b.cookie()
			p = b.post("/console/logout", nil)
			if p.status != http.StatusSeeOther || p.location != "/console/login" {
				t.Fatalf("sign out: %d %q %s", p.status, p.location, p.body)
			}
			// The old cookie, replayed, no longer opens anything: the
			// session ended on the server, not just in the browser.
			replay := g.browser()
			u, _ := url.Parse(g.srv.URL + "/console")
			replay.c.Jar.SetCookies(u, []*http.Cookie{{Name: old.Name, Value: old.Value, Path: "/console"}})
			p = replay.get("/console")
			if p.status != http.StatusSeeOther || p.location != "/console/login" {
				t.Fatalf("signed-out cookie replayed: %d %q", p.status, p.location)
			}
		})
	}
}

func TestSecureCookies(t *testing.T) {
	g := startGateway(t, config.DriverSQLite, func(c *config.Config) { c.Console.SecureCookies = true })
	p := g.browser().post("/console/login", url.Values{"gateway_key": {roleToken("viewer")}})
	if set := p.header.Get("Set-Cookie"); !strings.Contains(set, "Secure") {
		t.Errorf("console.secure_cookies: Set-Cookie %q is not Secure", set)
	}
}

func TestSignInRateLimit(t *testing.T) {
	g := startGateway(t, config.DriverSQLite)
	b := g.browser()
	for i := range 5 {
		p := b.post("/console/login", url.Values{"gateway_key": {"wrong"}})
		wantStatus(t, "wrong key "+string(rune('1'+i)), p, http.StatusUnauthorized)
	}
	// Past the limit even the right key is refused, without being checked.
	p := b.post("/console/login", url.Values{"gateway_key": {roleToken("owner")}})
	wantStatus(t, "sixth attempt", p, http.StatusTooManyRequests)
	if !p.has(console.MsgTooManyAttempts) || p.header.Get("Retry-After") == "" {
		t.Errorf("429 without its message or Retry-After: %v %s", p.header, p.body)
	}
	if b.cookie() != nil {
		t.Error("a rate-limited sign-in got a session")
	}
}

// plantSession stores a session with the given times straight in the store
// and gives b its cookie: the way to test timeouts without waiting them out.
func plantSession(t *testing.T, g *gateway, b *browser, keyID string, created, lastSeen, expires time.Time) {
	t.Helper()
	st, err := opener.Open(t.Context(), g.cfg.Storage)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sid := "planted-session-id-" + strings.ReplaceAll(t.Name(), "/", "-")
	if err := st.CreateSession(t.Context(), store.Session{
		IDHash: keyauth.HashToken(sid), KeyID: keyID, CreatedAt: created, LastSeenAt: lastSeen, ExpiresAt: expires,
	}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(g.srv.URL + "/console")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "ongoingai_console", Value: sid, Path: "/console"}})
}

func TestSessionTimeouts(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver, func(c *config.Config) {
				c.Console.IdleTimeout = 30 * time.Minute
				c.Console.SessionLifetime = 12 * time.Hour
			})
			now := time.Now().UTC()
			cases := []struct {
				name                      string
				created, lastSeen, expiry time.Time
				live                      bool
			}{
				{"in use", now.Add(-time.Hour), now.Add(-29 * time.Minute), now.Add(11 * time.Hour), true},
				{"idle past idle_timeout", now.Add(-time.Hour), now.Add(-31 * time.Minute), now.Add(11 * time.Hour), false},
				{"past session_lifetime", now.Add(-12 * time.Hour), now.Add(-time.Minute), now.Add(-time.Second), false},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					b := g.browser()
					plantSession(t, g, b, "key-owner", c.created, c.lastSeen, c.expiry)
					p := b.get("/console")
					if c.live {
						wantStatus(t, c.name, p, http.StatusOK)
						// Using it moved last_seen: it is no longer idle.
						return
					}
					if p.status != http.StatusSeeOther || p.location != "/console/login" {
						t.Fatalf("%s: %d %q, want 303 to /console/login", c.name, p.status, p.location)
					}
				})
			}
		})
	}
}

// A session whose key is revoked ends at once: the next request goes to
// sign in, though the session row is still there.
func TestRevocationEndsSessions(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			owner := g.signedIn("owner")
			owner.get("/console/keys")
			p := owner.post("/console/keys", url.Values{"name": {"ops"}, "role": {"admin"}, "workspace_id": {"prod"}})
			wantStatus(t, "create key", p, http.StatusCreated)
			token := p.newToken()
			id := keyIDOf(t, p)

			admin := g.browser()
			admin.signIn(token)
			wantStatus(t, "admin's keys page", admin.get("/console/keys"), http.StatusOK)

			owner.get("/console/keys")
			wantStatus(t, "revoke", owner.post("/console/keys/"+id+"/revoke", url.Values{"confirm": {"yes"}}), http.StatusOK)
			p = admin.get("/console/keys")
			if p.status != http.StatusSeeOther || p.location != "/console/login" {
				t.Fatalf("revoked key's session: %d %q, want 303 to sign in", p.status, p.location)
			}
		})
	}
}

// A key past its expiry ends its sessions too, though nothing revoked it.
func TestExpiredKeyEndsSessions(t *testing.T) {
	g := startGateway(t, config.DriverSQLite)
	owner := g.signedIn("owner")
	owner.get("/console/keys")
	expires := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	p := owner.post("/console/keys", url.Values{"name": {"brief"}, "role": {"viewer"}, "workspace_id": {"prod"}, "expires": {expires}})
	wantStatus(t, "create key", p, http.StatusCreated)
	b := g.browser()
	b.signIn(p.newToken())
	wantStatus(t, "before expiry", b.get("/console"), http.StatusOK)
	deadline, _ := time.Parse(time.RFC3339Nano, expires)
	time.Sleep(time.Until(deadline) + 50*time.Millisecond)
	if p := b.get("/console"); p.status != http.StatusSeeOther {
		t.Fatalf("after the key expired: %d, want 303 to sign in", p.status)
	}
}

func TestCSRF(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.signedIn("owner")
			b.get("/console/keys")
			form := url.Values{"name": {"csrf"}, "role": {"viewer"}, "workspace_id": {"prod"}}

			noToken := url.Values{"csrf_token": {""}}
			for k, v := range form {
				noToken[k] = v
			}
			p := b.post("/console/keys", noToken)
			wantStatus(t, "form without its CSRF token", p, http.StatusForbidden)
			if !p.has(console.MsgCSRF) {
				t.Errorf("403 without its message: %s", p.body)
			}
			wrong := url.Values{"csrf_token": {strings.Repeat("0", 64)}}
			for k, v := range form {
				wrong[k] = v
			}
			wantStatus(t, "form with another token", b.post("/console/keys", wrong), http.StatusForbidden)

			// The right token from another origin.
			req, _ := http.NewRequest(http.MethodPost, g.srv.URL+"/console/keys", strings.NewReader(form.Encode()+"&csrf_token="+b.csrf))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example")
			wantStatus(t, "cross-origin form", b.do(req), http.StatusForbidden)

			// Sign-out needs the token too.
			wantStatus(t, "sign out without token", b.post("/console/logout", url.Values{"csrf_token": {""}}), http.StatusForbidden)

			// Nothing was created.
			if p := b.get("/console/keys"); p.has(">csrf <") {
				t.Errorf("a refused form created a key:\n%s", p.body)
			}
			// The htmx header carries the token as well as the field does.
			req, _ = http.NewRequest(http.MethodPost, g.srv.URL+"/console/keys", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", g.srv.URL)
			req.Header.Set("HX-Request", "true")
			req.Header.Set("X-CSRF-Token", b.csrf)
			wantStatus(t, "htmx form with the header", b.do(req), http.StatusCreated)
		})
	}
}

func TestReadOnlyWithAuthDisabled(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver, func(c *config.Config) { c.Auth.Enabled = false })
			b := g.browser()
			for _, path := range []string{"/console", "/console/keys", "/console/workspaces"} {
				p := b.get(path)
				wantStatus(t, path, p, http.StatusOK)
				if !p.has("Read-only: gateway auth is disabled") {
					t.Errorf("%s lacks the read-only banner", path)
				}
				for _, control := range []string{"Create key", ">Rotate<", ">Revoke<", "Create workspace", "Sign out"} {
					if p.has(control) {
						t.Errorf("%s shows %q with auth disabled", path, control)
					}
				}
			}
			p := b.post("/console/keys", url.Values{"name": {"x"}, "role": {"viewer"}})
			wantStatus(t, "create with auth disabled", p, http.StatusForbidden)
			if !p.has("gateway auth is disabled") {
				t.Errorf("refusal lacks the API's message: %s", p.body)
			}
		})
	}
}

// keyIDOf is the id of the key a create or rotation just showed.
func keyIDOf(t *testing.T, p page) string {
	t.Helper()
	i := strings.Index(p.body, `<h2 id="new-token-title">New token for `)
	if i < 0 {
		t.Fatalf("no new token on the page:\n%s", p.body)
	}
	rest := p.body[i+len(`<h2 id="new-token-title">New token for `):]
	return rest[:strings.Index(rest, "<")]
}
