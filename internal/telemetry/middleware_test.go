package telemetry

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/config"
)

func TestValidRequestID(t *testing.T) {
	valid := []string{"a", "req-123", "01J9Z3V1Q4_X.y-z", strings.Repeat("a", 128), "550e8400-e29b-41d4-a716-446655440000"}
	invalid := []string{"", strings.Repeat("a", 129), "has space", "quote\"", "new\nline", "semi;colon", "slash/", "ünï", "a=b"}
	for _, id := range valid {
		if !ValidRequestID(id) {
			t.Errorf("ValidRequestID(%q) = false", id)
		}
	}
	for _, id := range invalid {
		if ValidRequestID(id) {
			t.Errorf("ValidRequestID(%q) = true", id)
		}
	}
}

// newOffTelemetry is telemetry with every signal off, logging to buf.
func newOffTelemetry(t *testing.T, buf *syncBuffer) *Telemetry {
	t.Helper()
	obs := config.Default().Observability
	tel, err := New(context.Background(), obs, Options{Logger: NewLogger(obs.Log, buf)})
	if err != nil {
		t.Fatal(err)
	}
	return tel
}

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// The request id the client sends is kept when valid and replaced when
// not; either way the handler behind the middleware, the response and the
// access line all see the same single id.
func TestRequestIDIsAssignedEchoedAndVisibleDownstream(t *testing.T) {
	cases := []struct {
		name   string
		sent   []string
		keep   bool
		wantID string
	}{
		{"valid is kept", []string{"client.id-1"}, true, "client.id-1"},
		{"absent is generated", nil, false, ""},
		{"invalid is replaced", []string{"bad id with spaces"}, false, ""},
		{"too long is replaced", []string{strings.Repeat("x", 129)}, false, ""},
		{"first of several is kept alone", []string{"one", "two"}, true, "one"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			tel := newOffTelemetry(t, &logs)
			var seen []string
			h := tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Header.Values(RequestIDHeader)
				w.WriteHeader(http.StatusNoContent)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/x", nil)
			for _, v := range tc.sent {
				req.Header.Add(RequestIDHeader, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			got := rec.Header().Values(RequestIDHeader)
			if len(got) != 1 {
				t.Fatalf("response has %d request ids: %q", len(got), got)
			}
			id := got[0]
			if tc.keep && id != tc.wantID {
				t.Errorf("id = %q, want %q", id, tc.wantID)
			}
			if !tc.keep && !generatedID.MatchString(id) {
				t.Errorf("generated id %q is not 32 hex digits", id)
			}
			if len(seen) != 1 || seen[0] != id {
				t.Errorf("downstream saw header %q, want %q", seen, id)
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
				t.Fatalf("access line: %v: %q", err, logs.String())
			}
			if line["request_id"] != id || line["status"] != float64(204) {
				t.Errorf("access line = %v", line)
			}
		})
	}
}

// A reverse proxy adds the upstream's X-Request-ID beside the gateway's;
// the client gets the gateway's id and the upstream's under its own name.
func TestUpstreamRequestIDIsMovedAside(t *testing.T) {
	tel := newOffTelemetry(t, &syncBuffer{})
	h := tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add(RequestIDHeader, "req_upstream")
		w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest(http.MethodGet, "/openai/v1/models", nil)
	req.Header.Set(RequestIDHeader, "mine")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got := rec.Header().Values(RequestIDHeader); len(got) != 1 || got[0] != "mine" {
		t.Errorf("X-Request-ID = %q, want [mine]", got)
	}
	if got := rec.Header().Get(UpstreamRequestIDHeader); got != "req_upstream" {
		t.Errorf("X-Upstream-Request-ID = %q", got)
	}
}

// Streaming handlers flush through the recorder, and a panicking handler
// (the reverse proxy aborts with http.ErrAbortHandler) is still logged and
// still panics for net/http to handle.
func TestRecorderFlushesAndSurvivesAbort(t *testing.T) {
	var logs syncBuffer
	tel := newOffTelemetry(t, &logs)
	flushed := false
	h := tel.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort" {
			panic(http.ErrAbortHandler)
		}
		w.Write([]byte("data: 1\n\n"))
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
		flushed = true
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stream", nil))
	if !flushed || !rec.Flushed {
		t.Errorf("flush did not reach the server's writer")
	}

	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/abort", nil))
	}()
	if !strings.Contains(logs.String(), `"path":"/abort","route":"","route_class":"other","status":500`) {
		t.Errorf("aborted request not logged as 500:\n%s", logs.String())
	}
}

// A WebSocket upgrade goes through the middleware's writer: the proxy must
// be able to hijack the connection, and the access line says 101.
func TestWebSocketUpgradeThroughMiddleware(t *testing.T) {
	h := newHarness(t)
	addr := strings.TrimPrefix(h.gw.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req := "GET /openai/ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + RequestIDHeader + ": ws-1\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d, want 101", res.StatusCode)
	}
	if res.Header.Get(RequestIDHeader) != "ws-1" {
		t.Errorf("X-Request-ID on the upgrade = %q", res.Header.Get(RequestIDHeader))
	}
	conn.Close()
	h.waitServed(1)
	expectAttrs(t, "access line", h.accessLine("ws-1"), map[string]any{"status": float64(101), "route_class": "proxy", "provider": "openai"})
}
