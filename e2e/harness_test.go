// Package e2e holds the end-to-end tests: a real gateway (the full handler
// chain behind a real listener, on a real SQLite file or a real Postgres)
// in front of a fake upstream that speaks the OpenAI and Anthropic APIs,
// driven by the official Go SDKs. Each test reads like a user's story.
package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/ongoingai/gateway/internal/app"
	"github.com/ongoingai/gateway/internal/config"
	"github.com/ongoingai/gateway/internal/fakeupstream"
	"github.com/ongoingai/gateway/internal/testdb"
	"github.com/ongoingai/gateway/internal/trace"
)

// drivers are the two stores every story runs against.
var drivers = []string{config.DriverSQLite, config.DriverPostgres}

// eachDriver runs fn once per store, as parallel subtests.
func eachDriver(t *testing.T, fn func(t *testing.T, driver string)) {
	for _, d := range drivers {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, d)
		})
	}
}

// gateway is one running gateway and the fake upstream behind it.
type gateway struct {
	t        *testing.T
	URL      string
	fake     *fakeupstream.Server
	upstream *httptest.Server
	cfg      config.Config
	app      *app.App
	stop     func() error // cancels Serve and waits for it
}

// startGateway starts a gateway on driver with the fake upstream as both
// providers. mutate may adjust the config before start.
func startGateway(t *testing.T, driver string, mutate ...func(*config.Config)) *gateway {
	t.Helper()
	fake := fakeupstream.New(fakeupstream.Options{})
	upstream := httptest.NewServer(fake)
	t.Cleanup(func() { fake.Close(); upstream.Close() })

	cfg := config.Default()
	cfg.Server.Host = "127.0.0.1"
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
	cfg.Tracing.FlushInterval = 5 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	return serveConfig(t, cfg, fake, upstream)
}

func serveConfig(t *testing.T, cfg config.Config, fake *fakeupstream.Server, upstream *httptest.Server) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil)
	if err != nil {
		cancel()
		t.Fatalf("app.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	stopped := false
	var serveErr error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			serveErr = <-done
		}
		return serveErr
	}
	t.Cleanup(func() { stop() })
	return &gateway{t: t, URL: "http://" + ln.Addr().String(), fake: fake, upstream: upstream, cfg: cfg, app: a, stop: stop}
}

// openai returns an official OpenAI client pointed at the gateway, as a
// user would configure it with OPENAI_BASE_URL.
func (g *gateway) openai(headers ...string) *openai.Client {
	opts := []option.RequestOption{
		option.WithBaseURL(g.URL + "/openai/v1/"),
		option.WithAPIKey(openAIKey),
		option.WithMaxRetries(0),
	}
	for i := 0; i+1 < len(headers); i += 2 {
		opts = append(opts, option.WithHeader(headers[i], headers[i+1]))
	}
	c := openai.NewClient(opts...)
	return &c
}

// anthropic returns an official Anthropic client pointed at the gateway.
func (g *gateway) anthropic(headers ...string) *anthropic.Client {
	opts := []anthropicoption.RequestOption{
		anthropicoption.WithBaseURL(g.URL + "/anthropic/"),
		anthropicoption.WithAPIKey(anthropicKey),
		anthropicoption.WithMaxRetries(0),
	}
	for i := 0; i+1 < len(headers); i += 2 {
		opts = append(opts, anthropicoption.WithHeader(headers[i], headers[i+1]))
	}
	c := anthropic.NewClient(opts...)
	return &c
}

const (
	openAIKey    = "sk-test-openai-key-7a3f"
	anthropicKey = "sk-ant-test-key-91bc"
)

// traces waits until the gateway has stored n traces and returns them,
// newest first, with full detail.
func (g *gateway) traces(n int) []trace.Record {
	g.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Items []trace.Record `json:"items"`
		}
		g.getJSON("/api/traces?limit=200", &list)
		if len(list.Items) >= n {
			if len(list.Items) > n {
				g.t.Fatalf("got %d traces, want %d", len(list.Items), n)
			}
			out := make([]trace.Record, len(list.Items))
			for i, it := range list.Items {
				g.getJSON("/api/traces/"+it.ID, &out[i])
			}
			return out
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("timed out waiting for %d traces; have %d", n, len(list.Items))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// oneTrace waits for exactly one trace.
func (g *gateway) oneTrace() trace.Record {
	g.t.Helper()
	return g.traces(1)[0]
}

// getJSON GETs an API path and decodes a 200 answer.
func (g *gateway) getJSON(path string, v any) {
	g.t.Helper()
	status, body := g.get(path)
	if status != http.StatusOK {
		g.t.Fatalf("GET %s = %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		g.t.Fatalf("GET %s: decoding %s: %v", path, body, err)
	}
}

// get does a plain GET and returns status and body.
func (g *gateway) get(path string) (int, string) {
	g.t.Helper()
	return g.do(http.MethodGet, path, "", nil)
}

// do sends a raw request (no SDK) and returns status and body.
func (g *gateway) do(method, path, body string, headers map[string]string) (int, string) {
	g.t.Helper()
	req, err := http.NewRequest(method, g.URL+path, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func expect[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func expectJSONError(t *testing.T, what string, status int, body string, wantStatus int, wantMsg string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d (body %s)", what, status, wantStatus, body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != wantMsg {
		t.Errorf("%s: body %s, want {\"error\":%q}", what, body, wantMsg)
	}
}

// openaiClientAt returns an OpenAI client for an arbitrary base URL.
func openaiClientAt(base string, headers ...string) *openai.Client {
	opts := []option.RequestOption{option.WithBaseURL(base), option.WithAPIKey(openAIKey), option.WithMaxRetries(0)}
	for i := 0; i+1 < len(headers); i += 2 {
		opts = append(opts, option.WithHeader(headers[i], headers[i+1]))
	}
	c := openai.NewClient(opts...)
	return &c
}
