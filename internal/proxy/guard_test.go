package proxy

import (
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/ongoingai/gateway/internal/providers"
	"github.com/ongoingai/gateway/openapi"
)

// refusingTransport fails the test if anything is forwarded.
type refusingTransport struct{ t *testing.T }

func (rt refusingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.t.Errorf("forwarded %s %s", r.Method, r.URL)
	return nil, errors.New("must not be forwarded")
}

func guardedProxy(t *testing.T, base string) http.Handler {
	target, err := url.Parse("http://upstream.invalid" + base)
	if err != nil {
		t.Fatal(err)
	}
	p := New(Options{
		Transport:           refusingTransport{t},
		MaxRequestBodyBytes: 32 << 20,
		GatewayKeyHeader:    "X-Ongoingai-Gateway-Key",
		GatewayTokenPrefix:  "ogw_",
		Traces:              &sink{},
	})
	return p.Handler(&Upstream{Name: "openai", Prefix: "/openai", Target: target, Adapter: providers.OpenAI()})
}

// The proxy's own guarantee, whoever mounts it without the router's
// pathguard: nothing outside the target's base path is sent.
func TestProxyRefusesPathsThatLeaveTheBase(t *testing.T) {
	h := guardedProxy(t, "/base")
	for _, target := range []string{
		"/openai/../../admin/secret",
		"/openai/v1/%2e%2e/%2e%2e/admin",
		"/openai/v1/..%2f..%2fadmin",
		"/openai/v1%2fmodels",
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"invalid request path"`) {
			t.Errorf("%s: %d %s", target, w.Code, w.Body.String())
		}
	}
}

func TestGatewayTokenIn(t *testing.T) {
	p := New(Options{GatewayKeyHeader: "X-Ongoingai-Gateway-Key", GatewayTokenPrefix: "ogw_"})
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		name   string
		header http.Header
		want   string
	}{
		{"clean", http.Header{"Authorization": {"Bearer sk-x"}, "X-Ongoingai-Gateway-Key": {"ogw_abc"}}, ""},
		{"bearer", http.Header{"Authorization": {"Bearer ogw_abc"}}, MsgGatewayKeyInCredential},
		{"token scheme", http.Header{"Authorization": {"Token ogw_abc"}}, MsgGatewayKeyInCredential},
		{"basic password", http.Header{"Authorization": {basic("user:ogw_abc")}}, MsgGatewayKeyInCredential},
		{"basic user, unpadded", http.Header{"Authorization": {strings.TrimRight(basic("ogw_abcd:x"), "=")}}, MsgGatewayKeyInCredential},
		{"x-api-key beside Authorization", http.Header{"Authorization": {"Bearer sk-x"}, "X-Api-Key": {"ogw_abc"}}, MsgGatewayKeyInCredential},
		{"api-key", http.Header{"Api-Key": {" ogw_abc"}}, MsgGatewayKeyInCredential},
		{"other header", http.Header{"X-Custom": {"a, ogw_abc"}}, MsgGatewayKeyInHeader},
		{"inside a word", http.Header{"X-Custom": {"blogw_abc"}}, ""},
		{"bare prefix", http.Header{"X-Custom": {"ogw_"}}, ""},
		{"basic without token", http.Header{"Authorization": {basic("user:sk-x")}}, ""},
	} {
		if got := p.gatewayTokenIn(c.header); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// trickle announces a large body and delivers only a few bytes of it.
type trickle struct{ sent bool }

func (b *trickle) Read(p []byte) (int, error) {
	if b.sent {
		return 0, io.ErrUnexpectedEOF // the client gave up
	}
	b.sent = true
	return copy(p, `{"model":`), nil
}

func (*trickle) Close() error { return nil }

// A body announced as 32 MiB that never arrives must not cost 32 MiB: the
// buffer grows with the bytes received. (Allocated bytes are counted, not
// timed; the old code allocated the announced length up front.)
func TestAnnouncedBodyIsNotAllocatedUpFront(t *testing.T) {
	h := guardedProxy(t, "")
	const calls, announced = 8, 32 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		r := httptest.NewRequest(http.MethodPost, "/openai/v1/chat/completions", nil)
		r.Body, r.ContentLength = &trickle{}, announced
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > announced {
		t.Errorf("%d calls announcing %d bytes and sending 9 allocated %d bytes", calls, announced, got)
	}
}

// The proxy's messages are part of the contract.
func TestProxyMessagesAreDocumented(t *testing.T) {
	for _, m := range []string{
		MsgRequestBodyTooLarge, MsgRequestBodyTimeout, MsgUpstreamFailed,
		MsgGatewayKeyInCredential, MsgGatewayKeyInHeader, MsgResponsesWebSocket,
	} {
		if !strings.Contains(string(openapi.Spec), m) {
			t.Errorf("%q is not documented in openapi/openapi.yaml", m)
		}
	}
}
