package pathguard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/openapi"
)

func TestSafe(t *testing.T) {
	for raw, want := range map[string]bool{
		"/openai/v1/chat/completions":     true,
		"/openai/v1/files/a..b/.hidden":   true,
		"/openai//v1/models":              true,
		"/openai/v1/models/gpt%2D4o":      true,
		"/":                               true,
		"/groq/../../admin/secret":        false,
		"/openai/./v1/models":             false,
		"/openai/v1/..":                   false,
		"/openai/v1/.":                    false,
		"/openai/v1/%2e%2e/%2e%2e/admin":  false,
		"/openai/v1/%2E./admin":           false,
		"/openai/v1/..%2f..%2fadmin":      false,
		"/openai/v1%2fchat/completions":   false,
		"/openai/v1%2Fchat/completions":   false,
		"/openai/v1%5cchat":               false,
		"/openai/v1/..%5c..%5cadmin":      false,
		"/api/traces/%2e%2e":              false,
		"/openai/v1/%2e%2e%2f%2e%2e/root": false,
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := Safe(u); got != want {
			t.Errorf("Safe(%q) = %v, want %v (path %q, raw %q)", raw, got, want, u.Path, u.RawPath)
		}
	}
	// A literal backslash is a separator too.
	if SafePath(`/openai/v1/..\..\admin`) {
		t.Error(`SafePath accepted backslash dot segments`)
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		base, p string
		want    bool
	}{
		{"", "/v1/models", true},
		{"/", "/v1/models", true},
		{"/base", "/base", true},
		{"/base/", "/base/v1", true},
		{"/base", "/basement/v1", false},
		{"/base", "/base/../admin", false},
		{"/base", "/admin", false},
		{"", "/../admin", false},
	} {
		if got := Within(c.base, c.p); got != c.want {
			t.Errorf("Within(%q, %q) = %v, want %v", c.base, c.p, got, c.want)
		}
	}
}

func TestMiddlewareRefusesBeforeTheNextHandler(t *testing.T) {
	reached := false
	h := Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/%2e%2e/x", nil))
	if w.Code != 400 || w.Body.String() != `{"error":"invalid request path"}`+"\n" || reached {
		t.Fatalf("got %d %q, next reached %v", w.Code, w.Body.String(), reached)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/x", nil))
	if !reached {
		t.Fatal("a clean path did not reach the next handler")
	}
}

func TestMessageIsDocumented(t *testing.T) {
	if !strings.Contains(string(openapi.Spec), Message) {
		t.Errorf("%q is not documented in openapi/openapi.yaml", Message)
	}
}
