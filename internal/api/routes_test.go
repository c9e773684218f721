package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A query parameter the route does not take is a 400 naming it, before the
// handler runs; the ones it takes pass, however they are encoded.
func TestUnknownQueryParametersAreRefusedBeforeTheHandler(t *testing.T) {
	reached := false
	h := onlyQuery([]string{"workspace_id", "from"}, func(w http.ResponseWriter, _ *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	})
	for _, c := range []struct{ query, unknown string }{
		{"", ""},
		{"workspace_id=prod&from=2026-01-01", ""},
		{"workspace%5Fid=prod&&from=", ""},            // an escaped name, an empty pair
		{"workspace=staging", "workspace"},            // the typo the rule exists for
		{"from=x&Workspace_ID=a&b=1", "Workspace_ID"}, // names are case-sensitive; the first is named
		{"from=x&b=1&c=2", "b"},
		{"a+b=1", "a b"},
		{"%zz=1", "%zz"},
		{"=1", ""}, // an empty name is still not one the route takes
		{strings.Repeat("x", 100) + "=1", strings.Repeat("x", maxParamNameLen) + "…"},
	} {
		reached = false
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest(http.MethodGet, "/api/x?"+c.query, nil))
		wantRefused := c.unknown != "" || c.query == "=1"
		if !wantRefused {
			if !reached || rec.Code != http.StatusNoContent {
				t.Errorf("?%s: %d, handler reached %v; want it served", c.query, rec.Code, reached)
			}
			continue
		}
		var e struct{ Error string }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if reached || rec.Code != http.StatusBadRequest || e.Error != MsgUnknownQueryParameterPrefix+c.unknown {
			t.Errorf("?%s: %d %q, handler reached %v; want 400 %q", c.query, rec.Code, e.Error, reached, MsgUnknownQueryParameterPrefix+c.unknown)
		}
	}
}

// Every route of the table refuses unknown parameters, the public ones too.
func TestEveryRouteRefusesUnknownQueryParameters(t *testing.T) {
	for _, r := range New(Deps{}).Routes() {
		rec := httptest.NewRecorder()
		r.Handler(rec, httptest.NewRequest(r.Method, strings.ReplaceAll(r.Pattern, "{id}", "x")+"?workspace=staging", nil))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), UnknownQueryParameter("workspace")) {
			t.Errorf("%s %s?workspace=staging: %d %s", r.Method, r.Pattern, rec.Code, rec.Body.String())
		}
	}
}
