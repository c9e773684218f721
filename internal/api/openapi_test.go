package api

import (
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ongoingai/gateway/openapi"
)

type spec struct {
	Paths map[string]map[string]struct {
		Responses  map[string]any `yaml:"responses"`
		Parameters []specParam    `yaml:"parameters"`
	} `yaml:"paths"`
	Components struct {
		Parameters map[string]specParam `yaml:"parameters"`
	} `yaml:"components"`
}

// specParam is a parameter of an operation, or a reference to one.
type specParam struct {
	Ref  string `yaml:"$ref"`
	Name string `yaml:"name"`
	In   string `yaml:"in"`
}

func loadSpec(t *testing.T) spec {
	t.Helper()
	var s spec
	if err := yaml.Unmarshal(openapi.Spec, &s); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return s
}

// The route table and the spec name the same routes: a route added
// without documentation, or documentation left behind, fails here.
func TestSpecDocumentsExactlyTheRouteTable(t *testing.T) {
	s := loadSpec(t)
	documented := map[string]bool{}
	for path, ops := range s.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range New(Deps{}).Routes() {
		key := r.Method + " " + r.Pattern
		served[key] = true
		if !documented[key] {
			t.Errorf("route %s is not documented in openapi/openapi.yaml", key)
		}
	}
	for key := range documented {
		if !served[key] {
			t.Errorf("openapi/openapi.yaml documents %s, which no route serves", key)
		}
	}
}

// The spec documents exactly the query parameters each route takes: the
// route table's Query is what the server enforces (anything else is a 400),
// so a parameter documented but refused, or taken but undocumented, fails
// here.
func TestSpecQueryParametersAreTheRouteTables(t *testing.T) {
	s := loadSpec(t)
	for _, r := range New(Deps{}).Routes() {
		op, ok := s.Paths[r.Pattern][strings.ToLower(r.Method)]
		if !ok {
			continue // TestSpecDocumentsExactlyTheRouteTable reports it
		}
		var documented []string
		for _, p := range op.Parameters {
			if p.Ref != "" {
				p = s.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
			}
			if p.In == "query" {
				documented = append(documented, p.Name)
			}
		}
		slices.Sort(documented)
		taken := slices.Sorted(slices.Values(r.Query))
		if !slices.Equal(documented, taken) {
			t.Errorf("%s %s: the spec documents query parameters %v, the route takes %v", r.Method, r.Pattern, documented, taken)
		}
		if _, ok := op.Responses["400"]; !ok {
			t.Errorf("%s %s: no 400 documented, which an unknown query parameter gets", r.Method, r.Pattern)
		}
	}
}

// Every stable error message the code can answer with is in the spec.
func TestSpecListsEveryErrorMessage(t *testing.T) {
	text := string(openapi.Spec)
	messages := []string{MsgTraceNotFound, MsgInternal, UnknownQueryParameter("workspace"), MsgStoreUnavailable, errReadyParam.Error(), MsgFeatureDisabledPrefix + "analytics"}
	for _, m := range lastErrorMessages {
		messages = append(messages, m)
	}
	for _, query := range []string{
		"limit=0", "status=1", "from=x", "from=2026-02-01&to=2026-01-01", "api_key_hash=x", "cursor=!",
	} {
		_, err := ParseTraceFilter(httptest.NewRequest("GET", "/api/traces?"+query, nil).URL.Query())
		if err == nil {
			t.Fatalf("%s: no error", query)
		}
		messages = append(messages, err.Error())
	}
	for _, m := range slices.Compact(messages) {
		if !strings.Contains(text, m) && !strings.Contains(text, strings.ReplaceAll(m, `"`, `\"`)) {
			t.Errorf("error message %q is not documented in openapi/openapi.yaml", m)
		}
	}
}

func TestSpecIsServed(t *testing.T) {
	w := httptest.NewRecorder()
	New(Deps{}).openAPI(w, httptest.NewRequest("GET", "/api/openapi.yaml", nil))
	if w.Code != 200 || !strings.HasPrefix(w.Body.String(), "openapi: 3.1.0") {
		t.Fatalf("GET /api/openapi.yaml = %d %.40q", w.Code, w.Body.String())
	}
}
