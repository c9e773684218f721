package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envMap turns a map into the lookup Load expects, so tests never touch
// the process environment.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// writeConfig writes a YAML file into a fresh directory and returns its path.
func writeConfig(t *testing.T, yamlText string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ongoingai.yaml")
	if err := os.WriteFile(p, []byte(yamlText), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"server.host", c.Server.Host, "0.0.0.0"},
		{"server.port", c.Server.Port, 8080},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout, 30 * time.Second},
		{"server.read_body_timeout", c.Server.ReadBodyTimeout, 60 * time.Second},
		{"server.trace_drain_timeout", c.Server.TraceDrainTimeout, 10 * time.Second},
		{"storage.driver", c.Storage.Driver, "sqlite"},
		{"storage.path", c.Storage.Path, "./data/ongoingai.db"},
		{"storage.connect_timeout", c.Storage.ConnectTimeout, 10 * time.Second},
		{"storage.read_timeout", c.Storage.ReadTimeout, 5 * time.Second},
		{"storage.health_interval", c.Storage.HealthInterval, 5 * time.Second},
		{"providers.openai", c.Providers["openai"], Provider{"https://api.openai.com", "/openai", "openai"}},
		{"providers.anthropic", c.Providers["anthropic"], Provider{"https://api.anthropic.com", "/anthropic", "anthropic"}},
		{"providers count", len(c.Providers), 2},
		{"proxy.max_request_body_bytes", c.Proxy.MaxRequestBodyBytes, int64(32 << 20)},
		{"proxy.dial_timeout", c.Proxy.DialTimeout, 10 * time.Second},
		{"proxy.tls_handshake_timeout", c.Proxy.TLSHandshakeTimeout, 10 * time.Second},
		{"proxy.response_header_timeout", c.Proxy.ResponseHeaderTimeout, 10 * time.Minute},
		{"proxy.idle_conn_timeout", c.Proxy.IdleConnTimeout, 90 * time.Second},
		{"proxy.max_idle_conns_per_host", c.Proxy.MaxIdleConnsPerHost, 512},
		{"proxy.inject_stream_usage", c.ProxyInjectStreamUsage(), true},
		{"tracing.capture_bodies", c.Tracing.CaptureBodies, false},
		{"tracing.body_max_size", c.Tracing.BodyMaxSize, int64(64 << 10)},
		{"tracing.queue_size", c.Tracing.QueueSize, 65536},
		{"tracing.batch_size", c.Tracing.BatchSize, 1000},
		{"tracing.flush_interval", c.Tracing.FlushInterval, 50 * time.Millisecond},
		{"tracing.capture_headers", c.Tracing.CaptureHeaders, []string(nil)},
		{"tracing.spool.dir", c.Tracing.Spool.Dir, ""},
		{"tracing.spool.max_bytes", c.Tracing.Spool.MaxBytes, int64(1 << 30)},
		{"auth.enabled", c.Auth.Enabled, false},
		{"auth.header", c.Auth.Header, "X-OngoingAI-Gateway-Key"},
		{"pii.mode", c.PII.Mode, ""},
		{"pii.policy_id", c.PII.PolicyID, "default/v1"},
		{"pii.replacement.format", c.PII.Replacement.Format, "[{type}_REDACTED:{hash}]"},
		{"otel.export_timeout_ms", c.Observability.OTel.ExportTimeoutMS, 10000},
		{"otel.enabled", c.Observability.OTel.Enabled, false},
		{"otel.sampling_ratio", c.Observability.OTel.SamplingRatio, 1.0},
		{"otel.service_name", c.Observability.OTel.ServiceName, "ongoingai-gateway"},
		{"prometheus.enabled", c.Observability.Prometheus.Enabled, false},
		{"prometheus.path", c.Observability.Prometheus.Path, "/metrics"},
		{"log.level", c.Observability.Log.Level, "info"},
		{"log.format", c.Observability.Log.Format, "json"},
		{"retention", c.Retention, Retention{TracesDays: 30, BodiesDays: 7, RollupsDays: 400, AuditDays: 400}},
		{"debug.pprof_addr", c.Debug.PprofAddr, ""},
	}
	for _, tc := range checks {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
}

func TestDefaultReturnsIndependentValues(t *testing.T) {
	a := Default()
	a.Providers["openai"] = Provider{Prefix: "/changed"}
	*a.Proxy.InjectStreamUsage = false
	b := Default()
	if b.Providers["openai"].Prefix != "/openai" || !b.ProxyInjectStreamUsage() {
		t.Fatal("changing one Default() leaked into the next")
	}
}

func TestLoadMissingDefaultFileMeansDefaults(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ongoingai.yaml")
	got, err := Load(missing, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("got %+v, want defaults", got)
	}
}

func TestLoadMissingExplicitFileIsError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "custom.yaml")
	_, err := Load(missing, true, nil)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Fatalf("err = %v, want one naming %s", err, missing)
	}
}

func TestLoadEmptyFileMeansDefaults(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n"} {
		got, err := Load(writeConfig(t, text), true, nil)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !reflect.DeepEqual(got, Default()) {
			t.Fatalf("%q: got %+v, want defaults", text, got)
		}
	}
}

func TestLoadFileOverridesOnlyWhatItSets(t *testing.T) {
	path := writeConfig(t, `
server:
  port: 9090
  shutdown_timeout: 5s
  read_body_timeout: 15s
proxy:
  inject_stream_usage: false
tracing:
  capture_bodies: true
  capture_headers: [x-request-id, openai-organization]
observability:
  log:
    level: debug
debug:
  pprof_addr: 127.0.0.1:6060
`)
	got, err := Load(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Server.Port = 9090
	want.Server.ShutdownTimeout = 5 * time.Second
	want.Server.ReadBodyTimeout = 15 * time.Second
	no := false
	want.Proxy.InjectStreamUsage = &no
	want.Tracing.CaptureBodies = true
	want.Tracing.CaptureHeaders = []string{"x-request-id", "openai-organization"}
	want.Observability.Log.Level = "debug"
	want.Debug.PprofAddr = "127.0.0.1:6060"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got.ProxyInjectStreamUsage() {
		t.Fatal("inject_stream_usage: false was not honoured")
	}
}

func TestLoadPartialProvidersKeepDefaults(t *testing.T) {
	path := writeConfig(t, `
providers:
  openai:
    upstream: http://localhost:4000
  anthropic:
    prefix: /claude
  groq:
    upstream: https://api.groq.com/openai
    prefix: /groq
`)
	got, err := Load(path, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Provider{
		"openai":    {Upstream: "http://localhost:4000", Prefix: "/openai", Format: "openai"},
		"anthropic": {Upstream: "https://api.anthropic.com", Prefix: "/claude", Format: "anthropic"},
		"groq":      {Upstream: "https://api.groq.com/openai", Prefix: "/groq", Format: "openai"},
	}
	if !reflect.DeepEqual(got.Providers, want) {
		t.Fatalf("providers = %+v\nwant %+v", got.Providers, want)
	}
}

func TestLoadNullProvidersKeepsBuiltins(t *testing.T) {
	got, err := Load(writeConfig(t, "providers:\n"), true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Providers, Default().Providers) {
		t.Fatalf("providers = %+v, want the built-ins", got.Providers)
	}
}

func TestLoadUnknownKeysNamePathAndLine(t *testing.T) {
	path := writeConfig(t, `server:
  hots: 127.0.0.1
providers:
  groq:
    upstream: https://api.groq.com/openai
    prefx: /groq
auth:
  keys:
    - id: k1
      tokn: secret
colour: blue
`)
	_, err := Load(path, true, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	want := strings.Join([]string{
		path + ":2: server.hots: unknown key",
		path + ":6: providers.groq.prefx: unknown key",
		path + ":10: auth.keys[0].tokn: unknown key",
		path + ":11: colour: unknown key",
	}, "\n")
	if err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%v", err, want)
	}
}

func TestLoadUnknownKeyThroughMergeKey(t *testing.T) {
	path := writeConfig(t, `
base: &base
  port: 9000
server:
  <<: *base
  host: 127.0.0.1
`)
	_, err := Load(path, true, nil)
	if err == nil || !strings.Contains(err.Error(), ":2: base: unknown key") {
		t.Fatalf("err = %v, want the unknown top-level key", err)
	}

	path = writeConfig(t, `
server:
  <<: {port: 9000, bogus: 1}
`)
	_, err = Load(path, true, nil)
	if err == nil || !strings.Contains(err.Error(), "server.bogus: unknown key") {
		t.Fatalf("err = %v, want the unknown key inside the merged mapping", err)
	}
}

func TestLoadTypeErrorsNamePathAndLine(t *testing.T) {
	path := writeConfig(t, `server:
  port: abc
  shutdown_timeout: 30
tracing:
  capture_bodies: maybe
  capture_headers: true
`)
	_, err := Load(path, true, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		path + ":2: server.port: cannot unmarshal !!str `abc` into int",
		path + ":3: server.shutdown_timeout: cannot unmarshal !!int `30` into time.Duration",
		path + ":5: tracing.capture_bodies: cannot unmarshal !!str `maybe` into bool",
		path + ":6: tracing.capture_headers: cannot unmarshal !!bool `true` into []string",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err =\n%v\nwant it to contain\n%v", err, want)
		}
	}
}

func TestLoadSyntaxErrorNamesFile(t *testing.T) {
	path := writeConfig(t, "server:\n  port: [1, 2\n")
	_, err := Load(path, true, nil)
	if err == nil || !strings.HasPrefix(err.Error(), path+": yaml: line") {
		t.Fatalf("err = %v, want the file name and yaml line", err)
	}
}

func TestLoadValidates(t *testing.T) {
	path := writeConfig(t, "server:\n  port: 70000\n")
	if _, err := Load(path, true, nil); err == nil || err.Error() != "server.port: must be between 1 and 65535" {
		t.Fatalf("Load err = %v", err)
	}
	got, err := Read(path, true, nil)
	if err != nil {
		t.Fatalf("Read must not validate: %v", err)
	}
	if got.Server.Port != 70000 {
		t.Fatalf("Read port = %d", got.Server.Port)
	}
}
