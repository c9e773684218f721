package console_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/api"
)

var traceLink = regexp.MustCompile(`href="/console/traces/([^"]+)"`)
var nextLink = regexp.MustCompile(`href="(/console/traces\?[^"]+)"`)

func TestTracesPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			g.chat(roleToken("developer"), 53)
			b := g.signedIn("viewer")
			var p, p2 page
			eventually(t, "53 traces listed", func() bool {
				p = b.get("/console/traces")
				m := nextLink.FindStringSubmatch(p.body)
				if m == nil {
					return false
				}
				p2 = b.get(strings.ReplaceAll(m[1], "&amp;", "&"))
				return len(traceLink.FindAllString(p2.body, -1)) == 3
			})
			for _, want := range []string{
				`<label for="f-provider">Provider</label>`, `<label for="f-model">Model</label>`,
				`<label for="f-status">Status</label>`, `<label for="f-from">From</label>`, `<label for="f-to">To</label>`,
				`<th scope="col" class="num">Latency</th>`, ">key-developer<", ">gpt-4o-mini<", ">Next page</a>",
			} {
				if !p.has(want) {
					t.Errorf("traces page lacks %s", want)
				}
			}
			// Keyset paging: 50, then the other 3, none repeated.
			first := traceLink.FindAllStringSubmatch(p.body, -1)
			second := traceLink.FindAllStringSubmatch(p2.body, -1)
			wantStatus(t, "next page", p2, http.StatusOK)
			if len(first) != 50 || p2.has(">Next page</a>") {
				t.Fatalf("first page %d traces; second page has a next link: %v", len(first), p2.has(">Next page</a>"))
			}
			for _, a := range first {
				for _, b := range second {
					if a[1] == b[1] {
						t.Errorf("trace %s on both pages", a[1])
					}
				}
			}

			// Filters: the API's parsing, the value kept, errors next to
			// their field.
			p = b.get("/console/traces?provider=anthropic")
			if n := len(traceLink.FindAllString(p.body, -1)); n != 0 || !p.has(`value="anthropic"`) {
				t.Errorf("provider=anthropic lists %d traces", n)
			}
			p = b.get("/console/traces?model=gpt-4o-mini&status=200")
			if n := len(traceLink.FindAllString(p.body, -1)); n != 50 {
				t.Errorf("model and status filter lists %d traces", n)
			}
			p = b.get("/console/traces?from=2026-13-01")
			wantStatus(t, "bad from", p, http.StatusBadRequest)
			if !p.has(`id="f-from-error">invalid parameter &#34;from&#34;`) {
				t.Errorf("from error not next to From:\n%s", p.body)
			}

			// Detail.
			p = b.get("/console/traces/" + first[0][1])
			wantStatus(t, "detail", p, http.StatusOK)
			for _, want := range []string{"Input tokens", "Output tokens", "Cached input tokens", "Reasoning tokens", "Time to first token", "Finish reasons", "Request headers", "Metadata", "Cost", "Latency"} {
				if !p.has(want) {
					t.Errorf("detail lacks %s", want)
				}
			}
			p = b.get("/console/traces/does-not-exist")
			wantStatus(t, "unknown trace", p, http.StatusNotFound)
			if !p.has(api.MsgTraceNotFound) {
				t.Errorf("404 lacks the API's message")
			}
		})
	}
}

// Traces are scoped as on the API: a key of another organization sees none
// of acme's, not even by id.
func TestTracesAreTenantScoped(t *testing.T) {
	g := startGateway(t, "sqlite", func(c *configT) {
		c.Auth.Keys = append(c.Auth.Keys, staticKey("globex-viewer", "globex", "main", "viewer"))
	})
	g.chat(roleToken("developer"), 1)
	acme := g.signedIn("viewer")
	var id string
	eventually(t, "trace listed", func() bool {
		m := traceLink.FindStringSubmatch(acme.get("/console/traces").body)
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	globex := g.browser()
	globex.signIn(roleToken("globex-viewer"))
	if p := globex.get("/console/traces"); traceLink.MatchString(p.body) {
		t.Error("globex lists acme's trace")
	}
	wantStatus(t, "globex opens acme's trace", globex.get("/console/traces/"+id), http.StatusNotFound)
}

func TestAuditPage(t *testing.T) {
	for _, driver := range drivers {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, driver)
			b := g.signedIn("owner")
			b.get("/console/workspaces")
			wantStatus(t, "create workspace", b.post("/console/workspaces", map[string][]string{"id": {"qa"}, "name": {"QA"}}), http.StatusCreated)
			var p page
			eventually(t, "events listed", func() bool {
				p = b.get("/console/audit")
				return p.has("<td>workspace.create</td>") && p.has("<td>console.sign_in</td>")
			})
			if !p.has(`<label for="a-action">Action</label>`) || !p.has(`<label for="a-from">From</label>`) {
				t.Error("audit filters lack their labels")
			}
			p = b.get("/console/audit?action=workspace.create")
			if p.has("<td>console.sign_in</td>") || !p.has("<td>workspace:qa</td>") {
				t.Errorf("action filter:\n%s", p.body)
			}
			p = b.get("/console/audit?to=yesterday")
			wantStatus(t, "bad to", p, http.StatusBadRequest)
			// A viewer has no audit:read.
			wantStatus(t, "viewer", g.signedIn("viewer").get("/console/audit"), http.StatusForbidden)
		})
	}
}
