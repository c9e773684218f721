package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEnvOverridesEveryVariable(t *testing.T) {
	env := map[string]string{
		"ONGOINGAI_HOST":                  "127.0.0.1",
		"ONGOINGAI_PORT":                  "9999",
		"ONGOINGAI_STORAGE_DRIVER":        "postgres",
		"ONGOINGAI_STORAGE_PATH":          "/var/lib/ongoingai.db",
		"ONGOINGAI_STORAGE_DSN":           "postgres://u:p@db/gw",
		"ONGOINGAI_OPENAI_UPSTREAM":       "http://openai.internal",
		"ONGOINGAI_ANTHROPIC_UPSTREAM":    "http://anthropic.internal",
		"ONGOINGAI_CAPTURE_BODIES":        "true",
		"ONGOINGAI_BODY_MAX_SIZE":         "1024",
		"ONGOINGAI_CAPTURE_HEADERS":       " x-request-id, openai-organization ,",
		"ONGOINGAI_TRACE_SPOOL_DIR":       "/var/spool/gw",
		"ONGOINGAI_TRACE_SPOOL_MAX_BYTES": "1048576",
		"ONGOINGAI_AUTH_ENABLED":          "1",
		"ONGOINGAI_AUTH_HEADER":           "X-Key",
		"ONGOINGAI_PII_MODE":              "block",
		"ONGOINGAI_PII_POLICY_ID":         "policy-7",
		"ONGOINGAI_PII_HASH_SALT":         "salt",
		"ONGOINGAI_PPROF_ADDR":            "127.0.0.1:6060",
		"OTEL_EXPORTER_OTLP_ENDPOINT":     "http://collector:4318",
		"OTEL_EXPORTER_OTLP_HEADERS":      "api-key=abc%20def, x-tenant = t1",
		"OTEL_SERVICE_NAME":               "gw-eu",
		"OTEL_TRACES_SAMPLER_ARG":         "0.25",
		"OTEL_METRIC_EXPORT_INTERVAL":     "15000",
	}
	missing := filepath.Join(t.TempDir(), "ongoingai.yaml")
	got, err := Read(missing, false, envMap(env))
	if err != nil {
		t.Fatal(err)
	}

	want := Default()
	want.Server.Host = "127.0.0.1"
	want.Server.Port = 9999
	want.Storage.Driver, want.Storage.Path, want.Storage.DSN = "postgres", "/var/lib/ongoingai.db", "postgres://u:p@db/gw"
	want.Providers["openai"] = Provider{"http://openai.internal", "/openai", "openai"}
	want.Providers["anthropic"] = Provider{"http://anthropic.internal", "/anthropic", "anthropic"}
	want.Tracing.CaptureBodies = true
	want.Tracing.BodyMaxSize = 1024
	want.Tracing.CaptureHeaders = []string{"x-request-id", "openai-organization"}
	want.Tracing.Spool = TraceSpool{Dir: "/var/spool/gw", MaxBytes: 1 << 20}
	want.Debug.PprofAddr = "127.0.0.1:6060"
	want.Auth.Enabled = true
	want.Auth.Header = "X-Key"
	want.PII.Mode = "block"
	want.PII.PolicyID = "policy-7"
	want.PII.Replacement.HashSalt = "salt"
	want.Observability.OTel.Enabled = true
	want.Observability.OTel.Endpoint = "http://collector:4318"
	want.Observability.OTel.Headers = map[string]string{"api-key": "abc def", "x-tenant": "t1"}
	want.Observability.OTel.ServiceName = "gw-eu"
	want.Observability.OTel.SamplingRatio = 0.25
	want.Observability.OTel.ExportInterval = 15 * time.Second
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestEnvWinsOverFile(t *testing.T) {
	path := writeConfig(t, `
server:
  port: 9000
providers:
  openai:
    upstream: http://from-file
observability:
  otel:
    headers:
      api-key: from-file
      x-keep: kept
`)
	got, err := Load(path, true, envMap(map[string]string{
		"ONGOINGAI_PORT":             "9001",
		"ONGOINGAI_OPENAI_UPSTREAM":  "http://from-env",
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=from-env",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Server.Port != 9001 {
		t.Errorf("port = %d, want 9001", got.Server.Port)
	}
	if got.Providers["openai"] != (Provider{"http://from-env", "/openai", "openai"}) {
		t.Errorf("openai = %+v", got.Providers["openai"])
	}
	if h := got.Observability.OTel.Headers; !reflect.DeepEqual(h, map[string]string{"api-key": "from-env", "x-keep": "kept"}) {
		t.Errorf("headers = %v", h)
	}
}

func TestEnvEmptyValueCountsAsUnset(t *testing.T) {
	got, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false, envMap(map[string]string{
		"ONGOINGAI_PORT": "",
		"ONGOINGAI_HOST": "",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Server != Default().Server {
		t.Fatalf("server = %+v, want defaults", got.Server)
	}
}

func TestEnvOTelSDKDisabledWinsOverEndpoint(t *testing.T) {
	got, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false, envMap(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
		"OTEL_SDK_DISABLED":           "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Observability.OTel.Enabled {
		t.Fatal("OTEL_SDK_DISABLED=true left OTel enabled")
	}
	if got.Observability.OTel.Endpoint != "http://collector:4318" {
		t.Fatalf("endpoint = %q", got.Observability.OTel.Endpoint)
	}
}

func TestEnvMalformedValuesAreAllReported(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false, envMap(map[string]string{
		"ONGOINGAI_PORT":              "abc",
		"ONGOINGAI_CAPTURE_BODIES":    "sometimes",
		"ONGOINGAI_BODY_MAX_SIZE":     "64KiB",
		"ONGOINGAI_AUTH_ENABLED":      "yes please",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=secret-value,broken",
		"OTEL_TRACES_SAMPLER_ARG":     "half",
		"OTEL_METRIC_EXPORT_INTERVAL": "10s",
		"OTEL_SDK_DISABLED":           "nah",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	want := strings.Join([]string{
		`ONGOINGAI_PORT: must be an integer, got "abc"`,
		`ONGOINGAI_CAPTURE_BODIES: must be true or false, got "sometimes"`,
		`ONGOINGAI_BODY_MAX_SIZE: must be an integer number of bytes, got "64KiB"`,
		`ONGOINGAI_AUTH_ENABLED: must be true or false, got "yes please"`,
		`OTEL_EXPORTER_OTLP_HEADERS: entry 2 must have the form key=value`,
		`OTEL_TRACES_SAMPLER_ARG: must be a number, got "half"`,
		`OTEL_METRIC_EXPORT_INTERVAL: must be an integer number of milliseconds, got "10s"`,
		`OTEL_SDK_DISABLED: must be true or false, got "nah"`,
	}, "\n")
	if err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%v", err, want)
	}
	if strings.Contains(err.Error(), "secret-value") {
		t.Fatal("header value leaked into the error")
	}
}

func TestEnvOTLPHeaderBadPercentEncoding(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "none.yaml"), false, envMap(map[string]string{
		"OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%zz",
	}))
	want := "OTEL_EXPORTER_OTLP_HEADERS: entry 1 (authorization) has a malformed percent-encoded value"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestEnvValuesAreValidatedLikeFileValues(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), false, envMap(map[string]string{
		"ONGOINGAI_PORT":           "0",
		"ONGOINGAI_STORAGE_DRIVER": "postgres",
	}))
	want := "server.port: must be between 1 and 65535\nstorage.dsn: required when storage.driver is \"postgres\""
	if err == nil || err.Error() != want {
		t.Fatalf("err =\n%v\nwant\n%s", err, want)
	}
}
