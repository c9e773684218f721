package console_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/web"
)

// A session made on one replica works on another on the same Postgres,
// and signing out on either ends it on both.
func TestSessionsAcrossReplicas(t *testing.T) {
	a := startGateway(t, config.DriverPostgres)
	b := startGateway(t, config.DriverPostgres, func(c *config.Config) { c.Storage.DSN = a.cfg.Storage.DSN })

	onA := a.signedIn("owner")
	onB := b.browser()
	u, _ := url.Parse(b.srv.URL + "/console")
	ck := onA.cookie()
	onB.c.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/console"}})
	wantStatus(t, "replica B with A's session", onB.get("/console/keys"), http.StatusOK)

	wantStatus(t, "sign out on B", onB.post("/console/logout", nil), http.StatusSeeOther)
	if p := onA.get("/console"); p.status != http.StatusSeeOther || p.location != "/console/login" {
		t.Fatalf("A after signing out on B: %d %q", p.status, p.location)
	}
}

// The assets are served from the binary: htmx exactly as pinned, the
// stylesheet as CSS, without signing in (the sign-in page uses them).
func TestStaticAssets(t *testing.T) {
	g := startGateway(t, config.DriverSQLite)
	b := g.browser()
	p := b.get("/console/static/htmx.min.js")
	wantStatus(t, "htmx", p, http.StatusOK)
	sum := sha256.Sum256([]byte(p.body))
	if hex.EncodeToString(sum[:]) != web.HTMXSHA256 {
		t.Error("served htmx differs from the pinned file")
	}
	p = b.get("/console/static/console.css")
	wantStatus(t, "css", p, http.StatusOK)
	if ct := p.header.Get("Content-Type"); ct != "text/css; charset=utf-8" {
		t.Errorf("console.css served as %q", ct)
	}
	wantStatus(t, "unknown asset", b.get("/console/static/nope.js"), http.StatusNotFound)
	// Pages carry their security headers.
	p = b.get("/console/login")
	for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := p.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if p.header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy")
	}
}
