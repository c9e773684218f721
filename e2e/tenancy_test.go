package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/store"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/tenancy/auditlog"
	"github.com/ongoingai/gateway/internal/tenancy/keyauth"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// Gateway-key stories: a platform team turns auth on, hands out keys per
// workspace, rotates and revokes them, and relies on every tenant seeing
// only its own traces, keys and audit trail, on every replica.

const gatewayHeader = "X-OngoingAI-Gateway-Key"

// Static keys declared in the config file of the stories below.
const (
	acmeOwnerToken   = "ogw_acmeOwnerStaticTokenForTheE2eStories0001"
	acmeAdminToken   = "ogw_acmeAdminStaticTokenForTheE2eStories0002"
	globexOwnerToken = "ogw_globexOwnerStaticTokenForTheE2eStories03"
)

var staticKeys = []config.StaticKey{
	{ID: "acme-owner", Token: acmeOwnerToken, OrgID: "acme", WorkspaceID: "prod", Role: "owner"},
	{ID: "acme-admin", Token: acmeAdminToken, OrgID: "acme", WorkspaceID: "prod", Role: "admin"},
	{ID: "globex-owner", Token: globexOwnerToken, OrgID: "globex", WorkspaceID: "main", Role: "owner"},
}

var mintedToken = regexp.MustCompile(`^ogw_[0-9A-Za-z]{43}$`)

const chatBody = `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`

// withAuth turns gateway keys on with the static keys above.
func withAuth(c *config.Config) {
	c.Auth.Enabled = true
	c.Auth.Keys = slices.Clone(staticKeys)
}

// call sends an API request with a gateway key ("" for none).
func (g *gateway) call(method, path, token, body string) (int, string) {
	g.t.Helper()
	h := map[string]string{}
	if token != "" {
		h[gatewayHeader] = token
	}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return g.do(method, path, body, h)
}

// callOK sends an API request that must answer want, and decodes the body.
func callOK[T any](g *gateway, method, path, token, body string, want int) T {
	g.t.Helper()
	status, resp := g.call(method, path, token, body)
	if status != want {
		g.t.Fatalf("%s %s: got %d %s, want %d", method, path, status, resp, want)
	}
	var v T
	if err := json.Unmarshal([]byte(resp), &v); err != nil {
		g.t.Fatalf("%s %s: decoding %s: %v", method, path, resp, err)
	}
	return v
}

// chat proxies one chat completion with a gateway key and the provider key.
func (g *gateway) chat(token string) (int, string) {
	g.t.Helper()
	return g.do(http.MethodPost, "/openai/v1/chat/completions", chatBody,
		map[string]string{gatewayHeader: token, "Authorization": "Bearer " + openAIKey})
}

// mustChat proxies a call that must succeed.
func (g *gateway) mustChat(token string) {
	g.t.Helper()
	if status, body := g.chat(token); status != http.StatusOK {
		g.t.Fatalf("proxied call: %d %s", status, body)
	}
}

// createKey mints a key through the API.
func (g *gateway) createKey(token, body string) tenancy.IssuedKey {
	g.t.Helper()
	k := callOK[tenancy.IssuedKey](g, http.MethodPost, "/api/gateway-keys", token, body, http.StatusCreated)
	if !mintedToken.MatchString(k.Token) {
		g.t.Fatalf("minted token %q does not look like %s", k.Token, mintedToken)
	}
	return k
}

type keyList struct {
	Items []tenancy.KeyInfo `json:"items"`
}

type auditItem struct {
	ID          string    `json:"id"`
	Time        time.Time `json:"time"`
	OrgID       string    `json:"org_id"`
	WorkspaceID string    `json:"workspace_id"`
	ActorKeyID  string    `json:"actor_key_id"`
	Action      string    `json:"action"`
	Target      string    `json:"target"`
	Outcome     string    `json:"outcome"`
	Reason      string    `json:"reason"`
	ClientIP    string    `json:"client_ip"`
	RequestID   string    `json:"request_id"`
}

type auditPage struct {
	Items      []auditItem `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// tracesAs waits until token sees n traces, and returns them newest first.
func (g *gateway) tracesAs(token string, n int) []trace.Record {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list := callOK[struct {
			Items []trace.Record `json:"items"`
		}](g, http.MethodGet, "/api/traces?limit=200", token, "", http.StatusOK)
		if len(list.Items) > n {
			g.t.Fatalf("token sees %d traces, want %d", len(list.Items), n)
		}
		if len(list.Items) == n {
			return list.Items
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %d traces; token sees %d", n, len(list.Items))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// auditAs waits until the audit events token can read (query narrows them)
// satisfy done, and returns them. The audit log is written asynchronously.
func (g *gateway) auditAs(token, query string, done func([]auditItem) bool) []auditItem {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page := callOK[auditPage](g, http.MethodGet, "/api/audit?limit=200&"+query, token, "", http.StatusOK)
		if done(page.Items) {
			return page.Items
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for audit events (%s); have %+v", query, page.Items)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// has reports whether some event has the action, target and outcome.
func has(evs []auditItem, action, target, outcome string) bool {
	return slices.ContainsFunc(evs, func(e auditItem) bool {
		return e.Action == action && e.Target == target && e.Outcome == outcome
	})
}

// eventually polls cond until it holds and says how long that took. The
// deadline is a hang guard, not a performance bound; it is shorter than the
// key cache's periodic reload (30s), so a change seen in time was seen
// through the change notification or the local reload.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func TestGatewayKeyAuthenticatesEveryRouteButPublicOnes(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth, captureHeaders("x-ongoingai-gateway-key"))
		for _, p := range []string{"/", "/api/health"} {
			if status, body := g.get(p); status != http.StatusOK {
				t.Errorf("GET %s without a key: %d %s", p, status, body)
			}
		}
		provider := map[string]string{"Authorization": "Bearer " + openAIKey}
		for _, r := range [][2]string{
			{"GET", "/api/traces"}, {"GET", "/api/traces/x"}, {"GET", "/api/gateway-keys"}, {"POST", "/api/gateway-keys"},
			{"GET", "/api/orgs"}, {"GET", "/api/workspaces"}, {"GET", "/api/audit"},
			{"POST", "/openai/v1/chat/completions"}, {"POST", "/anthropic/v1/messages"}, {"GET", "/openai/v1/models"},
		} {
			status, body := g.do(r[0], r[1], "{}", provider)
			expectJSONError(t, "no key: "+r[0]+" "+r[1], status, body, 401, keyauth.MsgUnauthorized)
		}

		// The key is never read from Authorization, and unknown keys fail alike.
		status, body := g.do("GET", "/api/traces", "", map[string]string{"Authorization": "Bearer " + acmeOwnerToken})
		expectJSONError(t, "key in Authorization", status, body, 401, keyauth.MsgUnauthorized)
		status, body = g.call("GET", "/api/traces", "ogw_"+strings.Repeat("x", 43), "")
		expectJSONError(t, "unknown key", status, body, 401, keyauth.MsgUnauthorized)
		status, body = g.call("GET", "/api/traces", strings.Repeat("k", 10000), "")
		expectJSONError(t, "oversized key", status, body, 401, keyauth.MsgUnauthorized)

		// A proxied call needs a provider credential, and never a gateway key
		// in its place (it would be forwarded to the provider).
		status, body = g.do("POST", "/openai/v1/chat/completions", chatBody, map[string]string{gatewayHeader: acmeOwnerToken})
		expectJSONError(t, "no provider credential", status, body, 401, keyauth.MsgMissingProviderCredential)
		status, body = g.do("POST", "/openai/v1/chat/completions", chatBody,
			map[string]string{gatewayHeader: acmeOwnerToken, "Authorization": "Bearer " + acmeOwnerToken})
		expectJSONError(t, "gateway key as provider credential", status, body, 401, keyauth.MsgGatewayKeyAsProviderCredential)
		if n := len(g.fake.Requests()); n != 0 {
			t.Fatalf("refused requests reached the upstream: %d", n)
		}

		// With both, the official SDKs work; the upstream gets the provider
		// credential and never the gateway key.
		if _, err := g.openai(gatewayHeader, acmeOwnerToken).Chat.Completions.New(context.Background(), chatParams("gpt-4o")); err != nil {
			t.Fatal(err)
		}
		if _, err := g.anthropic(gatewayHeader, acmeAdminToken).Messages.New(context.Background(), messageParams("claude-sonnet-4-5")); err != nil {
			t.Fatal(err)
		}
		reqs := g.fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("upstream got %d requests, want 2", len(reqs))
		}
		expect(t, "openai credential forwarded", reqs[0].Header.Get("Authorization"), "Bearer "+openAIKey)
		expect(t, "anthropic credential forwarded", reqs[1].Header.Get("X-Api-Key"), anthropicKey)
		for _, r := range reqs {
			expect(t, "gateway key stripped", r.Header.Get(gatewayHeader), "")
		}

		// Each trace names its caller.
		byProvider := map[string]trace.Record{}
		for _, tr := range g.tracesAs(acmeOwnerToken, 2) {
			byProvider[tr.Provider] = tr
		}
		for provider, key := range map[string]string{"openai": "acme-owner", "anthropic": "acme-admin"} {
			tr := byProvider[provider]
			expect(t, provider+" trace org_id", tr.OrgID, "acme")
			expect(t, provider+" trace workspace_id", tr.WorkspaceID, "prod")
			expect(t, provider+" trace gateway_key_id", tr.GatewayKeyID, key)
			full := callOK[trace.Record](g, "GET", "/api/traces/"+tr.ID, acmeOwnerToken, "", 200)
			expect(t, provider+" gateway key redacted in trace", full.RequestHeaders["X-Ongoingai-Gateway-Key"], "[REDACTED]")
		}
	})
}

func TestCustomGatewayKeyHeader(t *testing.T) {
	g := startGateway(t, "sqlite", withAuth, func(c *config.Config) { c.Auth.Header = "X-Team-Key" })
	status, body := g.chat(acmeOwnerToken) // the default header name means nothing now
	expectJSONError(t, "default header", status, body, 401, keyauth.UnauthorizedMessage("X-Team-Key"))
	status, body = g.do("POST", "/openai/v1/chat/completions", chatBody,
		map[string]string{"X-Team-Key": acmeOwnerToken, "Authorization": "Bearer " + openAIKey})
	expect(t, "custom header status", status, 200)
	reqs := g.fake.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("X-Team-Key") != "" {
		t.Fatalf("custom gateway key header reached the upstream: %+v", reqs)
	}
	_ = body
}

func TestAuthDisabledKeepsProxyAndReadsOpenAndRefusesEveryChange(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, func(c *config.Config) { c.Auth.Keys = slices.Clone(staticKeys) })
		g.mustChat("")
		tr := g.oneTrace()
		expect(t, "anonymous trace org_id", tr.OrgID, "")
		expect(t, "anonymous trace gateway_key_id", tr.GatewayKeyID, "")
		for _, p := range []string{"/api/traces", "/api/gateway-keys", "/api/orgs", "/api/workspaces", "/api/audit"} {
			if status, body := g.get(p); status != 200 {
				t.Errorf("GET %s with auth disabled: %d %s", p, status, body)
			}
		}
		// Not even a valid key may change anything while auth is off.
		for _, r := range [][3]string{
			{"POST", "/api/gateway-keys", `{"role":"owner","workspace_id":"prod"}`},
			{"POST", "/api/gateway-keys/acme-admin/rotate", ""},
			{"DELETE", "/api/gateway-keys/acme-admin", ""},
			{"POST", "/api/orgs", `{"id":"initech"}`},
			{"PATCH", "/api/orgs/acme", `{"name":"Acme"}`},
			{"DELETE", "/api/orgs/acme", ""},
			{"POST", "/api/workspaces", `{"id":"staging","org_id":"acme"}`},
			{"PATCH", "/api/workspaces/prod", `{"name":"Prod"}`},
			{"DELETE", "/api/workspaces/prod", ""},
		} {
			status, body := g.call(r[0], r[1], acmeOwnerToken, r[2])
			expectJSONError(t, r[0]+" "+r[1], status, body, 403, keyauth.MsgAuthDisabled)
		}
		keys := callOK[keyList](g, "GET", "/api/gateway-keys", "", "", 200)
		if len(keys.Items) != len(staticKeys) {
			t.Errorf("static keys listed: %d, want %d", len(keys.Items), len(staticKeys))
		}
		for _, k := range keys.Items {
			if k.Status != "active" || !k.Static {
				t.Errorf("key %s: status %s static %v", k.ID, k.Status, k.Static)
			}
		}
		g.auditAs("", "action=auth.deny", func(evs []auditItem) bool {
			return has(evs, "auth.deny", "route:DELETE /api/workspaces/prod", "denied") && len(evs) == 9
		})
	})
}

func TestKeyLifecycle(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)

		// Create: the token is shown once and works at once.
		dev := g.createKey(acmeOwnerToken, `{"name":"ci","role":"developer"}`)
		expect(t, "workspace defaults to the caller's", dev.WorkspaceID, "prod")
		expect(t, "org", dev.OrgID, "acme")
		expect(t, "status", string(dev.Status), "active")
		expect(t, "last4", dev.TokenLast4, dev.Token[len(dev.Token)-4:])
		expect(t, "created_by", dev.CreatedBy, "acme-owner")
		g.mustChat(dev.Token)
		status, body := g.call("GET", "/api/gateway-keys", dev.Token, "")
		expectJSONError(t, "developer lists keys", status, body, 403, keyauth.MsgForbidden)

		status, body = g.call("GET", "/api/gateway-keys", acmeOwnerToken, "")
		if strings.Contains(body, dev.Token) || strings.Contains(body, keyauth.HashToken(dev.Token)) || strings.Contains(body, `"token"`) {
			t.Fatalf("key list exposes a token or its hash: %s", body)
		}
		listed := callOK[tenancy.KeyInfo](g, "GET", "/api/gateway-keys/"+dev.ID, acmeOwnerToken, "", 200)
		if listed.LastUsedAt == nil {
			t.Error("last_used_at not set after a call")
		}

		// Rotate with a grace period: both tokens work, then only the new one.
		rot := callOK[tenancy.IssuedKey](g, "POST", "/api/gateway-keys/"+dev.ID+"/rotate", acmeOwnerToken, `{"grace_period":"1h"}`, 200)
		if !mintedToken.MatchString(rot.Token) || rot.Token == dev.Token || rot.ID != dev.ID {
			t.Fatalf("rotation returned %+v", rot)
		}
		expect(t, "status after rotation", string(rot.Status), "rotating")
		if rot.PreviousTokenExpiresAt == nil || time.Until(*rot.PreviousTokenExpiresAt) < 59*time.Minute {
			t.Errorf("previous_token_expires_at = %v, want about an hour from now", rot.PreviousTokenExpiresAt)
		}
		g.mustChat(dev.Token)
		g.mustChat(rot.Token)

		// A second rotation without grace ends the second token at once; the
		// first was replaced as "previous" and is gone too.
		rot2 := callOK[tenancy.IssuedKey](g, "POST", "/api/gateway-keys/"+dev.ID+"/rotate", acmeOwnerToken, `{"grace_seconds":0}`, 200)
		for _, old := range []string{dev.Token, rot.Token} {
			status, body := g.chat(old)
			expectJSONError(t, "replaced token", status, body, 401, keyauth.MsgUnauthorized)
		}
		g.mustChat(rot2.Token)

		// A short grace period ends by the clock, with no job involved.
		rot3 := callOK[tenancy.IssuedKey](g, "POST", "/api/gateway-keys/"+dev.ID+"/rotate", acmeOwnerToken, `{"grace_period":"1s"}`, 200)
		g.mustChat(rot3.Token)
		eventually(t, "the rotated token's grace period ends", func() bool { s, _ := g.chat(rot2.Token); return s == 401 })
		g.mustChat(rot3.Token)

		// Revoke: immediate, idempotent, final.
		rev := callOK[tenancy.KeyInfo](g, "DELETE", "/api/gateway-keys/"+dev.ID, acmeOwnerToken, "", 200)
		expect(t, "status after revoke", string(rev.Status), "revoked")
		if rev.RevokedAt == nil {
			t.Error("revoked_at not set")
		}
		status, body = g.chat(rot3.Token)
		expectJSONError(t, "revoked key", status, body, 401, keyauth.MsgUnauthorized)
		callOK[tenancy.KeyInfo](g, "DELETE", "/api/gateway-keys/"+dev.ID, acmeOwnerToken, "", 200)
		status, body = g.call("POST", "/api/gateway-keys/"+dev.ID+"/rotate", acmeOwnerToken, "")
		expectJSONError(t, "rotate revoked", status, body, 409, tenancy.MsgKeyRevoked)

		// Expiry is checked on every request against expires_at itself.
		exp := g.createKey(acmeOwnerToken, fmt.Sprintf(`{"role":"viewer","expires_at":%q}`, time.Now().Add(1500*time.Millisecond).UTC().Format(time.RFC3339Nano)))
		if status, body := g.call("GET", "/api/traces", exp.Token, ""); status != 200 {
			t.Fatalf("fresh expiring key: %d %s", status, body)
		}
		eventually(t, "the key expires", func() bool { s, _ := g.call("GET", "/api/traces", exp.Token, ""); return s == 401 })
		listed = callOK[tenancy.KeyInfo](g, "GET", "/api/gateway-keys/"+exp.ID, acmeOwnerToken, "", 200)
		expect(t, "expired key status", string(listed.Status), "expired")
		status, body = g.call("POST", "/api/gateway-keys/"+exp.ID+"/rotate", acmeOwnerToken, "")
		expectJSONError(t, "rotate expired", status, body, 409, tenancy.MsgKeyExpired)

		// Static keys belong to the config file.
		status, body = g.call("POST", "/api/gateway-keys/acme-admin/rotate", acmeOwnerToken, "")
		expectJSONError(t, "rotate static", status, body, 409, tenancy.MsgStaticKey)
		status, body = g.call("DELETE", "/api/gateway-keys/acme-admin", acmeOwnerToken, "")
		expectJSONError(t, "revoke static", status, body, 409, tenancy.MsgStaticKey)

		// Every refusal of a bad request names the problem.
		for _, c := range []struct {
			method, path, body string
			status             int
			msg                string
		}{
			{"POST", "/api/gateway-keys", `{"name":"x"}`, 400, tenancy.MsgRoleRequired},
			{"POST", "/api/gateway-keys", `{"role":"root"}`, 400, tenancy.MsgUnknownRole},
			{"POST", "/api/gateway-keys", `{"role":"viewer","expires_at":"2001-01-01T00:00:00Z"}`, 400, tenancy.MsgExpiryInPast},
			{"POST", "/api/gateway-keys", `{"role":"viewer","expires_at":"tomorrow"}`, 400, `invalid parameter "expires_at": must be an RFC3339 timestamp`},
			{"POST", "/api/gateway-keys", `{"role":"viewer","permissions":["keys:*"]}`, 400,
				`unknown permission "keys:*": valid permissions are proxy:write, analytics:read, keys:manage, workspaces:manage, audit:read, installation:read`},
			{"POST", "/api/gateway-keys", `{"role":"viewer","expires":"2030-01-01T00:00:00Z"}`, 400, `invalid JSON body: unknown field "expires"`},
			{"POST", "/api/gateway-keys", `{"role":"viewer","workspace_id":"nope"}`, 404, tenancy.MsgWorkspaceNotFound},
			{"POST", "/api/gateway-keys", `{"role":"viewer","workspace_id":"a/b"}`, 400,
				"workspace_id must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"},
			{"POST", "/api/gateway-keys/nope/rotate", "", 404, tenancy.MsgKeyNotFound},
			{"POST", "/api/gateway-keys/" + exp.ID + "/rotate", `{"grace_period":"1h","grace_seconds":5}`, 400, "give grace_period or grace_seconds, not both"},
			{"POST", "/api/gateway-keys/" + exp.ID + "/rotate", `{"grace_period":"soon"}`, 400, `invalid parameter "grace_period": must be a duration such as 1h, 90m or 0s`},
			{"POST", "/api/gateway-keys/" + exp.ID + "/rotate", `{"grace_period":"721h"}`, 400, "grace period must be between 0 and 720h (30 days)"},
			{"POST", "/api/gateway-keys/" + exp.ID + "/rotate", `{"grace_seconds":-1}`, 400, "grace period must be between 0 and 720h (30 days)"},
			{"DELETE", "/api/gateway-keys/nope", "", 404, tenancy.MsgKeyNotFound},
		} {
			status, body := g.call(c.method, c.path, acmeOwnerToken, c.body)
			expectJSONError(t, c.method+" "+c.path+" "+c.body, status, body, c.status, c.msg)
		}

		// last_used_at lives in memory and reaches the store at shutdown.
		fresh := g.createKey(acmeOwnerToken, `{"role":"developer"}`)
		g.mustChat(fresh.Token)
		if err := g.stop(); err != nil {
			t.Fatal(err)
		}
		again := serveConfig(t, g.cfg, g.fake, g.upstream)
		k := callOK[tenancy.KeyInfo](again, "GET", "/api/gateway-keys/"+fresh.ID, acmeOwnerToken, "", 200)
		if k.LastUsedAt == nil {
			t.Error("last_used_at was not flushed to the store at shutdown")
		}
		again.mustChat(fresh.Token) // keys survive a restart
	})
}

func TestRolesNeverGrantMoreThanTheyHold(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		owner := g.createKey(acmeOwnerToken, `{"role":"owner","name":"second owner"}`)

		// An admin mints up to its own rank, in its own workspace only.
		status, body := g.call("POST", "/api/gateway-keys", acmeAdminToken, `{"role":"owner"}`)
		expectJSONError(t, "admin mints owner", status, body, 403, "cannot create a key with a role above your own (admin)")
		g.createKey(acmeAdminToken, `{"role":"admin"}`)
		callOK[tenancy.WorkspaceInfo](g, "POST", "/api/workspaces", acmeOwnerToken, `{"id":"staging","name":"Staging"}`, 201)
		status, body = g.call("POST", "/api/gateway-keys", acmeAdminToken, `{"role":"viewer","workspace_id":"staging"}`)
		expectJSONError(t, "admin mints in another workspace", status, body, 403, keyauth.MsgForbidden)
		staging := g.createKey(acmeOwnerToken, `{"role":"developer","workspace_id":"staging"}`)
		expect(t, "owner mints in any workspace of its org", staging.WorkspaceID, "staging")

		// ... and never rotates or revokes above its rank.
		status, body = g.call("POST", "/api/gateway-keys/"+owner.ID+"/rotate", acmeAdminToken, "")
		expectJSONError(t, "admin rotates owner", status, body, 403, "cannot rotate a key with a role above your own (admin)")
		status, body = g.call("DELETE", "/api/gateway-keys/"+owner.ID, acmeAdminToken, "")
		expectJSONError(t, "admin revokes owner", status, body, 403, "cannot revoke a key with a role above your own (admin)")
		status, body = g.call("POST", "/api/gateway-keys/"+staging.ID+"/rotate", acmeAdminToken, "")
		expectJSONError(t, "admin rotates another workspace's key", status, body, 404, tenancy.MsgKeyNotFound)

		// Extra permissions add, but only what the granter holds.
		mgr := g.createKey(acmeAdminToken, `{"role":"developer","permissions":["keys:manage"]}`)
		expect(t, "extra permissions", strings.Join(mgr.Permissions, ","), "keys:manage")
		g.createKey(mgr.Token, `{"role":"member"}`)
		status, body = g.call("POST", "/api/gateway-keys", mgr.Token, `{"role":"viewer","permissions":["audit:read"]}`)
		expectJSONError(t, "grant a permission not held", status, body, 403, tenancy.MsgPermsNotHeld)
		status, body = g.call("POST", "/api/gateway-keys", mgr.Token, `{"role":"admin"}`)
		expectJSONError(t, "developer mints admin", status, body, 403, "cannot create a key with a role above your own (developer)")
		status, body = g.call("POST", "/api/gateway-keys/"+mgr.ID+"/rotate", acmeAdminToken, "")
		expect(t, "admin rotates a key whose extras it holds", status, 200)

		// Read scope: a workspace is a tenant; an owner may pick one of its org.
		status, body = g.call("GET", "/api/gateway-keys?workspace_id=staging", acmeAdminToken, "")
		expectJSONError(t, "admin reads another workspace", status, body, 403, keyauth.MsgForbidden)
		keys := callOK[keyList](g, "GET", "/api/gateway-keys?workspace_id=staging", acmeOwnerToken, "", 200)
		if len(keys.Items) != 1 || keys.Items[0].ID != staging.ID {
			t.Errorf("owner's view of staging: %+v", keys.Items)
		}
		keys = callOK[keyList](g, "GET", "/api/gateway-keys", acmeAdminToken, "", 200)
		for _, k := range keys.Items {
			if k.WorkspaceID != "prod" {
				t.Errorf("admin sees key %s of workspace %s", k.ID, k.WorkspaceID)
			}
		}
		g.mustChat(staging.Token)
		g.tracesAs(staging.Token, 1)
		g.tracesAs(acmeAdminToken, 0) // prod sees none of staging's traces
		if tr := callOK[struct {
			Items []trace.Record `json:"items"`
		}](g, "GET", "/api/traces?workspace_id=staging", acmeOwnerToken, "", 200); len(tr.Items) != 1 {
			t.Errorf("owner sees %d staging traces, want 1", len(tr.Items))
		}

		// Workspaces: rename, and deletion refused while keys are active.
		ws := callOK[tenancy.WorkspaceInfo](g, "PATCH", "/api/workspaces/staging", acmeOwnerToken, `{"name":"Pre-prod"}`, 200)
		expect(t, "renamed workspace", ws.Name, "Pre-prod")
		status, body = g.call("PATCH", "/api/workspaces/staging", acmeOwnerToken, `{"name":"  "}`)
		expectJSONError(t, "empty name", status, body, 400, tenancy.MsgNameRequired)
		status, body = g.call("DELETE", "/api/workspaces/staging", acmeOwnerToken, "")
		expectJSONError(t, "delete workspace with keys", status, body, 409, tenancy.MsgWorkspaceHasKeys)
		callOK[tenancy.KeyInfo](g, "DELETE", "/api/gateway-keys/"+staging.ID, acmeOwnerToken, "", 200)
		if status, body := g.call("DELETE", "/api/workspaces/staging", acmeOwnerToken, ""); status != 204 {
			t.Errorf("delete empty workspace: %d %s", status, body)
		}
		status, body = g.call("POST", "/api/workspaces", acmeOwnerToken, `{"id":"prod"}`)
		expectJSONError(t, "duplicate workspace", status, body, 409, tenancy.MsgWorkspaceExists)
		status, body = g.call("POST", "/api/workspaces", acmeOwnerToken, `{"id":"bad/id"}`)
		expectJSONError(t, "bad workspace id", status, body, 400,
			"workspace id must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
		wss := callOK[struct {
			Items []tenancy.WorkspaceInfo `json:"items"`
		}](g, "GET", "/api/workspaces", acmeOwnerToken, "", 200)
		if len(wss.Items) != 1 || wss.Items[0].ID != "prod" {
			t.Errorf("workspaces: %+v", wss.Items)
		}

		// Organizations: an owner renames its own; creation is the CLI's.
		orgs := callOK[struct {
			Items []tenancy.OrgInfo `json:"items"`
		}](g, "GET", "/api/orgs", acmeOwnerToken, "", 200)
		if len(orgs.Items) != 1 || orgs.Items[0].ID != "acme" {
			t.Errorf("owner sees orgs %+v, want only acme", orgs.Items)
		}
		org := callOK[tenancy.OrgInfo](g, "PATCH", "/api/orgs/acme", acmeOwnerToken, `{"name":"Acme Corp"}`, 200)
		expect(t, "renamed org", org.Name, "Acme Corp")
		status, body = g.call("POST", "/api/orgs", acmeOwnerToken, `{"id":"initech"}`)
		expectJSONError(t, "create org via API", status, body, 403, tenancy.MsgOrgCreateViaCLI)
		status, body = g.call("DELETE", "/api/orgs/acme", acmeOwnerToken, "")
		expectJSONError(t, "delete org with workspaces", status, body, 409, tenancy.MsgOrgHasWorkspaces)
		status, body = g.call("PATCH", "/api/orgs/acme", mgr.Token, `{"name":"x"}`)
		expectJSONError(t, "developer renames org", status, body, 403, keyauth.MsgForbidden)
	})
}

func TestTenantsNeverSeeEachOther(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		g.mustChat(acmeOwnerToken)
		g.mustChat(globexOwnerToken)
		acmeTrace := g.tracesAs(acmeOwnerToken, 1)[0]
		globexTrace := g.tracesAs(globexOwnerToken, 1)[0]
		expect(t, "acme trace org", acmeTrace.OrgID, "acme")
		expect(t, "globex trace org", globexTrace.OrgID, "globex")

		// Another tenant's trace is exactly as absent as a missing one.
		statusOther, bodyOther := g.call("GET", "/api/traces/"+acmeTrace.ID, globexOwnerToken, "")
		statusMissing, bodyMissing := g.call("GET", "/api/traces/00000000-0000-7000-8000-000000000000", globexOwnerToken, "")
		expectJSONError(t, "other tenant's trace", statusOther, bodyOther, 404, "trace not found")
		expect(t, "same answer as a missing trace", bodyOther, bodyMissing)
		expect(t, "same status as a missing trace", statusOther, statusMissing)
		// Naming the other org's workspace reaches nothing.
		if tr := callOK[struct {
			Items []trace.Record `json:"items"`
		}](g, "GET", "/api/traces?workspace_id=prod", globexOwnerToken, "", 200); len(tr.Items) != 0 {
			t.Errorf("globex reads acme's workspace: %d traces", len(tr.Items))
		}

		// Keys.
		acmeKey := g.createKey(acmeOwnerToken, `{"role":"developer"}`)
		for _, k := range callOK[keyList](g, "GET", "/api/gateway-keys", globexOwnerToken, "", 200).Items {
			if k.OrgID != "globex" {
				t.Errorf("globex lists key %s of org %s", k.ID, k.OrgID)
			}
		}
		for _, r := range [][3]string{
			{"GET", "/api/gateway-keys/" + acmeKey.ID, ""},
			{"POST", "/api/gateway-keys/" + acmeKey.ID + "/rotate", ""},
			{"DELETE", "/api/gateway-keys/" + acmeKey.ID, ""},
		} {
			status, body := g.call(r[0], r[1], globexOwnerToken, r[2])
			expectJSONError(t, "globex: "+r[0]+" "+r[1], status, body, 404, tenancy.MsgKeyNotFound)
		}
		status, body := g.call("POST", "/api/gateway-keys", globexOwnerToken, `{"role":"owner","workspace_id":"prod"}`)
		expectJSONError(t, "globex mints in acme's workspace", status, body, 404, tenancy.MsgWorkspaceNotFound)
		for _, r := range [][3]string{
			{"PATCH", "/api/workspaces/prod", `{"name":"pwned"}`},
			{"DELETE", "/api/workspaces/prod", ""},
		} {
			status, body := g.call(r[0], r[1], globexOwnerToken, r[2])
			expectJSONError(t, "globex: "+r[0]+" "+r[1], status, body, 404, tenancy.MsgWorkspaceNotFound)
		}
		status, body = g.call("PATCH", "/api/orgs/acme", globexOwnerToken, `{"name":"pwned"}`)
		expectJSONError(t, "globex renames acme", status, body, 404, tenancy.MsgOrgNotFound)
		g.mustChat(acmeKey.Token) // untouched by all of that

		// Audit: each tenant reads its own events, and the attempts on acme's
		// resources are in globex's log, not in acme's.
		globexEvents := g.auditAs(globexOwnerToken, "", func(evs []auditItem) bool {
			return has(evs, "key.revoke", "gateway_key:"+acmeKey.ID, "denied") && has(evs, "org.rename", "org:acme", "denied")
		})
		acmeEvents := g.auditAs(acmeOwnerToken, "", func(evs []auditItem) bool {
			return has(evs, "key.create", "gateway_key:"+acmeKey.ID, "ok")
		})
		for _, e := range globexEvents {
			if e.OrgID != "globex" {
				t.Errorf("globex reads an event of org %q: %+v", e.OrgID, e)
			}
		}
		for _, e := range acmeEvents {
			if e.OrgID != "acme" || e.ActorKeyID == "globex-owner" {
				t.Errorf("acme reads a foreign event: %+v", e)
			}
		}
	})
}

func TestAuditRecordsDenialsAndChangesWithPagination(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		k := g.createKey(acmeOwnerToken, `{"role":"viewer","name":"dashboards"}`)
		status, _ := g.do("POST", "/openai/v1/chat/completions", chatBody,
			map[string]string{gatewayHeader: k.Token, "Authorization": "Bearer " + openAIKey, "X-Request-ID": "req-viewer-1"})
		expect(t, "viewer proxies", status, 403)
		// A path that is not valid UTF-8 (or holds NUL) still makes an
		// event the store accepts.
		status, _ = g.do("GET", "/openai/%ff%00x", "", map[string]string{gatewayHeader: k.Token, "Authorization": "Bearer " + openAIKey})
		expect(t, "viewer proxies a strange path", status, 403)
		callOK[tenancy.IssuedKey](g, "POST", "/api/gateway-keys/"+k.ID+"/rotate", acmeOwnerToken, "", 200)
		callOK[tenancy.KeyInfo](g, "DELETE", "/api/gateway-keys/"+k.ID, acmeOwnerToken, "", 200)
		g.do("GET", "/api/traces", "", map[string]string{gatewayHeader: k.Token, "X-Request-ID": "req-revoked-1"})

		evs := g.auditAs(acmeOwnerToken, "", func(evs []auditItem) bool { return len(evs) == 5 })
		if !has(evs, "auth.deny", "route:GET /openai/\ufffd\ufffdx", "denied") {
			t.Errorf("no sanitized event for the strange path: %+v", evs)
		}
		var deny *auditItem
		for i, e := range evs {
			if e.RequestID == "req-viewer-1" {
				deny = &evs[i]
			}
		}
		if deny == nil {
			t.Fatalf("no audit event for the viewer's proxied call: %+v", evs)
		}
		expect(t, "deny action", deny.Action, "auth.deny")
		expect(t, "deny actor", deny.ActorKeyID, k.ID)
		expect(t, "deny target", deny.Target, "route:POST /openai/v1/chat/completions")
		expect(t, "deny outcome", deny.Outcome, "denied")
		expect(t, "deny reason", deny.Reason, "missing permission proxy:write in workspace prod")
		expect(t, "deny client ip", deny.ClientIP, "127.0.0.1")
		for _, want := range []string{"key.create", "key.rotate", "key.revoke"} {
			if !has(evs, want, "gateway_key:"+k.ID, "ok") {
				t.Errorf("no %s event for %s: %+v", want, k.ID, evs)
			}
		}
		// The revoked key's later call is an anonymous denial: nothing ties
		// an unknown token to a tenant, so acme does not see it ...
		if slices.ContainsFunc(evs, func(e auditItem) bool { return e.RequestID == "req-revoked-1" }) {
			t.Error("acme sees the denial of an unknown token")
		}

		// Pagination walks every event once, newest first.
		all := map[string]bool{}
		var last time.Time
		cursor := ""
		for pages := 0; ; pages++ {
			q := "/api/audit?limit=2"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			page := callOK[auditPage](g, "GET", q, acmeOwnerToken, "", 200)
			for _, e := range page.Items {
				if all[e.ID] {
					t.Fatalf("event %s on two pages", e.ID)
				}
				if !last.IsZero() && e.Time.After(last) {
					t.Errorf("events out of order: %v after %v", e.Time, last)
				}
				all[e.ID], last = true, e.Time
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
			if pages > 100 {
				t.Fatal("pagination does not end")
			}
		}
		if len(all) != len(evs) {
			t.Errorf("pagination saw %d events, a single page %d", len(all), len(evs))
		}
		creates := callOK[auditPage](g, "GET", "/api/audit?action=key.create", acmeOwnerToken, "", 200)
		if len(creates.Items) != 1 || creates.Items[0].Target != "gateway_key:"+k.ID {
			t.Errorf("action filter: %+v", creates.Items)
		}
		status, body := g.call("GET", "/api/audit?cursor=nope", acmeOwnerToken, "")
		expectJSONError(t, "bad cursor", status, body, 400, `invalid parameter "cursor": must be a next_cursor value returned by this endpoint`)
		status, body = g.call("GET", "/api/audit", acmeAdminToken, "")
		expect(t, "admin reads audit", status, 200)
		status, body = g.call("GET", "/api/audit", k.Token, "")
		expectJSONError(t, "revoked key reads audit", status, body, 401, keyauth.MsgUnauthorized)
	})
}

// TestRevocationAndRotationReachEveryReplica runs two gateways on one
// Postgres: what one changes holds on the other without waiting for the
// periodic reload (30s), through the store's change notifications.
func TestRevocationAndRotationReachEveryReplica(t *testing.T) {
	dsn := testdb.PostgresDSN(t)
	share := func(c *config.Config) { c.Storage.DSN = dsn }
	a := startGateway(t, config.DriverPostgres, withAuth, share)
	dev := a.createKey(acmeOwnerToken, `{"role":"developer"}`)
	b := startGateway(t, config.DriverPostgres, withAuth, share)
	bStarted := time.Now()
	b.mustChat(dev.Token)
	// The key cache reloads a few times in its first seconds, to cover
	// changes made before its subscription took effect. Wait those out, so
	// that what follows can only reach B through the change notification.
	time.Sleep(time.Until(bStarted.Add(3 * time.Second)))

	late := a.createKey(acmeOwnerToken, `{"role":"developer"}`)
	took := eventually(t, "replica B accepts a key created on A", func() bool { s, _ := b.chat(late.Token); return s == 200 })
	t.Logf("creation reached replica B after %v", took)

	rot := callOK[tenancy.IssuedKey](a, "POST", "/api/gateway-keys/"+dev.ID+"/rotate", acmeOwnerToken, `{"grace_seconds":0}`, 200)
	took = eventually(t, "replica B refuses the rotated-out token", func() bool { s, _ := b.chat(dev.Token); return s == 401 })
	t.Logf("rotation reached replica B after %v", took)
	b.mustChat(rot.Token)

	callOK[tenancy.KeyInfo](a, "DELETE", "/api/gateway-keys/"+dev.ID, acmeOwnerToken, "", 200)
	took = eventually(t, "replica B refuses the revoked key", func() bool { s, _ := b.chat(rot.Token); return s == 401 })
	t.Logf("revocation reached replica B after %v", took)
	status, body := a.chat(rot.Token)
	expectJSONError(t, "revoked on A", status, body, 401, keyauth.MsgUnauthorized)
	b.mustChat(late.Token)
}

// TestKeyChangesByTheCLIReachARunningGateway: an operator creates, rotates
// (grace 0) and revokes keys with the CLI, a separate process on the same
// store, while a gateway serves. On both stores the gateway follows within
// about a second, through the store's change signal rather than its
// periodic reload (30s, beyond this test's deadlines).
func TestKeyChangesByTheCLIReachARunningGateway(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		started := time.Now()
		// The CLI's code path: its own store handle and service.
		cli, closeCLI, err := app.OpenKeyService(t.Context(), g.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeCLI(context.Background())
		op := tenancy.OperatorActor()
		// The key cache reloads a few times in its first seconds, to cover
		// changes made before its watch began. Wait those out, so that what
		// follows can only reach the gateway through the change signal.
		time.Sleep(time.Until(started.Add(3 * time.Second)))

		within := func(what string, cond func() bool) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for !cond() {
				if time.Now().After(deadline) {
					t.Fatalf("the gateway did not see %s within 5s", what)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		k, err := cli.CreateKey(t.Context(), op, tenancy.NewKey{Role: "developer", OrgID: "acme", WorkspaceID: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		within("a key the CLI created", func() bool { s, _ := g.chat(k.Token); return s == 200 })

		rot, err := cli.RotateKey(t.Context(), op, k.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		within("a rotation with no grace", func() bool { s, _ := g.chat(k.Token); return s == 401 })
		g.mustChat(rot.Token)

		if _, err := cli.RevokeKey(t.Context(), op, k.ID); err != nil {
			t.Fatal(err)
		}
		within("a revocation", func() bool { s, _ := g.chat(rot.Token); return s == 401 })
		g.mustChat(acmeOwnerToken)
	})
}

// TestBogusKeyFloodLeavesBoundedAuditRows: a client hammers the gateway
// with made-up keys. Every request is refused and counted, but the audit
// log grows by one event per source and minute, not one per request.
func TestBogusKeyFloodLeavesBoundedAuditRows(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		g := startGateway(t, driver, withAuth)
		const requests, workers = 600, 8
		first := time.Now().UTC()
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := w; i < requests; i += workers {
					bogus := fmt.Sprintf("ogw_bogus%038d", i)
					if s, _ := g.chat(bogus); s != http.StatusUnauthorized {
						t.Errorf("bogus key %d: status %d", i, s)
					}
				}
			})
		}
		wg.Wait()
		last := time.Now().UTC()

		// Unknown keys belong to no tenant: read the log as the operator.
		cli, closeCLI, err := app.OpenKeyService(t.Context(), g.cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer closeCLI(context.Background())
		var evs []store.AuditEvent
		eventually(t, "the aggregated counts add up", func() bool {
			evs, _, err = cli.ListAudit(t.Context(), store.AuditFilter{Action: auditlog.ActionAuthDeny, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, e := range evs {
				sum += e.EventCount()
			}
			if sum > requests {
				t.Fatalf("audit counts %d denials, more than the %d requests", sum, requests)
			}
			return sum == requests
		})
		// One event per minute the flood touched (two if it crossed one).
		minutes := int(last.Truncate(time.Minute).Sub(first.Truncate(time.Minute))/time.Minute) + 1
		if len(evs) > minutes {
			t.Errorf("%d audit events for %d denials over %d minute(s), want at most %d", len(evs), requests, minutes, minutes)
		}
		for _, e := range evs {
			if e.ClientIP != "127.0.0.1" || e.Reason != keyauth.ReasonUnknownKey || e.Target != "route:POST /openai/v1/chat/completions" || e.OrgID != "" {
				t.Errorf("aggregated event: %+v", e)
			}
		}
	})
}
