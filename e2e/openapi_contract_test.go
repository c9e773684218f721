package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/ongoingai/gateway/internal/api"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/tenancy"
	"github.com/ongoingai/gateway/internal/trace"
	"github.com/ongoingai/gateway/openapi"
)

// The OpenAPI contract: every /api route of the running gateway's route
// table is called for real, through the full handler chain with gateway
// keys on, and every request and every answer is validated against
// openapi/openapi.yaml (status, content type, body schema, error message).
// The data comes from the API itself: keys and workspaces are made with it,
// the traces by proxying calls to the fake upstream.
//
// A route of the table with no case here fails the test, and so does a
// status the spec documents for a route that no case reaches (unless the
// route's entry says why it cannot be reached), so a route or a response
// added to code or spec without the other breaks the build.
//
// To cover a new route, add a contractRoute to contractRoutes: its cases
// run in order, after the shared fixtures of newContract exist; a cases
// function may make more fixtures of its own through c.fixture.

// contractCase is one request and the status it must get.
type contractCase struct {
	name  string
	path  string // with the query; the method is the route's
	token string // gateway key; empty for none
	body  string // JSON request body; empty for none
	want  int
	// specInvalid says the request itself breaks the spec (no gateway key,
	// a parameter outside its schema, a body the schema refuses): the
	// validator must reject it too, which shows the spec states the rule
	// the server enforced.
	specInvalid bool
}

// contractRoute holds the cases of one route of the table.
type contractRoute struct {
	method, pattern string
	// unreached lists the documented statuses no case can reach, with the
	// reason. 500 (a failing store) is never required.
	unreached map[int]string
	cases     func(c *contract) []contractCase
}

// contractRoutes is the contract table: one entry per /api route.
var contractRoutes = []contractRoute{
	{method: "GET", pattern: "/", cases: func(c *contract) []contractCase {
		return []contractCase{{name: "identity", path: "/", want: 200}}
	}},
	{method: "GET", pattern: "/api/health", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "healthy", path: "/api/health", want: 200},
			{name: "ready", path: "/api/health?ready=1", want: 200},
			{name: "ready not a boolean", path: "/api/health?ready=maybe", want: 400, specInvalid: true},
		}
	}},
	{method: "GET", pattern: "/api/openapi.yaml", cases: func(c *contract) []contractCase {
		return []contractCase{{name: "the document", path: "/api/openapi.yaml", want: 200}}
	}},

	// ---- traces and diagnostics (analytics:read) ----
	{method: "GET", pattern: "/api/traces", cases: func(c *contract) []contractCase {
		filtered := "/api/traces?limit=1&provider=openai&model=gpt-4o-mini&status=200&api_key_hash=" + c.providerKeyHash +
			"&from=2020-01-01&to=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		c.fixture("GET", filtered, c.owner, "", 200, &page)
		if page.NextCursor == "" {
			c.t.Fatalf("GET %s: no next_cursor, with several matching traces and limit=1", filtered)
		}
		return []contractCase{
			{name: "list", path: "/api/traces", token: c.owner, want: 200},
			{name: "every filter", path: filtered, token: c.viewer, want: 200},
			{name: "next page", path: "/api/traces?limit=1&cursor=" + page.NextCursor, token: c.viewer, want: 200},
			{name: "another workspace, owner", path: "/api/traces?workspace_id=staging", token: c.owner, want: 200},
			{name: "limit below 1", path: "/api/traces?limit=0", token: c.owner, want: 400, specInvalid: true},
			{name: "status out of range", path: "/api/traces?status=1", token: c.owner, want: 400, specInvalid: true},
			{name: "api_key_hash not a SHA-256", path: "/api/traces?api_key_hash=x", token: c.owner, want: 400, specInvalid: true},
			{name: "from not a time", path: "/api/traces?from=x", token: c.owner, want: 400},
			{name: "to before from", path: "/api/traces?from=2026-02-01&to=2026-01-01", token: c.owner, want: 400},
			{name: "cursor not ours", path: "/api/traces?cursor=!", token: c.owner, want: 400},
			{name: "no key", path: "/api/traces", want: 401, specInvalid: true},
			{name: "unknown key", path: "/api/traces", token: unknownToken, want: 401},
			{name: "workspace out of the key's reach", path: "/api/traces?workspace_id=staging", token: c.viewer, want: 403},
		}
	}},
	{method: "GET", pattern: "/api/traces/{id}", cases: func(c *contract) []contractCase {
		var cases []contractCase
		for _, tr := range c.traces {
			cases = append(cases, contractCase{name: fmt.Sprintf("%s %s %d stream=%v", tr.Provider, tr.Model, tr.ResponseStatus, tr.Streaming),
				path: "/api/traces/" + tr.ID, token: c.viewer, want: 200})
		}
		return append(cases, []contractCase{
			{name: "unknown id", path: "/api/traces/no-such-trace", token: c.owner, want: 404},
			{name: "another tenant's trace", path: "/api/traces/" + c.traceID, token: globexOwnerToken, want: 404},
			{name: "no key", path: "/api/traces/" + c.traceID, want: 401, specInvalid: true},
			{name: "workspace out of the key's reach", path: "/api/traces/" + c.traceID + "?workspace_id=staging", token: c.viewer, want: 403},
		}...)
	}},
	{method: "GET", pattern: "/api/diagnostics/trace-pipeline", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "counters, operator", path: "/api/diagnostics/trace-pipeline", token: operatorToken, want: 200},
			{name: "no key", path: "/api/diagnostics/trace-pipeline", want: 401, specInvalid: true},
			{name: "tenant role: viewer", path: "/api/diagnostics/trace-pipeline", token: c.viewer, want: 403},
			{name: "tenant role: owner", path: "/api/diagnostics/trace-pipeline", token: c.owner, want: 403},
		}
	}},

	// ---- gateway keys (keys:manage) ----
	{method: "GET", pattern: "/api/gateway-keys", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "own workspace", path: "/api/gateway-keys", token: c.admin, want: 200},
			{name: "another workspace, owner", path: "/api/gateway-keys?workspace_id=staging", token: c.owner, want: 200},
			{name: "no key", path: "/api/gateway-keys", want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/gateway-keys", token: c.viewer, want: 403},
			{name: "workspace out of the key's reach", path: "/api/gateway-keys?workspace_id=staging", token: c.admin, want: 403},
		}
	}},
	{method: "POST", pattern: "/api/gateway-keys", cases: func(c *contract) []contractCase {
		future := time.Now().Add(240 * time.Hour).UTC().Format(time.RFC3339)
		return []contractCase{
			{name: "every field", path: "/api/gateway-keys", token: c.owner, want: 201,
				body: `{"name":"ci","role":"developer","workspace_id":"staging","expires_at":"` + future + `","permissions":["audit:read"]}`},
			{name: "role only, by an admin", path: "/api/gateway-keys", token: c.admin, body: `{"role":"viewer"}`, want: 201},
			{name: "no role", path: "/api/gateway-keys", token: c.owner, body: `{"name":"x"}`, want: 400, specInvalid: true},
			{name: "unknown role", path: "/api/gateway-keys", token: c.owner, body: `{"role":"root"}`, want: 400, specInvalid: true},
			{name: "expiry in the past", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","expires_at":"2020-01-01T00:00:00Z"}`, want: 400},
			{name: "expiry not RFC3339", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","expires_at":"tomorrow"}`, want: 400, specInvalid: true},
			{name: "unknown permission", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","permissions":["keys:*"]}`, want: 400, specInvalid: true},
			{name: "malformed workspace_id", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","workspace_id":"no spaces"}`, want: 400},
			{name: "unknown field", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","expires":"1h"}`, want: 400, specInvalid: true},
			{name: "wrong JSON type", path: "/api/gateway-keys", token: c.owner, body: `{"role":5}`, want: 400, specInvalid: true},
			// Not specInvalid: kin-openapi decodes only the first JSON value.
			{name: "two JSON values", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer"} {}`, want: 400},
			{name: "name too long", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","name":"` + strings.Repeat("n", 201) + `"}`, want: 400, specInvalid: true},
			{name: "control character in name", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","name":"a\u0007b"}`, want: 400},
			{name: "no key", path: "/api/gateway-keys", body: `{"role":"viewer"}`, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/gateway-keys", token: c.viewer, body: `{"role":"viewer"}`, want: 403},
			{name: "role above the caller's", path: "/api/gateway-keys", token: c.admin, body: `{"role":"owner"}`, want: 403},
			{name: "permission the caller lacks", path: "/api/gateway-keys", token: c.admin, body: `{"role":"viewer","permissions":["workspaces:manage"]}`, want: 403},
			{name: "unknown workspace", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","workspace_id":"nowhere"}`, want: 404},
			{name: "another organization's workspace", path: "/api/gateway-keys", token: c.owner, body: `{"role":"viewer","workspace_id":"main"}`, want: 404},
		}
	}},
	{method: "GET", pattern: "/api/gateway-keys/{id}", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "a minted key", path: "/api/gateway-keys/" + c.viewerID, token: c.admin, want: 200},
			{name: "a static key", path: "/api/gateway-keys/acme-admin", token: c.owner, want: 200},
			{name: "a rotating key", path: "/api/gateway-keys/" + c.rotatingID, token: c.owner, want: 200},
			{name: "another workspace, owner", path: "/api/gateway-keys/" + c.stagingKeyID + "?workspace_id=staging", token: c.owner, want: 200},
			{name: "unknown id", path: "/api/gateway-keys/gk_nope", token: c.owner, want: 404},
			{name: "another organization's key", path: "/api/gateway-keys/globex-owner", token: c.owner, want: 404},
			{name: "no key", path: "/api/gateway-keys/" + c.viewerID, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/gateway-keys/" + c.viewerID, token: c.viewer, want: 403},
		}
	}},
	{method: "POST", pattern: "/api/gateway-keys/{id}/rotate", cases: func(c *contract) []contractCase {
		a := c.mintKey(c.owner, `{"role":"developer"}`).ID
		b := c.mintKey(c.owner, `{"role":"developer"}`).ID
		d := c.mintKey(c.owner, `{"role":"developer"}`).ID
		owner := c.mintKey(c.owner, `{"role":"owner"}`).ID
		extras := c.mintKey(c.owner, `{"role":"developer","permissions":["workspaces:manage"]}`).ID
		c.waitExpired()
		rotate := func(id string) string { return "/api/gateway-keys/" + id + "/rotate" }
		return []contractCase{
			{name: "default grace", path: rotate(a), token: c.owner, want: 200},
			{name: "grace_period", path: rotate(b), token: c.admin, body: `{"grace_period":"90m"}`, want: 200},
			{name: "grace_seconds", path: rotate(d), token: c.owner, body: `{"grace_seconds":0}`, want: 200},
			{name: "both grace fields", path: rotate(a), token: c.owner, body: `{"grace_period":"1h","grace_seconds":60}`, want: 400},
			{name: "grace_period not a duration", path: rotate(a), token: c.owner, body: `{"grace_period":"soon"}`, want: 400},
			{name: "grace_seconds above 30 days", path: rotate(a), token: c.owner, body: `{"grace_seconds":99999999}`, want: 400, specInvalid: true},
			{name: "grace_period above 30 days", path: rotate(a), token: c.owner, body: `{"grace_period":"1000h"}`, want: 400},
			{name: "negative grace_period", path: rotate(a), token: c.owner, body: `{"grace_period":"-1h"}`, want: 400},
			{name: "unknown field", path: rotate(a), token: c.owner, body: `{"grace":"1h"}`, want: 400, specInvalid: true},
			{name: "no key", path: rotate(a), want: 401, specInvalid: true},
			{name: "role without keys:manage", path: rotate(a), token: c.viewer, want: 403},
			{name: "role above the caller's", path: rotate(owner), token: c.admin, want: 403},
			{name: "permission the caller lacks", path: rotate(extras), token: c.admin, want: 403},
			{name: "unknown id", path: rotate("gk_nope"), token: c.owner, want: 404},
			{name: "static key", path: rotate("acme-admin"), token: c.owner, want: 409},
			{name: "revoked key", path: rotate(c.revokedID), token: c.owner, want: 409},
			{name: "expired key", path: rotate(c.expiredID), token: c.owner, want: 409},
		}
	}},
	{method: "GET", pattern: "/api/gateway-keys/{id}/limits", cases: func(c *contract) []contractCase {
		dev := c.mintKey(c.owner, `{"role":"developer"}`).ID
		limits := "/api/gateway-keys/" + dev + "/limits"
		return []contractCase{
			{name: "owner", path: limits, token: c.owner, want: 200},
			{name: "admin of the key's workspace", path: limits, token: c.admin, want: 200},
			{name: "static key", path: "/api/gateway-keys/acme-admin/limits", token: c.owner, want: 200},
			{name: "no key", path: limits, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: limits, token: c.viewer, want: 403},
			{name: "unknown id", path: "/api/gateway-keys/gk_nope/limits", token: c.owner, want: 404},
		}
	}},
	{method: "PUT", pattern: "/api/gateway-keys/{id}/limits", cases: func(c *contract) []contractCase {
		dev := c.mintKey(c.owner, `{"role":"developer"}`).ID
		limits := "/api/gateway-keys/" + dev + "/limits"
		return []contractCase{
			{name: "every limit", path: limits, token: c.owner, body: `{"requests_per_minute":600,"tokens_per_minute":100000,"tokens_per_day":0,"usd_per_day":2.5,"usd_per_month":null}`, want: 200},
			{name: "back to the defaults", path: limits, token: c.admin, body: `{}`, want: 200},
			{name: "no body", path: limits, token: c.owner, want: 200},
			{name: "negative", path: limits, token: c.owner, body: `{"usd_per_day":-1}`, want: 400, specInvalid: true},
			{name: "too large", path: limits, token: c.owner, body: `{"usd_per_month":2e9}`, want: 400, specInvalid: true},
			{name: "unknown field", path: limits, token: c.owner, body: `{"usd_per_week":1}`, want: 400, specInvalid: true},
			{name: "no key", path: limits, body: `{}`, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: limits, token: c.viewer, body: `{}`, want: 403},
			{name: "unknown id", path: "/api/gateway-keys/gk_nope/limits", token: c.owner, body: `{}`, want: 404},
		}
	}},
	{method: "DELETE", pattern: "/api/gateway-keys/{id}", cases: func(c *contract) []contractCase {
		victim := c.mintKey(c.owner, `{"role":"viewer"}`).ID
		owner := c.mintKey(c.owner, `{"role":"owner"}`).ID
		return []contractCase{
			{name: "revoke", path: "/api/gateway-keys/" + victim, token: c.admin, want: 200},
			{name: "revoke again", path: "/api/gateway-keys/" + victim, token: c.admin, want: 200},
			{name: "no key", path: "/api/gateway-keys/" + victim, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/gateway-keys/" + victim, token: c.viewer, want: 403},
			{name: "role above the caller's", path: "/api/gateway-keys/" + owner, token: c.admin, want: 403},
			{name: "unknown id", path: "/api/gateway-keys/gk_nope", token: c.owner, want: 404},
			{name: "static key", path: "/api/gateway-keys/acme-admin", token: c.owner, want: 409},
		}
	}},

	// ---- organizations (workspaces:manage; changes need an owner) ----
	{method: "GET", pattern: "/api/orgs", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "own organization", path: "/api/orgs", token: c.owner, want: 200},
			{name: "no key", path: "/api/orgs", want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/orgs", token: c.admin, want: 403},
		}
	}},
	{method: "POST", pattern: "/api/orgs", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "refused: the CLI creates organizations", path: "/api/orgs", token: c.owner, body: `{"id":"initech","name":"Initech"}`, want: 403},
			{name: "refused without a body", path: "/api/orgs", token: c.owner, want: 403},
			{name: "unknown field", path: "/api/orgs", token: c.owner, body: `{"expires":1}`, want: 400, specInvalid: true},
			{name: "no key", path: "/api/orgs", body: `{"id":"initech"}`, want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/orgs", token: c.admin, body: `{"id":"initech"}`, want: 403},
		}
	}},
	{method: "PATCH", pattern: "/api/orgs/{id}", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "rename", path: "/api/orgs/acme", token: c.owner, body: `{"name":"Acme Corp"}`, want: 200},
			{name: "no name", path: "/api/orgs/acme", token: c.owner, body: `{}`, want: 400, specInvalid: true},
			{name: "empty name", path: "/api/orgs/acme", token: c.owner, body: `{"name":""}`, want: 400, specInvalid: true},
			{name: "blank name", path: "/api/orgs/acme", token: c.owner, body: `{"name":"  "}`, want: 400},
			{name: "name too long", path: "/api/orgs/acme", token: c.owner, body: `{"name":"` + strings.Repeat("n", 201) + `"}`, want: 400, specInvalid: true},
			{name: "control character in name", path: "/api/orgs/acme", token: c.owner, body: `{"name":"a\u0007b"}`, want: 400},
			{name: "unknown field", path: "/api/orgs/acme", token: c.owner, body: `{"name":"x","id":"y"}`, want: 400, specInvalid: true},
			{name: "no key", path: "/api/orgs/acme", body: `{"name":"x"}`, want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/orgs/acme", token: c.admin, body: `{"name":"x"}`, want: 403},
			{name: "not an owner", path: "/api/orgs/acme", token: c.wsAdmin, body: `{"name":"x"}`, want: 403},
			{name: "another organization", path: "/api/orgs/globex", token: c.owner, body: `{"name":"x"}`, want: 404},
		}
	}},
	{method: "DELETE", pattern: "/api/orgs/{id}", unreached: map[int]string{
		204: "the owner's own key keeps a workspace of its organization alive: only the operator (CLI) can empty an organization",
	}, cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "still has workspaces", path: "/api/orgs/acme", token: c.owner, want: 409},
			{name: "no key", path: "/api/orgs/acme", want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/orgs/acme", token: c.admin, want: 403},
			{name: "not an owner", path: "/api/orgs/acme", token: c.wsAdmin, want: 403},
			{name: "another organization", path: "/api/orgs/globex", token: c.owner, want: 404},
		}
	}},

	// ---- workspaces (workspaces:manage there) ----
	{method: "GET", pattern: "/api/workspaces", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "owner sees every workspace", path: "/api/workspaces", token: c.owner, want: 200},
			{name: "own organization by id", path: "/api/workspaces?org_id=acme", token: c.owner, want: 200},
			{name: "another organization by id", path: "/api/workspaces?org_id=globex", token: c.owner, want: 200},
			{name: "no key", path: "/api/workspaces", want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/workspaces", token: c.admin, want: 403},
		}
	}},
	{method: "POST", pattern: "/api/workspaces", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "every field", path: "/api/workspaces", token: c.owner, body: `{"id":"contract","name":"Contract","org_id":"acme"}`, want: 201},
			{name: "generated id", path: "/api/workspaces", token: c.owner, body: `{}`, want: 201},
			{name: "no body", path: "/api/workspaces", token: c.owner, want: 201},
			{name: "malformed id", path: "/api/workspaces", token: c.owner, body: `{"id":"no spaces"}`, want: 400},
			{name: "control character in name", path: "/api/workspaces", token: c.owner, body: `{"name":"a\u0007b"}`, want: 400},
			{name: "name too long", path: "/api/workspaces", token: c.owner, body: `{"name":"` + strings.Repeat("n", 201) + `"}`, want: 400, specInvalid: true},
			{name: "unknown field", path: "/api/workspaces", token: c.owner, body: `{"slug":"x"}`, want: 400, specInvalid: true},
			{name: "no key", path: "/api/workspaces", body: `{"id":"x"}`, want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/workspaces", token: c.admin, body: `{"id":"x"}`, want: 403},
			{name: "not an owner", path: "/api/workspaces", token: c.wsAdmin, body: `{"id":"x"}`, want: 403},
			{name: "another organization", path: "/api/workspaces", token: c.owner, body: `{"id":"x","org_id":"globex"}`, want: 404},
			{name: "id taken", path: "/api/workspaces", token: c.owner, body: `{"id":"prod"}`, want: 409},
		}
	}},
	{method: "PATCH", pattern: "/api/workspaces/{id}", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "rename", path: "/api/workspaces/staging", token: c.owner, body: `{"name":"Staging"}`, want: 200},
			{name: "rename own workspace with an extra permission", path: "/api/workspaces/prod", token: c.wsAdmin, body: `{"name":"Production"}`, want: 200},
			{name: "no name", path: "/api/workspaces/staging", token: c.owner, body: `{}`, want: 400, specInvalid: true},
			{name: "control character in name", path: "/api/workspaces/staging", token: c.owner, body: `{"name":"a\u0007b"}`, want: 400},
			{name: "name too long", path: "/api/workspaces/staging", token: c.owner, body: `{"name":"` + strings.Repeat("n", 201) + `"}`, want: 400, specInvalid: true},
			{name: "unknown field", path: "/api/workspaces/staging", token: c.owner, body: `{"name":"x","org_id":"acme"}`, want: 400, specInvalid: true},
			{name: "no key", path: "/api/workspaces/staging", body: `{"name":"x"}`, want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/workspaces/staging", token: c.admin, body: `{"name":"x"}`, want: 403},
			{name: "workspace out of the key's reach", path: "/api/workspaces/staging", token: c.wsAdmin, body: `{"name":"x"}`, want: 403},
			{name: "unknown workspace", path: "/api/workspaces/nowhere", token: c.owner, body: `{"name":"x"}`, want: 404},
			{name: "another organization's workspace", path: "/api/workspaces/main", token: c.owner, body: `{"name":"x"}`, want: 404},
		}
	}},
	{method: "GET", pattern: "/api/workspaces/{id}/limits", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "owner", path: "/api/workspaces/staging/limits", token: c.owner, want: 200},
			{name: "own organization by id", path: "/api/workspaces/prod/limits?org_id=acme", token: c.owner, want: 200},
			{name: "admin of the workspace", path: "/api/workspaces/prod/limits", token: c.admin, want: 200},
			{name: "no key", path: "/api/workspaces/prod/limits", want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/workspaces/prod/limits", token: c.viewer, want: 403},
			{name: "workspace out of the key's reach", path: "/api/workspaces/staging/limits", token: c.admin, want: 403},
			{name: "unknown workspace", path: "/api/workspaces/nowhere/limits", token: c.owner, want: 404},
			{name: "another organization's workspace", path: "/api/workspaces/main/limits?org_id=globex", token: c.owner, want: 404},
		}
	}},
	{method: "PUT", pattern: "/api/workspaces/{id}/limits", cases: func(c *contract) []contractCase {
		return []contractCase{
			{name: "set", path: "/api/workspaces/staging/limits", token: c.owner, body: `{"usd_per_month":100,"requests_per_minute":0}`, want: 200},
			{name: "admin of the workspace", path: "/api/workspaces/prod/limits?org_id=acme", token: c.admin, body: `{"tokens_per_day":1000000}`, want: 200},
			{name: "negative", path: "/api/workspaces/staging/limits", token: c.owner, body: `{"tokens_per_day":-1}`, want: 400, specInvalid: true},
			{name: "unknown field", path: "/api/workspaces/staging/limits", token: c.owner, body: `{"rpm":1}`, want: 400, specInvalid: true},
			{name: "no key", path: "/api/workspaces/staging/limits", body: `{}`, want: 401, specInvalid: true},
			{name: "role without keys:manage", path: "/api/workspaces/prod/limits", token: c.viewer, body: `{}`, want: 403},
			{name: "workspace out of the key's reach", path: "/api/workspaces/staging/limits", token: c.admin, body: `{}`, want: 403},
			{name: "unknown workspace", path: "/api/workspaces/nowhere/limits", token: c.owner, body: `{}`, want: 404},
		}
	}},
	{method: "DELETE", pattern: "/api/workspaces/{id}", cases: func(c *contract) []contractCase {
		c.fixture("POST", "/api/workspaces", c.owner, `{"id":"doomed"}`, 201, nil)
		return []contractCase{
			{name: "delete an empty workspace", path: "/api/workspaces/doomed", token: c.owner, want: 204},
			{name: "no key", path: "/api/workspaces/staging", want: 401, specInvalid: true},
			{name: "role without workspaces:manage", path: "/api/workspaces/staging", token: c.admin, want: 403},
			{name: "workspace out of the key's reach", path: "/api/workspaces/staging", token: c.wsAdmin, want: 403},
			{name: "unknown workspace", path: "/api/workspaces/doomed", token: c.owner, want: 404},
			{name: "another organization's workspace", path: "/api/workspaces/main", token: c.owner, want: 404},
			{name: "workspace with active keys", path: "/api/workspaces/prod", token: c.owner, want: 409},
		}
	}},

	// ---- audit (audit:read) ----
	{method: "GET", pattern: "/api/audit", cases: func(c *contract) []contractCase {
		var page struct {
			NextCursor string `json:"next_cursor"`
		}
		deadline := time.Now().Add(10 * time.Second)
		for page.NextCursor == "" { // the audit log is written asynchronously
			if time.Now().After(deadline) {
				c.t.Fatal("timed out waiting for two key.create audit events")
			}
			c.fixture("GET", "/api/audit?action=key.create&limit=1", c.owner, "", 200, &page)
			time.Sleep(10 * time.Millisecond)
		}
		return []contractCase{
			{name: "list", path: "/api/audit", token: c.admin, want: 200},
			{name: "every filter", path: "/api/audit?limit=1&action=key.create&from=2020-01-01&to=2099-12-31", token: c.owner, want: 200},
			{name: "next page", path: "/api/audit?action=key.create&limit=1&cursor=" + page.NextCursor, token: c.owner, want: 200},
			{name: "another workspace, owner", path: "/api/audit?workspace_id=staging", token: c.owner, want: 200},
			{name: "limit below 1", path: "/api/audit?limit=0", token: c.owner, want: 400, specInvalid: true},
			{name: "from not a time", path: "/api/audit?from=x", token: c.owner, want: 400},
			{name: "to before from", path: "/api/audit?from=2026-02-01&to=2026-01-01", token: c.owner, want: 400},
			{name: "cursor not ours", path: "/api/audit?cursor=!", token: c.owner, want: 400},
			{name: "no key", path: "/api/audit", want: 401, specInvalid: true},
			{name: "role without audit:read", path: "/api/audit", token: c.viewer, want: 403},
		}
	}},

	// ---- analytics (analytics:read), answered from the rollups ----
	analyticsRoute("summary", false, false),
	analyticsRoute("usage", true, true),
	analyticsRoute("cost", true, true),
	analyticsRoute("models", false, false),
	analyticsRoute("keys", false, false),
	analyticsRoute("latency", true, false),
	analyticsRoute("errors", true, false),
}

// analyticsRoute is the contract of GET /api/analytics/<name>, which takes
// from, to, provider and model, and group_by and bucket when said so.
func analyticsRoute(name string, groupBy, bucket bool) contractRoute {
	path := "/api/analytics/" + name
	return contractRoute{method: "GET", pattern: path, unreached: map[int]string{
		404: "only with features.analytics off, which this gateway is not: TestFeatureAnalyticsOff checks that answer",
	}, cases: func(c *contract) []contractCase {
		c.waitForRollups()
		cases := []contractCase{
			{name: "default window", path: path, token: c.viewer, want: 200},
			{name: "every filter", path: path + "?from=2020-01-01&to=2099-12-31&provider=openai&model=gpt-4o-mini", token: c.viewer, want: 200},
			{name: "nothing in the window", path: path + "?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z", token: c.viewer, want: 200},
			{name: "another workspace, owner", path: path + "?workspace_id=staging", token: c.owner, want: 200},
			{name: "from not a time", path: path + "?from=x", token: c.viewer, want: 400},
			{name: "to not a time", path: path + "?to=x", token: c.viewer, want: 400},
			{name: "to before from", path: path + "?from=2026-02-01&to=2026-01-01", token: c.viewer, want: 400},
			{name: "from in the future without to", path: path + "?from=2999-01-01", token: c.viewer, want: 400},
			{name: "no key", path: path, want: 401, specInvalid: true},
			{name: "workspace out of the key's reach", path: path + "?workspace_id=staging", token: c.viewer, want: 403},
		}
		if groupBy {
			for _, g := range []string{"provider", "model", "gateway_key", "api_key", "workspace", "status_class"} {
				cases = append(cases, contractCase{name: "group_by " + g, path: path + "?group_by=" + g, token: c.viewer, want: 200})
			}
			cases = append(cases, contractCase{name: "unknown group_by", path: path + "?group_by=color", token: c.viewer, want: 400, specInvalid: true})
		}
		if bucket {
			for _, b := range []string{"hour", "day", "week"} {
				cases = append(cases, contractCase{name: "bucket " + b, path: path + "?bucket=" + b, token: c.viewer, want: 200})
			}
			cases = append(cases,
				contractCase{name: "bucket and group_by", path: path + "?bucket=day&group_by=model", token: c.viewer, want: 200},
				contractCase{name: "unknown bucket", path: path + "?bucket=month", token: c.viewer, want: 400, specInvalid: true})
		}
		return cases
	}}
}

// unknownQueryCase is the 400 every route answers to a query parameter it
// does not take: the first case whose key gets past the guard, resent with
// ?workspace=staging (a typo of workspace_id). The parameter is refused
// before the handler runs, so resending a case that changed something
// changes nothing.
func unknownQueryCase(cases []contractCase) (contractCase, bool) {
	for _, tc := range cases {
		if tc.want == http.StatusUnauthorized || tc.want == http.StatusForbidden {
			continue
		}
		sep := "?"
		if strings.Contains(tc.path, "?") {
			sep = "&"
		}
		tc.name = "unknown query parameter (" + tc.name + ")"
		tc.path += sep + "workspace=staging"
		tc.want, tc.specInvalid = http.StatusBadRequest, true
		return tc, true
	}
	return contractCase{}, false
}

// unknownToken looks like a gateway key but is none.
const unknownToken = "ogw_unknownTokenThatNoGatewayKeyHasEverHad000"

func TestOpenAPIContract(t *testing.T) {
	eachDriver(t, func(t *testing.T, driver string) {
		c := newContract(t, driver)
		for _, rc := range contractRoutes {
			t.Run(rc.method+" "+rc.pattern, func(t *testing.T) {
				c.t = t
				cases := rc.cases(c)
				for _, tc := range cases {
					c.run(rc, tc)
				}
				if tc, ok := unknownQueryCase(cases); ok {
					c.run(rc, tc)
				} else {
					t.Errorf("no case to derive the unknown query parameter case from: add one a key gets past the guard with")
				}
			})
		}
		c.t = t
		c.checkCoverage()
	})
}

// contract is a running gateway with auth on, the spec it is held to, and
// the tenants, keys and traces made through its API.
type contract struct {
	t      *testing.T
	g      *gateway
	routes []api.Route // the app's route table
	doc    *openapi3.T
	router routers.Router
	// reached records, per "METHOD pattern", the statuses the cases got.
	reached map[string]map[int]bool

	owner, admin    string // static keys of acme/prod
	viewer, wsAdmin string // minted: a viewer, and an admin with workspaces:manage (both prod)
	viewerID        string
	stagingKeyID    string // a key of acme/staging
	rotatingID      string // a key in its rotation grace period
	revokedID       string
	expiredID       string
	expiresAt       time.Time
	traces          []trace.Record // the traces of the proxied calls, newest first
	traceID         string
	rolledUp        bool   // the rollups count every trace
	providerKeyHash string // SHA-256 of the provider key the traces were made with
}

// newContract starts the gateway, loads the spec and makes the shared
// fixtures through the API.
func newContract(t *testing.T, driver string) *contract {
	t.Helper()
	g := startGateway(t, driver, withAuth, withOperator)
	routes := g.app.Routes()
	doc, router := loadContractSpec(t)
	c := &contract{
		t: t, g: g, routes: routes, doc: doc, router: router, reached: map[string]map[int]bool{},
		owner: acmeOwnerToken, admin: acmeAdminToken,
	}
	sum := sha256.Sum256([]byte(openAIKey))
	c.providerKeyHash = hex.EncodeToString(sum[:])

	// First, as it must be expired by the time the rotate cases run.
	c.expiresAt = time.Now().Add(time.Second)
	c.expiredID = c.mintKey(c.owner, `{"role":"viewer","expires_at":"`+c.expiresAt.UTC().Format(time.RFC3339Nano)+`"}`).ID

	c.fixture("POST", "/api/workspaces", c.owner, `{"id":"staging"}`, 201, nil)
	c.stagingKeyID = c.mintKey(c.owner, `{"role":"admin","workspace_id":"staging"}`).ID
	v := c.mintKey(c.owner, `{"name":"viewer","role":"viewer"}`)
	c.viewer, c.viewerID = v.Token, v.ID
	c.wsAdmin = c.mintKey(c.owner, `{"name":"ws admin","role":"admin","permissions":["workspaces:manage"]}`).Token
	c.rotatingID = c.mintKey(c.owner, `{"role":"viewer"}`).ID
	c.fixture("POST", "/api/gateway-keys/"+c.rotatingID+"/rotate", c.owner, `{"grace_period":"1h"}`, 200, nil)
	c.revokedID = c.mintKey(c.owner, `{"role":"viewer"}`).ID
	c.fixture("DELETE", "/api/gateway-keys/"+c.revokedID, c.owner, "", 200, nil)

	// Traces of every kind, made by proxying through the fake upstream:
	// OpenAI calls, a stream, an upstream error and an Anthropic call.
	dev := c.mintKey(c.owner, `{"role":"developer"}`).Token
	g.mustChat(dev)
	g.mustChat(dev)
	proxied := func(path, body string, want int, h ...string) {
		t.Helper()
		headers := map[string]string{gatewayHeader: dev, "Content-Type": "application/json"}
		for i := 0; i+1 < len(h); i += 2 {
			headers[h[i]] = h[i+1]
		}
		if status, resp := g.do("POST", path, body, headers); status != want {
			t.Fatalf("proxied POST %s: %d %s, want %d", path, status, clip([]byte(resp)), want)
		}
	}
	proxied("/openai/v1/chat/completions", `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}`, 200,
		"Authorization", "Bearer "+openAIKey, fakeupstream.HeaderEvents, "5")
	proxied("/openai/v1/chat/completions", chatBody, 503,
		"Authorization", "Bearer "+openAIKey, fakeupstream.HeaderStatus, "503")
	proxied("/anthropic/v1/messages", `{"model":"claude-sonnet-4-0","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}`, 200,
		"X-Api-Key", anthropicKey, "Anthropic-Version", "2023-06-01")
	c.traces = g.tracesAs(c.owner, contractTraces)
	c.traceID = c.traces[0].ID
	return c
}

// contractTraces is how many calls newContract proxies.
const contractTraces = 5

// waitForRollups waits until the analytics rollups count every trace.
func (c *contract) waitForRollups() {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !c.rolledUp {
		var s struct {
			TotalRequests int `json:"total_requests"`
		}
		c.fixture("GET", "/api/analytics/summary", c.owner, "", 200, &s)
		if s.TotalRequests > contractTraces {
			c.t.Fatalf("the rollups count %d requests; %d were made", s.TotalRequests, contractTraces)
		}
		c.rolledUp = s.TotalRequests == contractTraces
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for the rollups: they count %d of %d requests", s.TotalRequests, contractTraces)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loadContractSpec loads and validates openapi/openapi.yaml with
// kin-openapi and builds the router that maps a request to its operation.
func loadContractSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Spec)
	if err != nil {
		t.Fatalf("openapi/openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	// Match any host: the test server listens on a random port.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("routing openapi/openapi.yaml: %v", err)
	}
	return doc, router
}

// validationOptions: undocumented statuses fail, a body where the spec has
// none fails, and the gateway key must be present where the operation's
// security asks for it. Schema errors name the failing value's path and
// the rule, without kin-openapi's dump of the schema and the value (the
// body is printed once, below the errors).
var validationOptions = func() *openapi3filter.Options {
	o := &openapi3filter.Options{
		IncludeResponseStatus:             true,
		RejectWhenRequestBodyNotSpecified: true,
		MultiError:                        true,
		AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
			s := in.SecurityScheme
			if s.Type != "apiKey" || s.In != "header" {
				return fmt.Errorf("security scheme %q: only header API keys are checked here", in.SecuritySchemeName)
			}
			if in.RequestValidationInput.Request.Header.Get(s.Name) == "" {
				return fmt.Errorf("no %s header", s.Name)
			}
			return nil
		},
	}
	o.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		// The JSON Schema 2020-12 validator's reasons start with the path.
		if p := err.JSONPointer(); len(p) > 0 && err.Reason != "" && !strings.HasPrefix(err.Reason, "at '") {
			return fmt.Sprintf("at '/%s': %s", strings.Join(p, "/"), err.Reason)
		}
		return err.Reason
	})
	return o
}()

// run sends one case, checks its status and holds request and answer to
// the spec.
func (c *contract) run(rc contractRoute, tc contractCase) {
	c.t.Helper()
	what := fmt.Sprintf("%s %s (case %q)", rc.method, tc.path, tc.name)
	route, status, resp, ok := c.exchange(what, rc.method, tc.path, tc.token, tc.body, tc.specInvalid)
	if !ok {
		return
	}
	if route.Path != rc.pattern {
		c.t.Errorf("%s: the spec routes it to %s, not to the route it is a case of", what, route.Path)
		return
	}
	if status != tc.want {
		c.t.Errorf("%s: got %d, want %d: %s", what, status, tc.want, clip(resp))
		return
	}
	key := rc.method + " " + rc.pattern
	if c.reached[key] == nil {
		c.reached[key] = map[int]bool{}
	}
	c.reached[key][status] = true
}

// fixture makes data through the API: it must answer want, and is held to
// the spec like a case, but counts for no route's coverage.
func (c *contract) fixture(method, path, token, body string, want int, out any) {
	c.t.Helper()
	what := fmt.Sprintf("fixture %s %s", method, path)
	_, status, resp, ok := c.exchange(what, method, path, token, body, false)
	if !ok || status != want {
		c.t.Fatalf("%s: got %d, want %d: %s", what, status, want, clip(resp))
	}
	if out != nil {
		if err := json.Unmarshal(resp, out); err != nil {
			c.t.Fatalf("%s: decoding %s: %v", what, resp, err)
		}
	}
}

// mintKey creates a gateway key through the API.
func (c *contract) mintKey(token, body string) tenancy.IssuedKey {
	c.t.Helper()
	var k tenancy.IssuedKey
	c.fixture("POST", "/api/gateway-keys", token, body, 201, &k)
	return k
}

// waitExpired waits until the expiring fixture key has expired.
func (c *contract) waitExpired() {
	if d := time.Until(c.expiresAt); d > 0 {
		time.Sleep(d + 10*time.Millisecond)
	}
}

// exchange validates the request, sends it, and validates the answer. It
// reports every violation as a test error naming the request, and returns
// ok=false when the request could not be matched to an operation or sent.
func (c *contract) exchange(what, method, path, token, body string, specInvalid bool) (route *routers.Route, status int, resp []byte, ok bool) {
	c.t.Helper()
	newRequest := func() *http.Request {
		req, err := http.NewRequest(method, c.g.URL+path, strings.NewReader(body))
		if err != nil {
			c.t.Fatal(err)
		}
		if body == "" {
			req.Body, req.ContentLength = http.NoBody, 0
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set(gatewayHeader, token)
		}
		return req
	}

	// The request, against the spec.
	vreq := newRequest()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.t.Errorf("%s: the spec documents no such operation: %v", what, err)
		return nil, 0, nil, false
	}
	reqIn := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: validationOptions}
	reqErr := openapi3filter.ValidateRequest(context.Background(), reqIn)
	if reqErr == nil {
		reqErr = undocumentedQuery(route, vreq.URL.Query())
	}
	switch {
	case specInvalid && reqErr == nil:
		c.t.Errorf("%s: the case breaks a rule the spec does not state: the request validates against it", what)
	case !specInvalid && reqErr != nil:
		c.t.Errorf("%s: the request violates the spec:\n%v", what, indent(reqErr))
	}

	// The real exchange.
	res, err := http.DefaultClient.Do(newRequest())
	if err != nil {
		c.t.Errorf("%s: %v", what, err)
		return nil, 0, nil, false
	}
	resp, err = io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		c.t.Errorf("%s: reading the answer: %v", what, err)
		return nil, 0, nil, false
	}
	status = res.StatusCode

	// The answer, against the spec.
	resIn := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqIn, Status: status, Header: res.Header, Options: validationOptions,
	}
	resIn.SetBodyBytes(resp)
	if err := openapi3filter.ValidateResponse(context.Background(), resIn); err != nil {
		c.t.Errorf("%s: answer %d violates the spec:\n%v\nbody: %s", what, status, indent(err), clip(resp))
	}
	if doc := route.Operation.Responses.Status(status); doc != nil && doc.Value != nil {
		if len(doc.Value.Content) == 0 && len(resp) > 0 {
			c.t.Errorf("%s: answer %d has a body where the spec documents none: %s", what, status, clip(resp))
		}
		if status >= 400 {
			c.checkErrorMessage(what, status, doc.Value, resp)
		}
	}
	return route, status, resp, true
}

// checkErrorMessage holds an error answer to the messages the spec lists
// for that status: clients may match on them.
func (c *contract) checkErrorMessage(what string, status int, doc *openapi3.Response, resp []byte) {
	c.t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(resp, &e); err != nil || e.Error == "" {
		return // the schema check has reported it
	}
	var documented []string
	if mt := doc.Content.Get("application/json"); mt != nil {
		for _, ex := range mt.Examples {
			if ex == nil || ex.Value == nil {
				continue
			}
			if m, ok := ex.Value.Value.(map[string]any); ok {
				if s, ok := m["error"].(string); ok {
					documented = append(documented, s)
				}
			}
		}
	}
	// A malformed body's message ends with the JSON decoder's own words,
	// and an unknown query parameter's with the name sent, which no list
	// can hold: their stable part is the prefix.
	for _, prefix := range []string{badBodyPrefix, api.MsgUnknownQueryParameterPrefix} {
		if strings.HasPrefix(e.Error, prefix) && slices.ContainsFunc(documented, func(m string) bool {
			return strings.HasPrefix(m, prefix)
		}) {
			return
		}
	}
	if !slices.Contains(documented, e.Error) {
		slices.Sort(documented)
		c.t.Errorf("%s: answer %d says %q, which is not among the messages the spec lists for it:\n  %s",
			what, status, e.Error, strings.Join(documented, "\n  "))
	}
}

// badBodyPrefix starts the message of every malformed request body.
const badBodyPrefix = "invalid JSON body: "

// undocumentedQuery reports query parameters the operation does not
// document, which the gateway refuses (400 unknown query parameter).
func undocumentedQuery(route *routers.Route, q url.Values) error {
	known := map[string]bool{}
	for _, ps := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range ps {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				known[p.Value.Name] = true
			}
		}
	}
	var unknown []string
	for name := range q {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("query parameters the operation does not document: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// checkCoverage fails for any /api route of the table without cases, a
// documented success no case reached, or a documented status neither
// reached nor explained; and for table entries no route serves.
func (c *contract) checkCoverage() {
	c.t.Helper()
	byKey := map[string]contractRoute{}
	for _, rc := range contractRoutes {
		byKey[rc.method+" "+rc.pattern] = rc
	}
	served := map[string]bool{}
	for _, r := range c.routes {
		if r.Pattern != "/" && !strings.HasPrefix(r.Pattern, "/api/") {
			continue // provider routes: the providers' own API
		}
		key := r.Method + " " + r.Pattern
		served[key] = true
		rc, ok := byKey[key]
		if !ok {
			c.t.Errorf("route %s has no contract cases: add an entry to contractRoutes in e2e/openapi_contract_test.go", key)
			continue
		}
		pathItem := c.doc.Paths.Find(r.Pattern)
		var op *openapi3.Operation
		if pathItem != nil {
			op = pathItem.GetOperation(r.Method)
		}
		if op == nil {
			c.t.Errorf("route %s is not documented in openapi/openapi.yaml", key)
			continue
		}
		reached := c.reached[key]
		documented := map[int]bool{}
		for code := range op.Responses.Map() {
			var n int
			if _, err := fmt.Sscanf(code, "%d", &n); err != nil || fmt.Sprint(n) != code {
				c.t.Errorf("%s: response %q: only explicit status codes are expected", key, code)
				continue
			}
			documented[n] = true
			why, explained := rc.unreached[n]
			switch {
			case reached[n] && explained:
				c.t.Errorf("%s: status %d is listed as unreached (%s) but a case reached it", key, n, why)
			// 500 and 503 (the store failing or down) need a broken store:
			// faults_test.go reaches 503 on a stopped and frozen cluster.
			// 408 needs a body trickled over raw TCP: hardening_test.go.
			case !reached[n] && !explained && n != http.StatusInternalServerError &&
				n != http.StatusServiceUnavailable && n != http.StatusRequestTimeout:
				c.t.Errorf("%s: the spec documents status %d but no case reaches it: add a case, or list it in unreached with the reason", key, n)
			}
		}
		for n := range rc.unreached {
			if !documented[n] {
				c.t.Errorf("%s: status %d is listed as unreached but the spec does not document it", key, n)
			}
		}
		for n := range reached {
			if !documented[n] {
				c.t.Errorf("%s: a case got status %d, which the spec does not document", key, n)
			}
		}
	}
	for key := range byKey {
		if !served[key] {
			c.t.Errorf("contractRoutes has cases for %s, which the route table does not serve", key)
		}
	}
}

func indent(err error) string {
	return "    " + strings.ReplaceAll(err.Error(), "\n", "\n    ")
}

func clip(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}
