package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/rbac"
	"github.com/ongoingai/gateway/internal/testdb"
)

var drivers = []string{config.DriverSQLite, config.DriverPostgres}

// roleToken is the static token of the test key with role.
func roleToken(role string) string { return "console-test-token-for-" + role + "-0123456789abcdef" }

// gateway is a running gateway for console tests.
type gateway struct {
	t   *testing.T
	app *app.App
	srv *httptest.Server
	cfg config.Config
}

// startGateway runs the whole gateway (app.New: the real router, guard,
// services and store) on driver, with auth on and one static key per role
// in acme/prod, in front of a fake upstream.
func startGateway(t *testing.T, driver string, mutate ...func(*config.Config)) *gateway {
	t.Helper()
	upstream := httptest.NewServer(fakeupstream.New(fakeupstream.Options{}))
	t.Cleanup(upstream.Close)
	cfg := config.Default()
	cfg.Storage.Driver = driver
	switch driver {
	case config.DriverSQLite:
		cfg.Storage.Path = testdb.SQLitePath(t)
	case config.DriverPostgres:
		cfg.Storage.DSN = testdb.PostgresDSN(t)
	}
	for name, p := range cfg.Providers {
		p.Upstream = upstream.URL
		cfg.Providers[name] = p
	}
	cfg.Tracing.FlushInterval = 10 * time.Millisecond
	cfg.Auth.Enabled = true
	for _, role := range rbac.Roles {
		cfg.Auth.Keys = append(cfg.Auth.Keys, config.StaticKey{
			ID: "key-" + role, Token: roleToken(role), OrgID: "acme", WorkspaceID: "prod", Role: role,
		})
	}
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &gateway{t: t, app: a, srv: srv, cfg: cfg}
}

// browser is one browser: a cookie jar, redirects not followed (the tests
// check them), and the CSRF token of the last page it loaded.
type browser struct {
	t    *testing.T
	g    *gateway
	c    *http.Client
	csrf string
}

func (g *gateway) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		g.t.Fatal(err)
	}
	return &browser{t: g.t, g: g, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is an answer: status, Location and the body.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
	if m := csrfField.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([0-9a-f]+)"`)

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.g.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post submits a form as a same-origin browser would: Origin set, and the
// CSRF token of the last page loaded unless form sets csrf_token itself.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok && b.csrf != "" {
		form.Set("csrf_token", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.g.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.g.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// signIn signs in with token and checks the redirect to the overview.
func (b *browser) signIn(token string) {
	b.t.Helper()
	p := b.post("/console/login", url.Values{"gateway_key": {token}})
	if p.status != http.StatusSeeOther || p.location != "/console" {
		b.t.Fatalf("sign in: %d %q %s", p.status, p.location, p.body)
	}
}

// signedIn is a browser signed in with role's static key.
func (g *gateway) signedIn(role string) *browser {
	b := g.browser()
	b.signIn(roleToken(role))
	return b
}

// cookie returns the session cookie the jar holds, nil without one.
func (b *browser) cookie() *http.Cookie {
	u, _ := url.Parse(b.g.srv.URL + "/console")
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "ongoingai_console" {
			return c
		}
	}
	return nil
}

// api calls the REST API with a gateway key, returning the status.
func (g *gateway) api(method, path, token string) int {
	g.t.Helper()
	req, err := http.NewRequest(method, g.srv.URL+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	req.Header.Set("X-OngoingAI-Gateway-Key", token)
	resp, err := g.srv.Client().Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

var newTokenRe = regexp.MustCompile(`<code id="new-token">([^<]+)</code>`)

// newToken is the token shown in #new-token, "" when none is.
func (p page) newToken() string {
	if m := newTokenRe.FindStringSubmatch(p.body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func (p page) has(s string) bool { return strings.Contains(p.body, s) }

func wantStatus(t *testing.T, what string, p page, status int) {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", what, p.status, status, p.body)
	}
}

// chat makes n chat calls through the proxy with the official OpenAI
// client, as a user of the gateway would, with the gateway key token.
func (g *gateway) chat(token string, n int) {
	g.t.Helper()
	c := openai.NewClient(
		option.WithBaseURL(g.srv.URL+"/openai/v1/"),
		option.WithAPIKey("sk-console-test-provider-key"),
		option.WithMaxRetries(0),
		option.WithHeader("X-OngoingAI-Gateway-Key", token),
	)
	for range n {
		if _, err := c.Chat.Completions.New(g.t.Context(), openai.ChatCompletionNewParams{
			Model:    "gpt-4o-mini",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		}); err != nil {
			g.t.Fatalf("proxied call: %v", err)
		}
	}
}

// eventually retries check until it returns true or 10 s pass: traces and
// audit events are written in the background.
func eventually(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type configT = config.Config

// staticKey is one more static key (id "key-"+role's token scheme: its
// token is roleToken(name)).
func staticKey(name, org, ws, role string) config.StaticKey {
	return config.StaticKey{ID: "key-" + name, Token: roleToken(name), OrgID: org, WorkspaceID: ws, Role: role}
}
