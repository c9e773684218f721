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
		Responses map[string]any `yaml:"responses"`
	} `yaml:"paths"`
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

// Every stable error message the code can answer with is in the spec.
func TestSpecListsEveryErrorMessage(t *testing.T) {
	text := string(openapi.Spec)
	messages := []string{MsgTraceNotFound, MsgInternal}
	for _, query := range []string{
		"limit=0", "status=1", "from=x", "from=2026-02-01&to=2026-01-01", "api_key_hash=x", "cursor=!",
	} {
		_, err := parseTraceFilter(httptest.NewRequest("GET", "/api/traces?"+query, nil))
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
